package pool_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/clients/clocktest"
	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/server/pool"
)

// TestProbeRoundsCountersAndThresholds probes scripted loopback stand-ins
// round by round and checks every server's counters and verdict after each
// round, with thresholds of 3 failures and 2 successes. Rounds alternate
// between two probers, as when the lease changes hands: the second
// continues the counters of the first.
func TestProbeRoundsCountersAndThresholds(t *testing.T) {
	_, client, store := standalone(t)
	ctx := testContext(t)
	target := &hits{}
	redirectTarget := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target.add(r.URL.Path)
	}))
	defer redirectTarget.Close()
	const timeout = 100 * time.Millisecond
	si := newStandIn(t, 10*timeout, redirectTarget.URL+"/elsewhere")

	// One letter per round (see the answer constants); S healthy, F a 503,
	// T slower than the timeout, R a redirect to another host, B a 200 with
	// a 2 MiB body.
	cases := []struct {
		name, script string
		// want[i] is the verdict after round i+1: H healthy, U unhealthy.
		want string
	}{
		{"healthy", "SSSSSSS", "HHHHHHH"},
		{"failing 5xx", "FFFFFFF", "UUUUUUU"},
		{"slow past the timeout", "TTTTTTT", "UUUUUUU"},
		{"redirect to another host", "RRRRRRR", "UUUUUUU"},
		{"big body", "BBBBBBB", "HHHHHHH"},
		{"flapping", "SFFFSSF", "HHHUUHH"},
		{"flapping never three failures in a row", "SFFSFFS", "HHHHHHH"},
		{"recovering", "FSFSSFS", "UUUUHHH"},
		{"dies", "SSFFFSF", "HHHHUUU"},
	}
	urls := make([]string, len(cases))
	for i, c := range cases {
		urls[i] = si.add(c.name, c.script)
		register(t, store, fleet.ProviderVLLM, urls[i])
	}
	tables := pool.NewTables(client, store, pool.TablesOptions{})
	if err := tables.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	clock := clocktest.New(time.UnixMilli(1_700_000_000_000))
	newProber := func(holder string) *pool.Prober {
		p := pool.NewProber(tables, store, pool.ProberOptions{
			Interval: 4 * timeout, Timeout: timeout, Holder: holder, Now: clock.Now,
			UnhealthyAfter: 3, HealthyAfter: 2,
		})
		t.Cleanup(p.CloseIdleConnections)
		return p
	}
	probers := []*pool.Prober{newProber("a"), newProber("b")}

	for _, h := range health(t, store, urls...) {
		if h != (fleet.ServerHealth{}) {
			t.Fatalf("before any probe: %+v, want unknown", h)
		}
	}
	lastFailure := make([]int64, len(cases))
	failures := make([]int64, len(cases))
	successes := make([]int64, len(cases))
	for round := range len(cases[0].script) {
		clock.Advance(time.Second)
		nowMs := clock.Now().UnixMilli()
		r, err := probers[round%2].ProbeOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r.Servers != len(cases) || r.Succeeded+r.Failed != len(cases) || r.WriteErrors != 0 {
			t.Fatalf("round %d: %+v", round+1, r)
		}
		got := health(t, store, urls...)
		for i, c := range cases {
			ok := c.script[round] == answerOK || c.script[round] == answerBigBody
			if ok {
				successes[i]++
				failures[i] = 0
			} else {
				failures[i]++
				successes[i] = 0
				lastFailure[i] = nowMs
			}
			healthy := c.want[round] == 'H'
			want := fleet.ServerHealth{
				Healthy:              &healthy,
				ConsecutiveFailures:  failures[i],
				ConsecutiveSuccesses: successes[i],
				LastCheckMs:          nowMs,
				LastFailureMs:        lastFailure[i],
			}
			if diff := cmp.Diff(want, got[i]); diff != "" {
				t.Errorf("%s after round %d (%q) (-want +got):\n%s", c.name, round+1, c.script[:round+1], diff)
			}
		}
	}
	for _, c := range cases {
		if n := si.hits.get(c.name); n != len(c.script) {
			t.Errorf("%s: probed %d times, want %d", c.name, n, len(c.script))
		}
	}
	if n := si.stray.total(); n != 0 {
		t.Errorf("%d requests to paths other than {url}/models: %v", n, si.stray.n)
	}
	if n := target.total(); n != 0 {
		t.Errorf("the redirect was followed %d times", n)
	}
}

// TestProberRunsByItself runs two probers with short intervals against
// healthy, failing, slow, flapping and redirecting stand-ins: one takes the
// lease and probes round after round until the counters reach the
// thresholds; the other never probes. Counters are asserted, not timing.
func TestProberRunsByItself(t *testing.T) {
	_, client, store := standalone(t)
	ctx := testContext(t)
	target := &hits{}
	redirectTarget := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target.add(r.URL.Path)
	}))
	defer redirectTarget.Close()
	const timeout = 60 * time.Millisecond
	si := newStandIn(t, 5*timeout, redirectTarget.URL)
	healthyURL := si.add("healthy", "S")
	failingURL := si.add("failing", "F")
	slowURL := si.add("slow", "T")
	flappingURL := si.add("flapping", "FFFFSS")
	redirectURL := si.add("redirect", "R")
	register(t, store, fleet.ProviderVLLM, healthyURL, failingURL, slowURL)
	register(t, store, fleet.ProviderSGLang, flappingURL)
	register(t, store, fleet.ProviderSpeaches, redirectURL)

	// Everything the replica starts stops with it: its tables, its prober
	// and, once closed, its own Valkey client.
	checkLeaks := goroutineBaseline(t)
	replicaClient, err := fleet.Connect(ctx, fleet.ConnectOptions{Addrs: []string{valkeyAddr(client)}})
	if err != nil {
		t.Fatal(err)
	}
	replicaStore := fleet.New(replicaClient, fleet.Options{})
	runCtx, stop := context.WithCancel(ctx)
	tables := pool.NewTables(replicaClient, replicaStore, pool.TablesOptions{})
	var probers []*pool.Prober
	var wg sync.WaitGroup
	wg.Go(func() { _ = tables.Run(runCtx) })
	eventually(t, 5*time.Second, "tables loaded", func() bool { return tables.Snapshot().Len() == 5 })
	for _, holder := range []string{"first", "second"} {
		p := pool.NewProber(tables, replicaStore, pool.ProberOptions{
			Interval: 150 * time.Millisecond, Timeout: timeout, Holder: holder,
			LeaseTTL: time.Second, LeaseRenewEvery: 200 * time.Millisecond,
		})
		probers = append(probers, p)
		wg.Go(func() { _ = p.Run(runCtx) })
		if holder == "first" {
			eventually(t, 5*time.Second, "first prober leading", p.Leading)
		}
	}

	at := func(u string) fleet.ServerHealth { return health(t, store, u)[0] }
	eventually(t, 15*time.Second, "every stand-in past its thresholds", func() bool {
		h, f, s, fl, r := at(healthyURL), at(failingURL), at(slowURL), at(flappingURL), at(redirectURL)
		return h.ConsecutiveSuccesses >= 3 && f.ConsecutiveFailures >= 3 && s.ConsecutiveFailures >= 3 &&
			fl.ConsecutiveSuccesses >= 2 && r.ConsecutiveFailures >= 3
	})
	stop()
	wg.Wait()
	replicaClient.Close()
	checkLeaks()

	for _, tc := range []struct {
		url     string
		healthy bool
		failed  bool
	}{
		{healthyURL, true, false},
		{failingURL, false, true},
		{slowURL, false, true},
		{flappingURL, true, true}, // four failures, then two successes
		{redirectURL, false, true},
	} {
		h := at(tc.url)
		if h.Healthy == nil || *h.Healthy != tc.healthy {
			t.Errorf("%s: healthy %v, want %v (%+v)", tc.url, h.Healthy, tc.healthy, h)
		}
		if h.LastCheckMs <= 0 {
			t.Errorf("%s: last_check_ms %d", tc.url, h.LastCheckMs)
		}
		if got := h.LastFailureMs > 0; got != tc.failed {
			t.Errorf("%s: last_failure_ms %d, want a failure: %v", tc.url, h.LastFailureMs, tc.failed)
		}
	}
	if fl := at(flappingURL); fl.ConsecutiveFailures != 0 || fl.LastFailureMs >= fl.LastCheckMs {
		t.Errorf("flapping: %+v, want failures restarted and the last failure before the last check", fl)
	}
	if probers[1].Rounds() != 0 {
		t.Errorf("the second prober ran %d rounds while the first held the lease", probers[1].Rounds())
	}
	if probers[0].Rounds() < 4 {
		t.Errorf("the leader ran %d rounds", probers[0].Rounds())
	}
	if n := target.total(); n != 0 {
		t.Errorf("the redirect was followed %d times", n)
	}
	if n := si.stray.total(); n != 0 {
		t.Errorf("%d stray requests", n)
	}
	// A graceful stop releases the lease at once.
	holder, err := store.LeaseHolder(ctx, pool.LeaseName)
	if err != nil || holder != "" {
		t.Errorf("lease holder after a graceful stop = %q, %v; want none", holder, err)
	}
}

// TestProberLeaseHandover kills the leading prober without releasing the
// lease, as a crash would: the other takes the lease when it expires and
// carries on probing, continuing the counters.
func TestProberLeaseHandover(t *testing.T) {
	_, client, store := standalone(t)
	ctx := testContext(t)
	si := newStandIn(t, time.Second, "")
	u := si.add("up", "S")
	register(t, store, fleet.ProviderVLLM, u)
	tables := pool.NewTables(client, store, pool.TablesOptions{})
	if err := tables.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	const ttl = 800 * time.Millisecond
	start := func(holder string) (*pool.Prober, func()) {
		p := pool.NewProber(tables, store, pool.ProberOptions{
			Interval: 100 * time.Millisecond, Timeout: 50 * time.Millisecond, Holder: holder,
			LeaseTTL: ttl, LeaseRenewEvery: 200 * time.Millisecond, KeepLeaseOnStop: true,
		})
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = p.Run(rctx) }()
		return p, func() { cancel(); <-done }
	}
	a, killA := start("a")
	eventually(t, 5*time.Second, "a leading", a.Leading)
	b, killB := start("b")
	defer killB()
	eventually(t, 5*time.Second, "a probing", func() bool { return health(t, store, u)[0].ConsecutiveSuccesses >= 2 })

	killA()
	killed := time.Now()
	if h, err := store.LeaseHolder(ctx, pool.LeaseName); err != nil || h != "a" {
		t.Fatalf("after the crash the lease is held by %q, %v; want still a until it expires", h, err)
	}
	before := health(t, store, u)[0]
	eventually(t, 5*time.Second, "b takes over", b.Leading)
	eventually(t, 5*time.Second, "b probing", func() bool {
		h := health(t, store, u)[0]
		return h.LastCheckMs > before.LastCheckMs && h.ConsecutiveSuccesses > before.ConsecutiveSuccesses
	})
	took := time.Since(killed)
	t.Logf("handover after %s (lease TTL %s)", took.Round(10*time.Millisecond), ttl)
	if h, err := store.LeaseHolder(ctx, pool.LeaseName); err != nil || h != "b" {
		t.Errorf("lease held by %q, %v; want b", h, err)
	}
}

// TestProberProbesNewServersAtOnce runs a prober whose interval is an hour:
// the servers of the first load after it took the lease, and a server a
// refresh announces later, are probed at once instead of an interval later.
func TestProberProbesNewServersAtOnce(t *testing.T) {
	_, client, store := standalone(t)
	ctx := testContext(t)
	si := newStandIn(t, time.Second, "")
	first := si.add("first", "S")
	later := si.add("later", "S")
	register(t, store, fleet.ProviderVLLM, first)

	// The prober leads before the tables have loaded anything.
	tables := pool.NewTables(client, store, pool.TablesOptions{ReloadInterval: time.Hour})
	p := pool.NewProber(tables, store, pool.ProberOptions{Interval: time.Hour, Timeout: time.Second})
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	wg.Go(func() { _ = p.Run(runCtx) })
	eventually(t, 5*time.Second, "prober leading", p.Leading)
	wg.Go(func() { _ = tables.Run(runCtx) })

	checked := func(u string) func() bool {
		return func() bool { return health(t, store, u)[0].LastCheckMs > 0 }
	}
	eventually(t, 10*time.Second, "the first server probed after the first load", checked(first))
	register(t, store, fleet.ProviderSGLang, later)
	publishUntil(t, store, 10*time.Second, "the announced server probed", checked(later))
	// The round at start-up found the tables empty; both servers were
	// probed as new ones, not by a round of the whole tables.
	if n := p.Rounds(); n != 0 {
		t.Errorf("%d full rounds, want none: new servers are probed on their own", n)
	}
}

// TestProberProbesNewServersDuringARound announces a server while a round
// is still running (it waits on a server that never answers, with a long
// timeout): the new server is probed at once, not after the round.
func TestProberProbesNewServersDuringARound(t *testing.T) {
	_, client, store := standalone(t)
	ctx := testContext(t)
	si := newStandIn(t, time.Minute, "")
	hung := si.add("hung", "T")
	later := si.add("later", "S")
	register(t, store, fleet.ProviderVLLM, hung)

	tables := pool.NewTables(client, store, pool.TablesOptions{ReloadInterval: time.Hour})
	if err := tables.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	p := pool.NewProber(tables, store, pool.ProberOptions{Interval: time.Hour, Timeout: 30 * time.Second})
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	wg.Go(func() { _ = p.Run(runCtx) })
	wg.Go(func() { _ = tables.Run(runCtx) })
	eventually(t, 5*time.Second, "prober leading", p.Leading)

	register(t, store, fleet.ProviderSGLang, later)
	publishUntil(t, store, 10*time.Second, "the announced server probed", func() bool { return health(t, store, later)[0].LastCheckMs > 0 })
	if n, h := p.Rounds(), health(t, store, hung)[0]; n != 0 || h.LastCheckMs != 0 {
		t.Errorf("the round ended first (%d rounds, hung server %+v): the test proves nothing", n, h)
	}
}

// gate is a loopback inference server whose probes all wait at one gate:
// each holds its request open until the gate opens or the prober gives up.
// It counts the probes in flight, their peak and the probes received.
type gate struct {
	srv     *httptest.Server
	open    chan struct{}
	mu      sync.Mutex
	inside  int
	peak    int
	arrived int
}

func newGate(t *testing.T) *gate {
	g := &gate{open: make(chan struct{})}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.inside++
		g.arrived++
		g.peak = max(g.peak, g.inside)
		g.mu.Unlock()
		defer func() {
			g.mu.Lock()
			g.inside--
			g.mu.Unlock()
		}()
		select {
		case <-g.open:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"object":"list","data":[]}`))
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(g.srv.Close)
	return g
}

// counts returns the probes in flight, their peak and the probes received.
func (g *gate) counts() (inside, peak, arrived int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.inside, g.peak, g.arrived
}

// gatedFleet registers n servers behind g and returns loaded tables.
func gatedFleet(t *testing.T, g *gate, n int) (*pool.Tables, *fleet.Store) {
	_, client, store := standalone(t)
	for i := range n {
		register(t, store, fleet.ProviderVLLM, fmt.Sprintf("%s/gated-%d/v1", g.srv.URL, i))
	}
	tables := pool.NewTables(client, store, pool.TablesOptions{})
	if err := tables.Reload(testContext(t)); err != nil {
		t.Fatal(err)
	}
	return tables, store
}

// TestProbesInFlightStayWithinConcurrency holds every probe of a round at a
// gate: the round fills its three slots and starts no fourth probe while
// they are held; once the gate opens, every server is probed and recorded.
// The timeout equals the interval, so every probe is due at once.
func TestProbesInFlightStayWithinConcurrency(t *testing.T) {
	const servers, limit = 12, 3
	g := newGate(t)
	tables, store := gatedFleet(t, g, servers)
	p := pool.NewProber(tables, store, pool.ProberOptions{Interval: time.Minute, Timeout: time.Minute, Concurrency: limit})
	defer p.CloseIdleConnections()

	type result struct {
		r   pool.Round
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := p.ProbeOnce(testContext(t))
		done <- result{r, err}
	}()
	eventually(t, 10*time.Second, "every slot taken", func() bool { inside, _, _ := g.counts(); return inside >= limit })
	// Give a broken bound the chance to show: every probe is due, so
	// without one the others would arrive now.
	time.Sleep(200 * time.Millisecond)
	if _, peak, arrived := g.counts(); peak != limit || arrived != limit {
		t.Errorf("with the slots held: peak %d in flight, %d probes arrived; want %d and %d", peak, arrived, limit, limit)
	}
	close(g.open)
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res.r.Servers != servers || res.r.Succeeded != servers || res.r.Failed != 0 || res.r.WriteErrors != 0 {
		t.Errorf("round = %+v, want %d servers all succeeded", res.r, servers)
	}
	if _, peak, arrived := g.counts(); peak > limit || arrived != servers {
		t.Errorf("peak %d in flight, %d probes; want at most %d and %d", peak, arrived, limit, servers)
	}
}

// TestCancelledRoundStartsNoQueuedProbe cancels a round while every slot is
// held by a probe that would wait a minute: the round returns, the held
// probes end without a verdict, and the probes still queued never start.
func TestCancelledRoundStartsNoQueuedProbe(t *testing.T) {
	const servers, limit = 10, 2
	g := newGate(t)
	tables, store := gatedFleet(t, g, servers)
	p := pool.NewProber(tables, store, pool.ProberOptions{Interval: time.Minute, Timeout: time.Minute, Concurrency: limit})
	defer p.CloseIdleConnections()

	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	type result struct {
		r   pool.Round
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := p.ProbeOnce(ctx)
		done <- result{r, err}
	}()
	eventually(t, 10*time.Second, "every slot taken", func() bool { inside, _, _ := g.counts(); return inside >= limit })
	cancel()
	var res result
	select {
	case res = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the cancelled round did not return while its probes were held")
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res.r.Succeeded+res.r.Failed != 0 {
		t.Errorf("round = %+v: probes cut short must count in neither outcome", res.r)
	}
	if _, _, arrived := g.counts(); arrived != limit {
		t.Errorf("%d probes arrived, want %d: a queued probe started after the round was cancelled", arrived, limit)
	}
	for i, h := range health(t, store, tables.Snapshot().URLs()...) {
		if h != (fleet.ServerHealth{}) {
			t.Errorf("server %d: %+v recorded by a cancelled round, want nothing", i, h)
		}
	}
}
