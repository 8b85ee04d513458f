package fleet_test

import (
	"errors"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/clients/fleet"
)

// TestRateLimit runs the shared rate limit on every backend: a standalone
// server, a cluster and the embedded store.
func TestRateLimit(t *testing.T) {
	runOnBackends(t, []suite{
		{"BurstThenRefill", testRateBurstThenRefill},
		{"PeekCountsNothing", testRatePeekCountsNothing},
		{"SharedBetweenStores", testRateShared},
		{"SubjectsAndNamesApart", testRateApart},
		{"KeyExpires", testRateKeyExpires},
		{"Validation", testRateValidation},
	})
}

// take asserts the verdict of one counted event.
func take(t *testing.T, s *fleet.Store, name, subject string, l fleet.RateLimit, want fleet.RateVerdict) {
	t.Helper()
	got, err := s.TakeRate(testContext(t), name, subject, l)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("TakeRate(%s, %s) = %+v, want %+v", name, subject, got, want)
	}
}

var allowed = fleet.RateVerdict{Allowed: true}

func testRateBurstThenRefill(t *testing.T, b backend) {
	clock := newFakeClock()
	s := fleet.New(b.client, fleet.Options{Now: clock.Now})
	l := fleet.RateLimit{Limit: 3, Period: time.Minute}
	for range 3 {
		take(t, s, fleet.RateReads, "usr_a", l, allowed)
	}
	// One event every 20 s is earned back; the fourth waits for it.
	take(t, s, fleet.RateReads, "usr_a", l, fleet.RateVerdict{RetryAfter: 20 * time.Second})
	clock.Advance(15 * time.Second)
	take(t, s, fleet.RateReads, "usr_a", l, fleet.RateVerdict{RetryAfter: 5 * time.Second})
	clock.Advance(5 * time.Second)
	take(t, s, fleet.RateReads, "usr_a", l, allowed)
	take(t, s, fleet.RateReads, "usr_a", l, fleet.RateVerdict{RetryAfter: 20 * time.Second})
	// A full period later the whole budget is back, and no more.
	clock.Advance(time.Hour)
	for range 3 {
		take(t, s, fleet.RateReads, "usr_a", l, allowed)
	}
	take(t, s, fleet.RateReads, "usr_a", l, fleet.RateVerdict{RetryAfter: 20 * time.Second})
}

func testRatePeekCountsNothing(t *testing.T, b backend) {
	clock := newFakeClock()
	s := fleet.New(b.client, fleet.Options{Now: clock.Now})
	l := fleet.RateLimit{Limit: 2, Period: time.Minute}
	ctx := testContext(t)
	for range 5 {
		v, err := s.PeekRate(ctx, fleet.RateAuthFailures, "192.0.2.1", l)
		if err != nil {
			t.Fatal(err)
		}
		if v != allowed {
			t.Fatalf("PeekRate on an unused budget = %+v, want allowed", v)
		}
	}
	take(t, s, fleet.RateAuthFailures, "192.0.2.1", l, allowed)
	take(t, s, fleet.RateAuthFailures, "192.0.2.1", l, allowed)
	v, err := s.PeekRate(ctx, fleet.RateAuthFailures, "192.0.2.1", l)
	if err != nil {
		t.Fatal(err)
	}
	if want := (fleet.RateVerdict{RetryAfter: 30 * time.Second}); v != want {
		t.Fatalf("PeekRate on a spent budget = %+v, want %+v", v, want)
	}
}

// testRateShared: two stores on one server (two replicas) share a budget.
func testRateShared(t *testing.T, b backend) {
	clock := newFakeClock()
	one := fleet.New(b.client, fleet.Options{Now: clock.Now})
	two := fleet.New(connect(t, b.opts), fleet.Options{Now: clock.Now})
	l := fleet.RateLimit{Limit: 4, Period: time.Minute}
	take(t, one, fleet.RateWrites, "usr_a", l, allowed)
	take(t, two, fleet.RateWrites, "usr_a", l, allowed)
	take(t, one, fleet.RateWrites, "usr_a", l, allowed)
	take(t, two, fleet.RateWrites, "usr_a", l, allowed)
	take(t, one, fleet.RateWrites, "usr_a", l, fleet.RateVerdict{RetryAfter: 15 * time.Second})
	take(t, two, fleet.RateWrites, "usr_a", l, fleet.RateVerdict{RetryAfter: 15 * time.Second})
}

func testRateApart(t *testing.T, b backend) {
	clock := newFakeClock()
	s := fleet.New(b.client, fleet.Options{Now: clock.Now})
	l := fleet.RateLimit{Limit: 1, Period: time.Minute}
	spent := fleet.RateVerdict{RetryAfter: time.Minute}
	// Subjects with hash-tag braces and colons stay apart too.
	for _, subject := range []string{"usr_a", "usr_b", "{usr_a}", "usr_a}:x", "2001:db8::/64"} {
		take(t, s, fleet.RateReads, subject, l, allowed)
		take(t, s, fleet.RateReads, subject, l, spent)
	}
	take(t, s, fleet.RateWrites, "usr_a", l, allowed)
	take(t, s, fleet.RateAuthFailures, "usr_a", l, allowed)
}

// testRateKeyExpires: a counter lives no longer than the budget it
// remembers, so idle subjects leave nothing behind.
func testRateKeyExpires(t *testing.T, b backend) {
	s := fleet.New(b.client, fleet.Options{})
	l := fleet.RateLimit{Limit: 2, Period: 10 * time.Second}
	take(t, s, fleet.RateReads, "usr_ttl", l, allowed)
	ctx := testContext(t)
	key := fleet.RateLimitKey(fleet.RateReads, "usr_ttl")
	pttl, err := b.client.Do(ctx, b.client.B().Pttl().Key(key).Build()).AsInt64()
	if err != nil {
		t.Fatal(err)
	}
	// One event of 5 s is owed: the key lives about that long.
	if pttl <= 0 || pttl > 5000 {
		t.Fatalf("PTTL %s = %d ms, want within (0, 5000]", key, pttl)
	}
}

func testRateValidation(t *testing.T, b backend) {
	s := fleet.New(b.client, fleet.Options{})
	ctx := testContext(t)
	ok := fleet.RateLimit{Limit: 1, Period: time.Minute}
	for _, tc := range []struct {
		name, subject string
		l             fleet.RateLimit
	}{
		{"", "usr_a", ok},
		{fleet.RateReads, "", ok},
		{fleet.RateReads, "usr_a", fleet.RateLimit{Limit: 0, Period: time.Minute}},
		{fleet.RateReads, "usr_a", fleet.RateLimit{Limit: 1}},
	} {
		if _, err := s.TakeRate(ctx, tc.name, tc.subject, tc.l); !errors.Is(err, fleet.ErrInvalidRateLimit) {
			t.Errorf("TakeRate(%q, %q, %+v) = %v, want ErrInvalidRateLimit", tc.name, tc.subject, tc.l, err)
		}
	}
}
