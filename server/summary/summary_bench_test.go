package summary_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
	"github.com/threatwinds/aiadmin/clients/runpod"
	"github.com/threatwinds/aiadmin/clients/runpod/standin"
	"github.com/threatwinds/aiadmin/server/pods"
	"github.com/threatwinds/aiadmin/server/summary"
)

// fixedServers is a pool of servers known up front.
type fixedServers []fleet.Server

func (f fixedServers) Servers(context.Context) ([]fleet.Server, error) { return f, nil }

// countingState counts the store calls of one computation; each is one
// round trip (one per cluster node) by the fleet library's contract.
type countingState struct {
	summary.StateReader
	calls atomic.Int64
}

func (c *countingState) HealthMany(ctx context.Context, urls []string) ([]fleet.ServerHealth, error) {
	c.calls.Add(1)
	return c.StateReader.HealthMany(ctx, urls)
}

func (c *countingState) Drains(ctx context.Context) (map[string]fleet.Drain, error) {
	c.calls.Add(1)
	return c.StateReader.Drains(ctx)
}

func (c *countingState) FleetDemand(ctx context.Context, urls []string) (fleet.DemandTotals, error) {
	c.calls.Add(1)
	return c.StateReader.FleetDemand(ctx, urls)
}

// fleetOf builds a summarizer over nPods stand-in pods and nServers
// registered servers with health, demand and a drain, on its own store.
func fleetOf(b *testing.B, nPods, nServers int) (*summary.Summarizer, *countingState) {
	b.Helper()
	ctx := context.Background()
	srv := valkeytest.StartServer(b)
	c, err := fleet.Connect(ctx, fleet.ConnectOptions{Addrs: []string{srv.Addr()}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	st := fleet.New(c, fleet.Options{})
	standIn := standin.NewServer("bench-key", standin.DemoPods(nPods, "aiapi-dev")...)
	rp, err := runpod.New(runpod.Options{URL: standIn.Start(b), APIKey: "bench-key", Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	catalog := pods.New(rp, st, pods.Options{Prefix: "aiapi-dev-", CacheTTL: time.Hour})
	b.Cleanup(catalog.Close)
	servers := make(fixedServers, nServers)
	up := true
	for i := range servers {
		servers[i] = fleet.Server{Provider: fleet.Providers[i%len(fleet.Providers)], URL: fmt.Sprintf("https://srv-%05d.example/v1", i)}
		if err := st.RecordHealth(ctx, servers[i].URL, fleet.ServerHealth{Healthy: &up}); err != nil {
			b.Fatal(err)
		}
		if i%10 == 0 {
			if _, err := st.StartRequest(ctx, servers[i].URL, "m"); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := st.Drain(ctx, servers[0].URL, "bench"); err != nil {
		b.Fatal(err)
	}
	state := &countingState{StateReader: st}
	return summary.New(catalog, servers, state, summary.Options{}), state
}

// BenchmarkFleetSummary compares computing the summary (TTL 0: no sharing)
// of 5,000 pods and 2,000 servers with 50 pods and 20 servers, both from a
// warm pod list. The store calls stay three whatever the size; the time
// ratio is what the size costs in work on the wire and in the process.
// It also reports the cost of a call served within the TTL at either size.
func BenchmarkFleetSummary(b *testing.B) {
	ctx := context.Background()
	big, bigState := fleetOf(b, 5000, 2000)
	small, smallState := fleetOf(b, 50, 20)
	compute := func(s *summary.Summarizer, st *countingState, wantPods int64) time.Duration {
		before := st.calls.Load()
		t := time.Now()
		sum, err := s.Summary(ctx)
		took := time.Since(t)
		if err != nil || sum.Pods != wantPods {
			b.Fatalf("summary: %d pods, %v; want %d", sum.Pods, err, wantPods)
		}
		if n := st.calls.Load() - before; n != 3 {
			b.Fatalf("%d store calls for one summary of %d pods, want 3", n, wantPods)
		}
		return took
	}
	compute(big, bigState, 5000)
	compute(small, smallState, 50)
	const reps = 10
	var bigT, smallT []time.Duration
	for b.Loop() {
		for range reps {
			bigT = append(bigT, compute(big, bigState, 5000))
			smallT = append(smallT, compute(small, smallState, 50))
		}
	}
	bm, sm := median(bigT), median(smallT)
	b.ReportMetric(3, "store_calls/summary")
	b.ReportMetric(float64(bm)/float64(sm), "ratio_5000pods_vs_50")
	b.Logf("summary of 5,000 pods and 2,000 servers: median %v; of 50 pods and 20 servers: %v; ratio %.2f; 3 store calls each",
		bm, sm, float64(bm)/float64(sm))
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
