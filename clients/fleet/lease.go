package fleet

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/valkey-io/valkey-go"
)

// A leadership lease lets one of several replicas do a job alone (the health
// prober): the holder takes it with AcquireLease, keeps it with RenewLease
// more often than its TTL, and gives it up with ReleaseLease. A holder that
// dies stops renewing, so the lease expires and another replica acquires it.
// Each operation touches one key, so leases work the same on a standalone
// server, a cluster and the embedded store.

// ErrInvalidLeadership means a leadership lease was named without a name or
// a holder, or with a TTL that is not positive.
var ErrInvalidLeadership = errors.New("invalid leadership lease")

// renewLeaseScript extends the lease only if its holder is the caller.
// KEYS[1] the lease, ARGV[1] holder, ARGV[2] TTL in ms. Returns 1 if extended.
var renewLeaseScript = valkey.NewLuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`)

// releaseLeaseScript deletes the lease only if its holder is the caller.
// KEYS[1] the lease, ARGV[1] holder. Returns 1 if deleted.
var releaseLeaseScript = valkey.NewLuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

func checkLease(name, holder string, ttl time.Duration, withTTL bool) error {
	switch {
	case name == "":
		return fmt.Errorf("empty name: %w", ErrInvalidLeadership)
	case holder == "":
		return fmt.Errorf("empty holder: %w", ErrInvalidLeadership)
	case withTTL && ttl <= 0:
		return fmt.Errorf("ttl %s: %w", ttl, ErrInvalidLeadership)
	}
	return nil
}

// AcquireLease takes the lease called name for holder for ttl, if nobody
// holds it. It reports true when holder holds the lease afterwards: newly
// taken, or already held by holder, in which case the TTL is extended as by
// RenewLease.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := checkLease(name, holder, ttl, true); err != nil {
		return false, fmt.Errorf("acquiring lease: %w", err)
	}
	key := LeaseKey(name)
	err := s.c.Do(ctx, s.c.B().Set().Key(key).Value(holder).Nx().PxMilliseconds(ms(ttl)).Build()).Error()
	switch {
	case err == nil:
		return true, nil
	case !valkey.IsValkeyNil(err):
		return false, fmt.Errorf("acquiring lease %s for %s: %w", name, holder, err)
	}
	// Someone holds it: perhaps holder itself, from an earlier acquisition.
	ok, err := s.renewLease(ctx, key, holder, ttl)
	if err != nil {
		return false, fmt.Errorf("acquiring lease %s for %s: %w", name, holder, err)
	}
	return ok, nil
}

// RenewLease extends the lease called name to ttl from now if holder holds
// it, and reports whether it did. False means the lease expired or another
// holder took it: the caller is no longer the leader.
func (s *Store) RenewLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := checkLease(name, holder, ttl, true); err != nil {
		return false, fmt.Errorf("renewing lease: %w", err)
	}
	ok, err := s.renewLease(ctx, LeaseKey(name), holder, ttl)
	if err != nil {
		return false, fmt.Errorf("renewing lease %s for %s: %w", name, holder, err)
	}
	return ok, nil
}

func (s *Store) renewLease(ctx context.Context, key, holder string, ttl time.Duration) (bool, error) {
	n, err := renewLeaseScript.Exec(ctx, s.c, []string{key}, []string{holder, strconv.FormatInt(ms(ttl), 10)}).AsInt64()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// ReleaseLease gives up the lease called name if holder holds it, so that
// another replica can acquire it at once; releasing a lease held by someone
// else, or by nobody, does nothing.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if err := checkLease(name, holder, 0, false); err != nil {
		return fmt.Errorf("releasing lease: %w", err)
	}
	if err := releaseLeaseScript.Exec(ctx, s.c, []string{LeaseKey(name)}, []string{holder}).Error(); err != nil {
		return fmt.Errorf("releasing lease %s for %s: %w", name, holder, err)
	}
	return nil
}

// LeaseHolder returns who holds the lease called name, or "" if nobody does.
func (s *Store) LeaseHolder(ctx context.Context, name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("reading lease holder: empty name: %w", ErrInvalidLeadership)
	}
	holder, err := s.c.Do(ctx, s.c.B().Get().Key(LeaseKey(name)).Build()).ToString()
	if valkey.IsValkeyNil(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading holder of lease %s: %w", name, err)
	}
	return holder, nil
}
