package fleet

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/valkey-io/valkey-go"
)

// Rate limits are shared by every replica: each counter is one key holding
// the theoretical arrival time (TAT) of the generic cell rate algorithm
// (GCRA), read and moved by one script, so the check and the count are one
// atomic step wherever the key lives. GCRA rather than a fixed window: one
// key per counter for ever (no key per window), no double burst at a
// window's edge, and the wait before the next allowed event falls out of the
// arithmetic. See SCHEMA.md, "Rate limits".

// ErrInvalidRateLimit means a rate limit was named without a name or a
// subject, or with a limit or period that is not positive.
var ErrInvalidRateLimit = errors.New("invalid rate limit")

// RateLimit is a budget of Limit events per Period, earned back smoothly: a
// subject that spent it all may make one more event every Period/Limit.
type RateLimit struct {
	Limit  int
	Period time.Duration
}

// RateVerdict is the answer of a rate limit for one event.
type RateVerdict struct {
	// Allowed is true when the event fits in the budget.
	Allowed bool
	// RetryAfter is how long until one more event would fit; zero when
	// Allowed.
	RetryAfter time.Duration
}

// rateScript is GCRA on one key. KEYS[1] the counter; ARGV[1] now, ARGV[2]
// the emission interval (Period/Limit), ARGV[3] the period, all in
// microseconds; ARGV[4] "1" to count the event when it fits, "0" only to
// ask. Returns 0 when the event fits, else the microseconds until it would.
// The TAT is written with %.0f: an integer below 2^53, exact as a double,
// and never in exponent notation.
var rateScript = valkey.NewLuaScript(`
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new = tat + interval
local wait = new - period - now
if wait > 0 then return math.ceil(wait) end
if ARGV[4] == '1' then
  redis.call('SET', KEYS[1], string.format('%.0f', new), 'PX', math.max(1, math.ceil((new - now) / 1000)))
end
return 0
`)

// TakeRate counts one event of subject against the rate limit called name
// when it fits, and says whether it did; an event that does not fit is not
// counted. Time is the Store's clock, so replicas should keep theirs in step
// (a skew of d lets a subject gain or lose about d of budget).
func (s *Store) TakeRate(ctx context.Context, name, subject string, l RateLimit) (RateVerdict, error) {
	return s.rate(ctx, name, subject, l, true)
}

// PeekRate says whether one more event of subject would fit in the rate
// limit called name, counting nothing.
func (s *Store) PeekRate(ctx context.Context, name, subject string, l RateLimit) (RateVerdict, error) {
	return s.rate(ctx, name, subject, l, false)
}

func (s *Store) rate(ctx context.Context, name, subject string, l RateLimit, count bool) (RateVerdict, error) {
	switch {
	case name == "", subject == "":
		return RateVerdict{}, fmt.Errorf("rate limit %q for %q: %w", name, subject, ErrInvalidRateLimit)
	case l.Limit <= 0, l.Period <= 0:
		return RateVerdict{}, fmt.Errorf("rate limit %q: %d per %s: %w", name, l.Limit, l.Period, ErrInvalidRateLimit)
	}
	period := l.Period.Microseconds()
	// Past a million events a second the interval would round to zero and
	// let everything through; one microsecond is the finest step.
	interval := max(period/int64(l.Limit), 1)
	arg := "0"
	if count {
		arg = "1"
	}
	wait, err := rateScript.Exec(ctx, s.c, []string{RateLimitKey(name, subject)}, []string{
		strconv.FormatInt(s.opts.Now().UnixMicro(), 10),
		strconv.FormatInt(interval, 10),
		strconv.FormatInt(period, 10),
		arg,
	}).AsInt64()
	if err != nil {
		return RateVerdict{}, fmt.Errorf("rate limit %q: %w", name, err)
	}
	if wait <= 0 {
		return RateVerdict{Allowed: true}, nil
	}
	return RateVerdict{RetryAfter: time.Duration(wait) * time.Microsecond}, nil
}
