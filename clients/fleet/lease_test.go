package fleet_test

import (
	"errors"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/clients/fleet"
)

// TestLeadershipLease runs the leadership lease on every backend: a
// standalone server, a cluster and the embedded store.
func TestLeadershipLease(t *testing.T) {
	runOnBackends(t, []suite{
		{"OneHolderAtATime", testLeaseOneHolder},
		{"ExpiresWithoutRenewal", testLeaseExpires},
		{"RenewalKeepsIt", testLeaseRenewalKeepsIt},
		{"Validation", testLeaseValidation},
	})
}

func testLeaseOneHolder(t *testing.T, b backend) {
	ctx := testContext(t)
	s := fleet.New(b.client, fleet.Options{})
	const name, ttl = "prober", 5 * time.Second

	steps := []struct {
		what       string
		do         func() (bool, error)
		want       bool
		wantHolder string
	}{
		{"a acquires a free lease", func() (bool, error) { return s.AcquireLease(ctx, name, "a", ttl) }, true, "a"},
		{"b cannot acquire it", func() (bool, error) { return s.AcquireLease(ctx, name, "b", ttl) }, false, "a"},
		{"a acquires again", func() (bool, error) { return s.AcquireLease(ctx, name, "a", ttl) }, true, "a"},
		{"b cannot renew it", func() (bool, error) { return s.RenewLease(ctx, name, "b", ttl) }, false, "a"},
		{"a renews it", func() (bool, error) { return s.RenewLease(ctx, name, "a", ttl) }, true, "a"},
		{"b's release does nothing", func() (bool, error) { return true, s.ReleaseLease(ctx, name, "b") }, true, "a"},
		{"a releases it", func() (bool, error) { return true, s.ReleaseLease(ctx, name, "a") }, true, ""},
		{"a cannot renew a released lease", func() (bool, error) { return s.RenewLease(ctx, name, "a", ttl) }, false, ""},
		{"releasing a free lease does nothing", func() (bool, error) { return true, s.ReleaseLease(ctx, name, "a") }, true, ""},
		{"b acquires the free lease", func() (bool, error) { return s.AcquireLease(ctx, name, "b", ttl) }, true, "b"},
		{"another name is another lease", func() (bool, error) { return s.AcquireLease(ctx, "other", "a", ttl) }, true, "b"},
	}
	for _, st := range steps {
		got, err := st.do()
		if err != nil {
			t.Fatalf("%s: %v", st.what, err)
		}
		if got != st.want {
			t.Errorf("%s: got %v, want %v", st.what, got, st.want)
		}
		holder, err := s.LeaseHolder(ctx, name)
		if err != nil {
			t.Fatalf("%s: %v", st.what, err)
		}
		if holder != st.wantHolder {
			t.Errorf("after %s: holder %q, want %q", st.what, holder, st.wantHolder)
		}
	}

	pttl, err := b.client.Do(ctx, b.client.B().Pttl().Key(fleet.LeaseKey(name)).Build()).AsInt64()
	if err != nil {
		t.Fatal(err)
	}
	if pttl <= 0 || pttl > ttl.Milliseconds() {
		t.Errorf("lease PTTL = %dms, want within (0, %d]", pttl, ttl.Milliseconds())
	}
}

func testLeaseExpires(t *testing.T, b backend) {
	ctx := testContext(t)
	s := fleet.New(b.client, fleet.Options{})
	if ok, err := s.AcquireLease(ctx, "prober", "a", 200*time.Millisecond); err != nil || !ok {
		t.Fatalf("AcquireLease = %v, %v", ok, err)
	}
	time.Sleep(400 * time.Millisecond)
	if holder, err := s.LeaseHolder(ctx, "prober"); err != nil || holder != "" {
		t.Fatalf("holder after the TTL = %q, %v; want nobody", holder, err)
	}
	if ok, err := s.RenewLease(ctx, "prober", "a", time.Second); err != nil || ok {
		t.Errorf("renewing an expired lease = %v, %v; want false", ok, err)
	}
	if ok, err := s.AcquireLease(ctx, "prober", "b", time.Second); err != nil || !ok {
		t.Errorf("acquiring an expired lease = %v, %v; want true", ok, err)
	}
}

func testLeaseRenewalKeepsIt(t *testing.T, b backend) {
	ctx := testContext(t)
	s := fleet.New(b.client, fleet.Options{})
	const ttl = time.Second
	if ok, err := s.AcquireLease(ctx, "prober", "a", ttl); err != nil || !ok {
		t.Fatalf("AcquireLease = %v, %v", ok, err)
	}
	// Renewed before it runs out, it outlives its first TTL; re-acquiring
	// by the holder extends it the same way.
	for i := range 5 {
		time.Sleep(ttl / 4)
		var ok bool
		var err error
		if i%2 == 0 {
			ok, err = s.RenewLease(ctx, "prober", "a", ttl)
		} else {
			ok, err = s.AcquireLease(ctx, "prober", "a", ttl)
		}
		if err != nil || !ok {
			t.Fatalf("extension %d = %v, %v", i, ok, err)
		}
	}
	if holder, err := s.LeaseHolder(ctx, "prober"); err != nil || holder != "a" {
		t.Errorf("holder = %q, %v; want a", holder, err)
	}
}

func testLeaseValidation(t *testing.T, b backend) {
	ctx := testContext(t)
	s := fleet.New(b.client, fleet.Options{})
	calls := map[string]func() error{
		"acquire without name":   func() error { _, err := s.AcquireLease(ctx, "", "a", time.Second); return err },
		"acquire without holder": func() error { _, err := s.AcquireLease(ctx, "p", "", time.Second); return err },
		"acquire with zero ttl":  func() error { _, err := s.AcquireLease(ctx, "p", "a", 0); return err },
		"renew without holder":   func() error { _, err := s.RenewLease(ctx, "p", "", time.Second); return err },
		"renew with negative ttl": func() error {
			_, err := s.RenewLease(ctx, "p", "a", -time.Second)
			return err
		},
		"release without name": func() error { return s.ReleaseLease(ctx, "", "a") },
		"holder without name":  func() error { _, err := s.LeaseHolder(ctx, ""); return err },
	}
	for what, call := range calls {
		if err := call(); !errors.Is(err, fleet.ErrInvalidLeadership) {
			t.Errorf("%s: err = %v, want %v", what, err, fleet.ErrInvalidLeadership)
		}
	}
}
