package fleet

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/valkey-io/valkey-go"
)

// MaxDrainReason is the longest drain reason, in characters.
const MaxDrainReason = 256

// ErrDrainReasonTooLong means a drain reason is longer than MaxDrainReason
// characters.
var ErrDrainReasonTooLong = errors.New("drain reason too long")

// Drain is why and since when a server is drained: routers send it no new
// request, and move the sessions pinned to it elsewhere, until it is
// undrained. Requests already in flight there finish.
type Drain struct {
	Reason string
	// Since is when the server was first drained, in UTC; draining it again
	// changes the reason only.
	Since time.Time
}

// drainScript drains one server, keeping the start of a drain already in
// force so that a new reason does not reset "since".
//
// KEYS[1] the drains hash. ARGV[1] url, ARGV[2] now (epoch ms), ARGV[3]
// reason.
var drainScript = valkey.NewLuaScript(`
local since = ARGV[2]
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local s = string.match(old, '^(%d+):')
  if s then since = s end
end
redis.call('HSET', KEYS[1], ARGV[1], since .. ':' .. ARGV[3])
return 1
`)

// Drain marks the server at url as drained for reason (at most
// MaxDrainReason characters; may be empty) and announces it on
// RefreshChannel, so that every router and replica reloads. Draining a
// drained server replaces its reason and keeps its Since. Drain does not
// check that url is registered: see ServerKnown.
func (s *Store) Drain(ctx context.Context, url, reason string) error {
	if err := checkURL(url); err != nil {
		return fmt.Errorf("draining server: %w", err)
	}
	if n := utf8.RuneCountInString(reason); n > MaxDrainReason {
		return fmt.Errorf("draining server %s: reason of %d characters, at most %d: %w", url, n, MaxDrainReason, ErrDrainReasonTooLong)
	}
	args := []string{url, strconv.FormatInt(s.nowMs(), 10), reason}
	if err := drainScript.Exec(ctx, s.c, []string{DrainsKey()}, args).Error(); err != nil {
		return fmt.Errorf("draining server %s: %w", url, err)
	}
	if err := s.PublishRefresh(ctx); err != nil {
		return fmt.Errorf("server %s drained, but not announced: %w", url, err)
	}
	return nil
}

// Undrain ends the drain of the server at url, if any, and announces it on
// RefreshChannel like Drain. Undraining a server that is not drained only
// announces.
func (s *Store) Undrain(ctx context.Context, url string) error {
	if err := checkURL(url); err != nil {
		return fmt.Errorf("undraining server: %w", err)
	}
	if err := s.c.Do(ctx, s.c.B().Hdel().Key(DrainsKey()).Field(url).Build()).Error(); err != nil {
		return fmt.Errorf("undraining server %s: %w", url, err)
	}
	if err := s.PublishRefresh(ctx); err != nil {
		return fmt.Errorf("server %s undrained, but not announced: %w", url, err)
	}
	return nil
}

// Drains returns every drained server, by URL, in one read. An empty map,
// never nil, means none is drained.
func (s *Store) Drains(ctx context.Context) (map[string]Drain, error) {
	all, err := s.c.Do(ctx, s.c.B().Hgetall().Key(DrainsKey()).Build()).AsStrMap()
	if err != nil {
		return nil, fmt.Errorf("reading drains: %w", err)
	}
	out := make(map[string]Drain, len(all))
	for url, v := range all {
		since, reason, ok := parseDrainValue(v)
		if !ok {
			return nil, fmt.Errorf("reading drain of %s: malformed value", url)
		}
		out[url] = Drain{Reason: reason, Since: time.UnixMilli(since).UTC()}
	}
	return out, nil
}

// ServerKnown reports whether any provider's server pool holds url, in one
// round trip (the registry lives in one slot).
func (s *Store) ServerKnown(ctx context.Context, url string) (bool, error) {
	if err := checkURL(url); err != nil {
		return false, fmt.Errorf("looking up server: %w", err)
	}
	cmds := make(valkey.Commands, 0, len(Providers))
	for _, p := range Providers {
		cmds = append(cmds, s.c.B().Zscore().Key(RegistryServersKey(p)).Member(url).Build())
	}
	known := false
	for _, r := range s.c.DoMulti(ctx, cmds...) {
		err := r.Error()
		switch {
		case valkey.IsValkeyNil(err):
		case err != nil:
			return false, fmt.Errorf("looking up server %s: %w", url, err)
		default:
			known = true
		}
	}
	return known, nil
}
