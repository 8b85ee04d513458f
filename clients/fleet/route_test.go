package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/clients/fleet"
)

// routedUser is what the test knows of one user's session: where it is
// pinned and until when, and which provider the user calls.
type routedUser struct {
	id, provider string
	url          string
	expires      time.Time
}

// testRouteOutcomes drives a router through many mixed requests: users
// without a pin, with a live pin, with a pin whose backend is down or
// drained, with an expired pin, and with no backend left at all. Each
// request must come out as the test's own model of affinity says, and the
// counters must hold exactly one outcome per request.
func testRouteOutcomes(t *testing.T, b backend) {
	ctx := testContext(t)
	clock := newFakeClock()
	const ttl = time.Minute
	s := fleet.New(b.client, fleet.Options{Now: clock.Now, DefaultAffinityTTL: ttl})
	r := fleet.NewRouter(s)
	const model = "m"
	backends := []string{"http://a:8000", "http://b:8000", "http://c:8000", "http://d:8000"}
	const nUsers, workers = 24, 4
	users := make([]routedUser, nUsers)
	for i := range users {
		users[i] = routedUser{id: fmt.Sprintf("u%02d", i), provider: fleet.Providers[i%2]}
	}

	// phases say which backends are down and which drained while a round of
	// requests runs, and how far the clock moves before it.
	phases := []struct {
		down, drained []string
		advance       time.Duration
	}{
		{advance: 0},
		{advance: 10 * time.Second},
		{down: backends[:1], advance: 10 * time.Second},
		{drained: backends[1:2], advance: 10 * time.Second},
		{down: backends[2:3], drained: backends[:1], advance: 10 * time.Second},
		{advance: 2 * ttl}, // every pin expires
		{drained: backends[3:], advance: 10 * time.Second},
		{down: backends[:2], drained: backends[2:], advance: 10 * time.Second}, // nothing left
		{advance: 10 * time.Second},
		{drained: backends[:3], advance: 20 * time.Second},
	}
	want := map[string]map[fleet.Outcome]int64{}
	for _, p := range fleet.Providers {
		want[p] = map[fleet.Outcome]int64{}
	}
	var requests int64
	var drainedBefore []string
	for pi, ph := range phases {
		clock.Advance(ph.advance)
		for _, u := range drainedBefore {
			if err := s.Undrain(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		for _, u := range ph.drained {
			if err := s.Drain(ctx, u, "phase "+fmt.Sprint(pi)); err != nil {
				t.Fatal(err)
			}
		}
		drainedBefore = ph.drained
		if err := r.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		down, drained := set(ph.down), set(ph.drained)
		now := clock.Now()

		// Workers route for disjoint users at once; each keeps its own
		// expectations and only its users' state.
		var mu sync.Mutex
		var wg sync.WaitGroup
		for w := range workers {
			rng := rand.New(rand.NewPCG(uint64(pi), uint64(w)))
			wg.Go(func() {
				counts := map[string]map[fleet.Outcome]int64{}
				n := int64(0)
				for i := w; i < nUsers; i += workers {
					u := &users[i]
					for range 1 + rng.IntN(4) {
						o, err := routeOnce(t, r, u, now, ttl, backends, down, drained, model, rng)
						if err != nil {
							t.Error(err)
							return
						}
						if counts[u.provider] == nil {
							counts[u.provider] = map[fleet.Outcome]int64{}
						}
						counts[u.provider][o]++
						n++
					}
				}
				mu.Lock()
				defer mu.Unlock()
				for p, c := range counts {
					for o, k := range c {
						want[p][o] += k
					}
				}
				requests += n
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
	}

	got, err := s.AffinityMetrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	gotCounts := map[string]map[fleet.Outcome]int64{}
	for _, p := range got {
		gotCounts[p.Name] = map[fleet.Outcome]int64{}
		for o, n := range map[fleet.Outcome]int64{fleet.OutcomeHit: p.Hits, fleet.OutcomeMiss: p.Misses, fleet.OutcomeFallback: p.Fallbacks} {
			if n != 0 {
				gotCounts[p.Name][o] = n
			}
			total += n
		}
	}
	if total != requests {
		t.Errorf("hits + misses + fallbacks = %d, want one per request: %d", total, requests)
	}
	if diff := cmp.Diff(want, gotCounts); diff != "" {
		t.Errorf("counters (-want +got):\n%s", diff)
	}
	for _, o := range []fleet.Outcome{fleet.OutcomeHit, fleet.OutcomeMiss, fleet.OutcomeFallback} {
		if want[fleet.ProviderVLLM][o] == 0 || want[fleet.ProviderSGLang][o] == 0 {
			t.Errorf("no %s on some provider: the phases do not exercise every outcome: %v", o, want)
		}
	}
}

// routeOnce routes one request of u and checks the decision against what
// affinity should do, then updates u's pin as the router did.
func routeOnce(t *testing.T, r *fleet.Router, u *routedUser, now time.Time, ttl time.Duration,
	backends []string, down, drained map[string]bool, model string, rng *rand.Rand) (fleet.Outcome, error) {
	live := u.url != "" && now.Before(u.expires)
	wantOutcome := fleet.OutcomeMiss
	switch {
	case live && (down[u.url] || drained[u.url]):
		wantOutcome = fleet.OutcomeFallback
	case live:
		wantOutcome = fleet.OutcomeHit
	}
	d, err := r.Route(t.Context(), u.provider, u.id, model, fleet.Backends{
		Usable: func(url string) bool {
			if drained[url] {
				t.Errorf("Usable asked about drained %s", url)
			}
			return !down[url]
		},
		Pick: func(allowed func(string) bool) string {
			var ok []string
			for _, url := range backends {
				if !down[url] && allowed(url) {
					ok = append(ok, url)
				}
			}
			if len(ok) == 0 {
				return ""
			}
			return ok[rng.IntN(len(ok))]
		},
	})
	if err != nil {
		return 0, err
	}
	if d.Outcome != wantOutcome {
		return 0, fmt.Errorf("user %s pinned to %q (live %v): outcome %s, want %s", u.id, u.url, live, d.Outcome, wantOutcome)
	}
	switch {
	case d.URL != "" && (down[d.URL] || drained[d.URL]):
		return 0, fmt.Errorf("user %s routed to %s, which is down or drained", u.id, d.URL)
	case wantOutcome == fleet.OutcomeHit && d.URL != u.url:
		return 0, fmt.Errorf("user %s hit routed to %s, want its pin %s", u.id, d.URL, u.url)
	case wantOutcome == fleet.OutcomeFallback && d.URL == u.url:
		return 0, fmt.Errorf("user %s fell back to its own pin %s", u.id, u.url)
	}
	if d.URL != "" {
		u.url, u.expires = d.URL, now.Add(ttl)
	}
	return d.Outcome, nil
}

func set(urls []string) map[string]bool {
	m := map[string]bool{}
	for _, u := range urls {
		m[u] = true
	}
	return m
}

func testRouteValidation(t *testing.T, b backend) {
	ctx := testContext(t)
	s := fleet.New(b.client, fleet.Options{})
	r := fleet.NewRouter(s)
	if err := s.Drain(ctx, "http://drained:8000", "maintenance"); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	pickDrained := fleet.Backends{Pick: func(func(string) bool) string { return "http://drained:8000" }}
	pickA := fleet.Backends{Pick: func(func(string) bool) string { return "http://a:8000" }}
	tests := []struct {
		name     string
		provider string
		user     string
		b        fleet.Backends
		want     error
	}{
		{"unknown provider", "tgi", "u", pickA, fleet.ErrUnknownProvider},
		{"empty user", fleet.ProviderVLLM, "", pickA, fleet.ErrEmptyUser},
		{"pick of a drained server", fleet.ProviderVLLM, "u", pickDrained, fleet.ErrPickNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := r.Route(ctx, tc.provider, tc.user, "m", tc.b); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := r.Route(ctx, fleet.ProviderVLLM, "u", "m", fleet.Backends{}); err == nil {
		t.Error("Route without Pick: no error")
	}
	got, err := s.AffinityMetrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range got {
		if p.Hits+p.Misses+p.Fallbacks != 0 {
			t.Errorf("refused requests were counted: %+v", p)
		}
	}
	if sessions, err := s.UserSessions(ctx, "u"); err != nil || len(sessions) != 0 {
		t.Errorf("refused requests pinned sessions: %v, %v", sessions, err)
	}
}

// testRouterWatchesDrains checks that Drain and Undrain reach a watching
// router through the refresh channel.
func testRouterWatchesDrains(t *testing.T, b backend) {
	ctx := testContext(t)
	s := fleet.New(b.client, fleet.Options{})
	const a, c = "http://a:8000", "http://c:8000"
	if err := s.Drain(ctx, a, "before the router started"); err != nil {
		t.Fatal(err)
	}
	r := fleet.NewRouter(s)
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Watch(wctx, fleet.WatchOptions{}, func(err error) { t.Errorf("reload: %v", err) })
	}()
	eventually(t, "the first subscription loads the drains", func() bool { return r.Drained(a) })
	// The router is subscribed now: only the refresh Drain publishes can
	// tell it about c.
	if err := s.Drain(ctx, c, "disk full"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a drain reaches the router", func() bool { return r.Drained(c) })
	if err := s.Undrain(ctx, a); err != nil {
		t.Fatal(err)
	}
	eventually(t, "an undrain reaches the router", func() bool { return !r.Drained(a) })
	view := r.DrainedView()
	if len(view) != 1 || view[c].Reason != "disk full" {
		t.Errorf("drained view = %+v, want only %s", view, c)
	}
	stop()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not return after its context ended")
	}
}

// eventually polls cond for up to ten seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
