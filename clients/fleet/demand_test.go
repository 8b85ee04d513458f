package fleet_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/threatwinds/aiadmin/clients/fleet"
)

func start(t *testing.T, s *fleet.Store, url, model string) fleet.Lease {
	t.Helper()
	l, err := s.StartRequest(testContext(t), url, model)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func finish(t *testing.T, s *fleet.Store, l fleet.Lease) {
	t.Helper()
	if err := s.FinishRequest(testContext(t), l); err != nil {
		t.Fatal(err)
	}
}

func checkDemand(t *testing.T, s *fleet.Store, want fleet.Demand) {
	t.Helper()
	got, err := s.Demand(testContext(t), want.URL)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Demand(%s) (-want +got):\n%s", want.URL, diff)
	}
}

func testDemandStartFinish(t *testing.T, b backend) {
	clock := newFakeClock()
	s := fleet.New(b.client, fleet.Options{Now: clock.Now})
	const url = "http://pod-1:8000"

	a1 := start(t, s, url, "m1")
	if len(a1.ID) != 32 || a1.URL != url || a1.ModelID != "m1" || !a1.Expires.Equal(t0.Add(fleet.DefaultRequestLease)) {
		t.Errorf("lease = %+v", a1)
	}
	clock.Advance(time.Second)
	a2 := start(t, s, url, "m1")
	clock.Advance(time.Second)
	bReq := start(t, s, url, "m2")
	last := t0.Add(2 * time.Second).UnixMilli()
	checkDemand(t, s, fleet.Demand{URL: url, Inflight: 3, LastUseMs: last, Models: []fleet.ModelDemand{
		{ModelID: "m1", Inflight: 2, Rate5m: 2},
		{ModelID: "m2", Inflight: 1, Rate5m: 1},
	}})

	finish(t, s, a1)
	finish(t, s, a1) // finishing twice does nothing more
	checkDemand(t, s, fleet.Demand{URL: url, Inflight: 2, LastUseMs: last, Models: []fleet.ModelDemand{
		{ModelID: "m1", Inflight: 1, Rate5m: 2},
		{ModelID: "m2", Inflight: 1, Rate5m: 1},
	}})

	finish(t, s, a2)
	finish(t, s, bReq)
	checkDemand(t, s, fleet.Demand{URL: url, Inflight: 0, LastUseMs: last, Models: []fleet.ModelDemand{
		{ModelID: "m1", Rate5m: 2},
		{ModelID: "m2", Rate5m: 1},
	}})

	// A router whose clock is behind does not move the last use back.
	clock.Advance(-time.Minute)
	finish(t, s, start(t, s, url, "m1"))
	clock.Advance(time.Minute)
	checkDemand(t, s, fleet.Demand{URL: url, LastUseMs: last, Models: []fleet.ModelDemand{
		{ModelID: "m1", Rate5m: 3},
		{ModelID: "m2", Rate5m: 1},
	}})
}

func testLeaseExpiryClock(t *testing.T, b backend) {
	clock := newFakeClock()
	s := fleet.New(b.client, fleet.Options{Now: clock.Now, RequestLease: time.Minute})
	const url = "http://pod-1:8000"

	crashed := start(t, s, url, "m1") // its router dies: never finished
	clock.Advance(59 * time.Second)
	checkDemand(t, s, fleet.Demand{URL: url, Inflight: 1, LastUseMs: t0.UnixMilli(), Models: []fleet.ModelDemand{
		{ModelID: "m1", Inflight: 1, Rate5m: 1},
	}})

	clock.Advance(time.Second)
	checkDemand(t, s, fleet.Demand{URL: url, Inflight: 0, LastUseMs: t0.UnixMilli(), Models: []fleet.ModelDemand{
		{ModelID: "m1", Rate5m: 1},
	}})

	// The next request at the URL drops the expired lease from the set.
	live := start(t, s, url, "m1")
	n, err := b.client.Do(testContext(t), b.client.B().Zcard().Key(fleet.DemandLeasesKey(url)).Build()).AsInt64()
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d leases stored, want only the live one", n)
	}
	finish(t, s, crashed) // finishing a dropped lease is harmless
	finish(t, s, live)
	checkDemand(t, s, fleet.Demand{URL: url, LastUseMs: t0.Add(time.Minute).UnixMilli(), Models: []fleet.ModelDemand{
		{ModelID: "m1", Rate5m: 2},
	}})
}

func testWindowSlides(t *testing.T, b backend) {
	clock := newFakeClock()
	s := fleet.New(b.client, fleet.Options{Now: clock.Now})
	const url = "http://pod-1:8000"
	// Requests at t0 (3 of m1) and t0+2m (1 of m1, 2 of m2), all finished.
	for range 3 {
		finish(t, s, start(t, s, url, "m1"))
	}
	clock.Advance(2 * time.Minute)
	finish(t, s, start(t, s, url, "m1"))
	finish(t, s, start(t, s, url, "m2"))
	finish(t, s, start(t, s, url, "m2"))
	last := t0.Add(2 * time.Minute).UnixMilli()

	tests := []struct {
		at   time.Duration // since t0
		want []fleet.ModelDemand
	}{
		{2 * time.Minute, []fleet.ModelDemand{{ModelID: "m1", Rate5m: 4}, {ModelID: "m2", Rate5m: 2}}},
		{4*time.Minute + 59*time.Second, []fleet.ModelDemand{{ModelID: "m1", Rate5m: 4}, {ModelID: "m2", Rate5m: 2}}},
		{5 * time.Minute, []fleet.ModelDemand{{ModelID: "m1", Rate5m: 1}, {ModelID: "m2", Rate5m: 2}}},
		{6*time.Minute + 59*time.Second, []fleet.ModelDemand{{ModelID: "m1", Rate5m: 1}, {ModelID: "m2", Rate5m: 2}}},
		{7 * time.Minute, []fleet.ModelDemand{}},
		{time.Hour, []fleet.ModelDemand{}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("at t0+%s", tc.at), func(t *testing.T) {
			clock.Advance(t0.Add(tc.at).Sub(clock.Now()))
			checkDemand(t, s, fleet.Demand{URL: url, LastUseMs: last, Models: tc.want})
		})
	}
}

func testDemandUnknownURL(t *testing.T, b backend) {
	s := fleet.New(b.client, fleet.Options{})
	checkDemand(t, s, fleet.Demand{URL: "http://never:1", Models: []fleet.ModelDemand{}})
}

func testDemandMany(t *testing.T, b backend) {
	ctx := testContext(t)
	clock := newFakeClock()
	s := fleet.New(b.client, fleet.Options{Now: clock.Now})
	start(t, s, podURL(1), "m1")
	start(t, s, podURL(2), "m2")
	start(t, s, podURL(2), "m2")
	urls := []string{podURL(2), "http://never:1", podURL(1), podURL(2)}
	got, err := s.DemandMany(ctx, urls)
	if err != nil {
		t.Fatal(err)
	}
	ms := t0.UnixMilli()
	p2 := fleet.Demand{URL: podURL(2), Inflight: 2, LastUseMs: ms, Models: []fleet.ModelDemand{{ModelID: "m2", Inflight: 2, Rate5m: 2}}}
	want := []fleet.Demand{
		p2,
		{URL: "http://never:1", Models: []fleet.ModelDemand{}},
		{URL: podURL(1), Inflight: 1, LastUseMs: ms, Models: []fleet.ModelDemand{{ModelID: "m1", Inflight: 1, Rate5m: 1}}},
		p2,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DemandMany (-want +got):\n%s", diff)
	}

	got, err = s.DemandMany(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]fleet.Demand{}, got); diff != "" {
		t.Errorf("DemandMany(nil) (-want +got):\n%s", diff)
	}
}

// testDemandOneRoundTrip proves that reading a pod's demand is one round
// trip whatever the number of models, by counting the writes that carry the
// pod's keys.
func testDemandOneRoundTrip(t *testing.T, b backend) {
	ctx := testContext(t)
	c, log := loggingClient(t, b.opts)
	s := fleet.New(c, fleet.Options{})
	for _, models := range []int{1, 20} {
		url := fmt.Sprintf("http://pod-with-%d-models:8000", models)
		for m := range models {
			start(t, s, url, fmt.Sprintf("model-%02d", m))
		}
		log.Reset()
		d, err := s.Demand(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		if n := log.Count(url); n != 1 {
			t.Errorf("reading demand of %d models took %d round trips, want 1", models, n)
		}
		if len(d.Models) != models || d.Inflight != int64(models) {
			t.Errorf("demand of %d models = %+v", models, d)
		}
	}
}

func testDemandValidation(t *testing.T, b backend) {
	ctx := testContext(t)
	s := fleet.New(b.client, fleet.Options{})
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"start empty url", func() error { _, err := s.StartRequest(ctx, "", "m"); return err }, fleet.ErrEmptyURL},
		{"start empty model", func() error { _, err := s.StartRequest(ctx, "http://a", ""); return err }, fleet.ErrEmptyModel},
		{"finish zero lease", func() error { return s.FinishRequest(ctx, fleet.Lease{}) }, fleet.ErrInvalidLease},
		{"finish short id", func() error {
			return s.FinishRequest(ctx, fleet.Lease{ID: "abc", URL: "http://a", ModelID: "m"})
		}, fleet.ErrInvalidLease},
		{"demand empty url", func() error { _, err := s.Demand(ctx, ""); return err }, fleet.ErrEmptyURL},
		{"demand many with an empty url", func() error { _, err := s.DemandMany(ctx, []string{"http://a", ""}); return err }, fleet.ErrEmptyURL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// testRealExpiry checks that the server itself drops expired affinity and
// leases, with real TTLs of one second and the wall clock.
func testRealExpiry(t *testing.T, b backend) {
	ctx := testContext(t)
	s := fleet.New(b.client, fleet.Options{
		AffinityTTL:  map[string]time.Duration{fleet.ProviderVLLM: time.Second},
		RequestLease: time.Second,
	})
	const url = "http://pod-1:8000"
	pin(t, s, fleet.ProviderVLLM, "u1", "m1", url)
	start(t, s, url, "m1") // never finished
	if !exists(t, b.client, fleet.AffinityKey("u1")) || !exists(t, b.client, fleet.DemandLeasesKey(url)) {
		t.Fatal("pin or lease not stored")
	}

	time.Sleep(1300 * time.Millisecond)

	for _, key := range []string{fleet.AffinityKey("u1"), fleet.DemandLeasesKey(url)} {
		if exists(t, b.client, key) {
			t.Errorf("%s still exists after its TTL", key)
		}
	}
	checkLookups(t, s, []lookup{{provider: fleet.ProviderVLLM, user: "u1", model: "m1"}})
	d, err := s.Demand(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if d.Inflight != 0 {
		t.Errorf("inflight = %d after the lease expired, want 0", d.Inflight)
	}
	cleared, err := s.ClearAffinity(ctx, "u1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cleared != 0 {
		t.Errorf("cleared = %d after expiry, want 0", cleared)
	}
}

// testFleetDemand adds up the demand of many URLs, some listed twice, some
// never used, and checks the totals against the per-URL reads, and that the
// whole read is one round trip per node.
func testFleetDemand(t *testing.T, b backend) {
	ctx := testContext(t)
	clock := newFakeClock()
	c, log := loggingClient(t, b.opts)
	s := fleet.New(c, fleet.Options{Now: clock.Now, RequestLease: 10 * time.Minute})
	var urls []string
	for i := range 20 {
		urls = append(urls, podURL(i))
	}
	// Old requests at pod 0 and 1: out of the window by the time of the
	// read, and pod 0's lease expired, pod 1's finished.
	start(t, s, podURL(0), "m1")
	finish(t, s, start(t, s, podURL(1), "m1"))
	clock.Advance(6 * time.Minute)
	// Recent requests: pods 2..9, i requests of two models at pod i, one of
	// each pod's requests finished.
	var wantInflight, wantRequests int64
	for i := 2; i < 10; i++ {
		for r := range i {
			l := start(t, s, podURL(i), fmt.Sprintf("m%d", r%2))
			if r == 0 {
				finish(t, s, l)
			}
		}
		wantInflight += int64(i - 1)
		wantRequests += int64(i)
		clock.Advance(time.Second)
	}
	// Now t0+10m38s: pod 0's lease (t0 + 10m) has expired, and the window,
	// from t0+5m40s, still holds every recent request.
	clock.Advance(4*time.Minute + 30*time.Second)
	ds, err := s.DemandMany(ctx, urls)
	if err != nil {
		t.Fatal(err)
	}
	wantLast := map[string]int64{}
	var fromMany int64
	for _, d := range ds {
		wantLast[d.URL] = d.LastUseMs
		for _, m := range d.Models {
			fromMany += m.Rate5m
		}
	}
	if fromMany != wantRequests {
		t.Fatalf("DemandMany counts %d requests in the window, the test expects %d", fromMany, wantRequests)
	}

	log.Reset()
	got, err := s.FleetDemand(ctx, append(urls, podURL(3), podURL(0)))
	if err != nil {
		t.Fatal(err)
	}
	if n, nodes := log.Count("{aiadmin:dem:"), len(c.Nodes()); n < 1 || n > nodes {
		t.Errorf("FleetDemand of %d URLs took %d round trips, want one per node (%d)", len(urls), n, nodes)
	}
	want := fleet.DemandTotals{Inflight: wantInflight, Requests5m: wantRequests, LastUseMs: wantLast}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FleetDemand (-want +got):\n%s", diff)
	}
	if got.LastUseMs[podURL(0)] != t0.UnixMilli() || got.LastUseMs[podURL(19)] != 0 {
		t.Errorf("last use of pod 0 = %d (want %d), of the unused pod 19 = %d (want 0)", got.LastUseMs[podURL(0)], t0.UnixMilli(), got.LastUseMs[podURL(19)])
	}

	empty, err := s.FleetDemand(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The window is the fleet's, whatever the URLs asked about.
	if diff := cmp.Diff(fleet.DemandTotals{Requests5m: wantRequests, LastUseMs: map[string]int64{}}, empty); diff != "" {
		t.Errorf("FleetDemand(nil) (-want +got):\n%s", diff)
	}
	if _, err := s.FleetDemand(ctx, []string{podURL(1), ""}); !errors.Is(err, fleet.ErrEmptyURL) {
		t.Errorf("FleetDemand with an empty url: err = %v, want %v", err, fleet.ErrEmptyURL)
	}
}
