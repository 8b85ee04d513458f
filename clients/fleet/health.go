package fleet

import (
	"context"
	"fmt"
	"strconv"

	"github.com/valkey-io/valkey-go"
)

// ServerHealth is what the health prober last found about one server.
type ServerHealth struct {
	// Healthy is nil while the server's health is unknown.
	Healthy              *bool
	ConsecutiveFailures  int64
	ConsecutiveSuccesses int64
	// LastCheckMs and LastFailureMs are epoch ms, 0 for never.
	LastCheckMs   int64
	LastFailureMs int64
}

var healthFields = []string{
	healthFieldHealthy,
	healthFieldConsecutiveFailures,
	healthFieldConsecutiveSuccesses,
	healthFieldLastCheckMs,
	healthFieldLastFailureMs,
}

// RecordHealth stores the prober's results for the server at url, replacing
// the previous ones. They are kept for Options.HealthRetention after the last
// write.
func (s *Store) RecordHealth(ctx context.Context, url string, h ServerHealth) error {
	if err := checkURL(url); err != nil {
		return fmt.Errorf("recording health: %w", err)
	}
	healthy := healthUnknown
	if h.Healthy != nil {
		healthy = healthFalse
		if *h.Healthy {
			healthy = healthTrue
		}
	}
	key := HealthKey(url)
	res := s.c.DoMulti(ctx,
		s.c.B().Multi().Build(),
		s.c.B().Hset().Key(key).FieldValue().
			FieldValue(healthFieldHealthy, healthy).
			FieldValue(healthFieldConsecutiveFailures, strconv.FormatInt(h.ConsecutiveFailures, 10)).
			FieldValue(healthFieldConsecutiveSuccesses, strconv.FormatInt(h.ConsecutiveSuccesses, 10)).
			FieldValue(healthFieldLastCheckMs, strconv.FormatInt(h.LastCheckMs, 10)).
			FieldValue(healthFieldLastFailureMs, strconv.FormatInt(h.LastFailureMs, 10)).
			Build(),
		s.c.B().Pexpire().Key(key).Milliseconds(ms(s.opts.HealthRetention)).Build(),
		s.c.B().Exec().Build(),
	)
	for _, r := range res {
		if err := r.Error(); err != nil {
			return fmt.Errorf("recording health of %s: %w", url, err)
		}
	}
	return nil
}

// HealthMany returns the stored health of each URL, in order, in one
// pipelined round trip. A URL never probed has unknown health and zeros.
func (s *Store) HealthMany(ctx context.Context, urls []string) ([]ServerHealth, error) {
	out := make([]ServerHealth, len(urls))
	if len(urls) == 0 {
		return out, nil
	}
	cmds := make(valkey.Commands, 0, len(urls))
	for _, u := range urls {
		cmds = append(cmds, s.c.B().Hmget().Key(HealthKey(u)).Field(healthFields...).Build())
	}
	res := s.c.DoMulti(ctx, cmds...)
	for i, u := range urls {
		vals, err := res[i].ToArray()
		if err != nil {
			return nil, fmt.Errorf("reading health of %s: %w", u, err)
		}
		if len(vals) != len(healthFields) {
			return nil, fmt.Errorf("reading health of %s: %d fields for %d", u, len(vals), len(healthFields))
		}
		h, err := decodeHealth(vals)
		if err != nil {
			return nil, fmt.Errorf("reading health of %s: %w", u, err)
		}
		out[i] = h
	}
	return out, nil
}

func decodeHealth(vals []valkey.ValkeyMessage) (ServerHealth, error) {
	var h ServerHealth
	healthy, err := vals[0].ToString()
	if err != nil && !valkey.IsValkeyNil(err) {
		return h, fmt.Errorf("%s: %w", healthFieldHealthy, err)
	}
	switch healthy {
	case healthTrue:
		h.Healthy = new(true)
	case healthFalse:
		h.Healthy = new(false)
	}
	for i, dst := range []*int64{&h.ConsecutiveFailures, &h.ConsecutiveSuccesses, &h.LastCheckMs, &h.LastFailureMs} {
		n, err := vals[i+1].AsInt64()
		switch {
		case valkey.IsValkeyNil(err):
		case err != nil:
			return h, fmt.Errorf("%s: %w", healthFields[i+1], err)
		default:
			*dst = n
		}
	}
	return h, nil
}
