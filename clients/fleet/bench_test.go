package fleet_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
	"github.com/valkey-io/valkey-go"
)

// Each benchmark measures both sides of its comparison in the same loop, so
// that noise from a shared machine hits both alike, and reports their ratio
// as a metric and in the log. Both sides are warmed up first, and each
// iteration repeats the measured call reps times, so that even a run of one
// iteration (as CI does) gives a steady ratio.

const reps = 50

// BenchmarkRegistryPage compares a page deep into a model served by 100,000
// URLs (offset 49,900, limit 100) with the first page of a model served by
// 100 URLs. A ratio near 1 shows the page costs O(log N + limit).
func BenchmarkRegistryPage(b *testing.B) {
	srv := valkeytest.StartServer(b)
	c := connect(b, fleet.ConnectOptions{Addrs: []string{srv.Addr()}})
	fillModel(b, c, "big", 100_000)
	fillModel(b, c, "small", 100)
	s := fleet.New(c, fleet.Options{})
	ctx := testContext(b)

	page := func(model string, offset, wantTotal int64) time.Duration {
		t := time.Now()
		urls, total, err := s.RegistryPage(ctx, model, offset, 100)
		took := time.Since(t)
		if err != nil || len(urls) != 100 || total != wantTotal {
			b.Fatalf("%s page: %d urls, total %d, %v", model, len(urls), total, err)
		}
		return took
	}
	page("big", 49_900, 100_000)
	page("small", 0, 100)

	var big, small []time.Duration
	for b.Loop() {
		for range reps {
			big = append(big, page("big", 49_900, 100_000))
			small = append(small, page("small", 0, 100))
		}
	}
	reportRatio(b, "page 500 of 100k URLs", big, "page 1 of 100 URLs", small, "ratio_100k_vs_100")
}

// BenchmarkAffinityClear compares clearing a user's ten pins on a server
// holding 1,000,000 unrelated keys with the same on an empty server. A ratio
// near 1 shows the clear never scans the keyspace.
func BenchmarkAffinityClear(b *testing.B) {
	ctx := testContext(b)
	emptySrv := valkeytest.StartServer(b)
	fullSrv := valkeytest.StartServer(b, "--enable-debug-command", "yes")
	empty := connect(b, fleet.ConnectOptions{Addrs: []string{emptySrv.Addr()}})
	full := connect(b, fleet.ConnectOptions{Addrs: []string{fullSrv.Addr()}})
	if err := full.Do(ctx, full.B().Arbitrary("DEBUG", "POPULATE").Args("1000000").Build()).Error(); err != nil {
		b.Fatal(err)
	}
	if n, err := full.Do(ctx, full.B().Dbsize().Build()).AsInt64(); err != nil || n != 1_000_000 {
		b.Fatalf("DBSIZE = %d, %v; want 1000000", n, err)
	}
	stores := []*fleet.Store{fleet.New(full, fleet.Options{}), fleet.New(empty, fleet.Options{})}

	var took [2][]time.Duration
	// clear pins ten sessions of one user on store i and times clearing them.
	clear := func(i int) time.Duration {
		s := stores[i]
		for m := range 10 {
			if err := s.PinSession(ctx, fleet.ProviderVLLM, "u-1", fmt.Sprintf("model-%d", m), "http://pod-1:8000"); err != nil {
				b.Fatal(err)
			}
		}
		t := time.Now()
		cleared, err := s.ClearAffinity(ctx, "u-1", nil)
		d := time.Since(t)
		if err != nil || cleared != 10 {
			b.Fatalf("cleared %d, %v; want 10", cleared, err)
		}
		return d
	}
	clear(0)
	clear(1)
	n := 0
	for b.Loop() {
		for range reps {
			for k := range stores {
				i := (k + n) % len(stores) // alternate which store goes first
				took[i] = append(took[i], clear(i))
			}
			n++
		}
	}
	reportRatio(b, "clear with 1M keys", took[0], "clear on empty store", took[1], "ratio_1M_keys_vs_empty")
}

// BenchmarkDemandRead compares reading the demand of a pod serving 20 models
// with one serving 1, and counts the round trips of each read from the
// writes that carry the pod's keys.
func BenchmarkDemandRead(b *testing.B) {
	srv := valkeytest.StartServer(b)
	c, log := loggingClient(b, fleet.ConnectOptions{Addrs: []string{srv.Addr()}})
	s := fleet.New(c, fleet.Options{})
	ctx := testContext(b)
	const pod20, pod1 = "http://pod-20-models:8000", "http://pod-1-model:8000"
	for m := range 20 {
		for range 3 {
			if _, err := s.StartRequest(ctx, pod20, fmt.Sprintf("model-%02d", m)); err != nil {
				b.Fatal(err)
			}
		}
	}
	for range 3 {
		if _, err := s.StartRequest(ctx, pod1, "model-00"); err != nil {
			b.Fatal(err)
		}
	}

	for _, pod := range []string{pod20, pod1} {
		if _, err := s.Demand(ctx, pod); err != nil {
			b.Fatal(err)
		}
	}
	var took [2][]time.Duration
	var trips [2]int
	n := 0
	for b.Loop() {
		for range reps {
			for i, pod := range []string{pod20, pod1} {
				log.Reset()
				t := time.Now()
				d, err := s.Demand(ctx, pod)
				took[i] = append(took[i], time.Since(t))
				trips[i] += log.Count(pod)
				if err != nil || d.Inflight == 0 {
					b.Fatalf("demand of %s = %+v, %v", pod, d, err)
				}
			}
			n++
		}
	}
	perRead20, perRead1 := float64(trips[0])/float64(n), float64(trips[1])/float64(n)
	b.ReportMetric(perRead20, "round_trips/read_20_models")
	b.ReportMetric(perRead1, "round_trips/read_1_model")
	b.ReportMetric(perRead20/perRead1, "round_trip_ratio_20_vs_1")
	b.Logf("demand read: %.2f round trips with 20 models, %.2f with 1 model", perRead20, perRead1)
	reportRatio(b, "demand of 20 models", took[0], "demand of 1 model", took[1], "ratio_20_vs_1_models")
}

// BenchmarkFleetDemand compares adding up the demand of 2,000 servers with
// that of 20, as a fleet summary does, and counts the round trips of each
// from the writes that carry demand keys. The client's write buffer is made
// large enough for the whole pipeline, so that one round trip is one write
// (with the default buffer a long pipeline leaves in several writes, still
// without waiting for any answer). A round-trip ratio of 1 shows the read
// costs a fixed number of round trips whatever the fleet's size; the time
// ratio shows the bytes still grow with it.
func BenchmarkFleetDemand(b *testing.B) {
	srv := valkeytest.StartServer(b)
	c, log := loggingClientWith(b, fleet.ConnectOptions{Addrs: []string{srv.Addr()}}, func(o *valkey.ClientOption) {
		o.WriteBufferEachConn = 32 << 20
	})
	s := fleet.New(c, fleet.Options{})
	ctx := testContext(b)
	fleets := [2][]string{make([]string, 2000), make([]string, 20)}
	for i, urls := range fleets {
		for j := range urls {
			urls[j] = fmt.Sprintf("http://fleet-%d-pod-%04d.runpod.internal:8000/v1", i, j)
			if _, err := s.StartRequest(ctx, urls[j], "model-00"); err != nil {
				b.Fatal(err)
			}
		}
	}
	read := func(urls []string) (time.Duration, int) {
		log.Reset()
		t := time.Now()
		d, err := s.FleetDemand(ctx, urls)
		took := time.Since(t)
		// The window is the fleet's: both sets' requests, whichever is read.
		if err != nil || d.Inflight != int64(len(urls)) || d.Requests5m != int64(len(fleets[0])+len(fleets[1])) {
			b.Fatalf("fleet demand of %d servers = %d in flight, %d in 5m, %v", len(urls), d.Inflight, d.Requests5m, err)
		}
		return took, log.Count("{aiadmin:dem:")
	}
	for _, urls := range fleets {
		read(urls)
	}

	var took [2][]time.Duration
	var trips [2]int
	n := 0
	for b.Loop() {
		for range reps {
			for i, urls := range fleets {
				d, k := read(urls)
				took[i] = append(took[i], d)
				trips[i] += k
			}
			n++
		}
	}
	per2000, per20 := float64(trips[0])/float64(n), float64(trips[1])/float64(n)
	b.ReportMetric(per2000, "round_trips/read_2000_servers")
	b.ReportMetric(per20, "round_trips/read_20_servers")
	b.ReportMetric(per2000/per20, "round_trip_ratio_2000_vs_20")
	b.Logf("fleet demand: %.2f round trips for 2,000 servers, %.2f for 20", per2000, per20)
	reportRatio(b, "fleet demand of 2000 servers", took[0], "fleet demand of 20 servers", took[1], "time_ratio_2000_vs_20")
}

// fillModel stores n URLs for model straight into its registry key, in
// pipelined batches, far faster than registering n servers.
func fillModel(b *testing.B, c valkey.Client, model string, n int) {
	b.Helper()
	ctx := testContext(b)
	const batch = 1000
	var cmds valkey.Commands
	for i := 0; i < n; i += batch {
		cmd := c.B().Zadd().Key(fleet.RegistryModelKey(model)).ScoreMember()
		for j := i; j < min(i+batch, n); j++ {
			cmd = cmd.ScoreMember(0, fmt.Sprintf("http://pod-%06d.runpod.internal:8000/v1", j))
		}
		cmds = append(cmds, cmd.Build())
	}
	for _, r := range c.DoMulti(ctx, cmds...) {
		if err := r.Error(); err != nil {
			b.Fatal(err)
		}
	}
}

// reportRatio reports the median time of each side and their ratio.
func reportRatio(b *testing.B, aName string, a []time.Duration, bName string, bDur []time.Duration, unit string) {
	b.Helper()
	medA, medB := float64(median(a).Nanoseconds()), float64(median(bDur).Nanoseconds())
	b.ReportMetric(medA, "ns/"+sanitize(aName))
	b.ReportMetric(medB, "ns/"+sanitize(bName))
	b.ReportMetric(medA/medB, unit)
	b.Logf("%s: %.0f ns, %s: %.0f ns, %s = %.2f (medians of %d runs each)", aName, medA, bName, medB, unit, medA/medB, len(a))
}

// median is the middle duration of ds: a scheduling hiccup on a shared
// machine moves a mean, not a median.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// sanitize makes a metric unit of a phrase: units may not hold spaces.
func sanitize(s string) string {
	out := []byte(s)
	for i, c := range out {
		if c == ' ' {
			out[i] = '_'
		}
	}
	return string(out)
}
