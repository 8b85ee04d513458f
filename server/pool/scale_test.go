package pool_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/server/pool"
)

// The fleet of the scale requirement: 2,000 registered servers, 500 of which
// accept the connection and never answer, probed with the production
// interval and timeout.
const (
	scaleServers  = 2000
	scaleSilent   = 500
	scaleInterval = 10 * time.Second
	scaleTimeout  = 2 * time.Second
)

// scaleServer is where a server of the scale fleet answers: the name of its
// script on a loopback stand-in, or no stand-in for a silent one.
type scaleServer struct {
	in   *standIn
	name string
}

// scaleFleet registers the scale fleet on loopback stand-ins and returns
// loaded tables, the store, the silent URLs, and every URL's stand-in.
func scaleFleet(tb testing.TB) (*pool.Tables, *fleet.Store, map[string]bool, map[string]scaleServer) {
	_, client, store := standalone(tb)
	ctx := testContext(tb)
	var answering []*standIn
	for range 10 {
		answering = append(answering, newStandIn(tb, time.Second, ""))
	}
	var silentHosts []string
	for range 5 {
		silentHosts = append(silentHosts, silentListener(tb))
	}
	urls := make([]string, 0, scaleServers)
	silent := map[string]bool{}
	servers := map[string]scaleServer{}
	for i := range scaleServers {
		if i%4 == 0 { // every fourth: 500 of 2,000
			u := fmt.Sprintf("%s/silent-%d/v1", silentHosts[i%len(silentHosts)], i)
			silent[u] = true
			servers[u] = scaleServer{}
			urls = append(urls, u)
			continue
		}
		in, name := answering[i%len(answering)], fmt.Sprintf("pod-%d", i)
		u := in.add(name, "S")
		servers[u] = scaleServer{in: in, name: name}
		urls = append(urls, u)
	}
	if len(silent) != scaleSilent {
		tb.Fatalf("%d silent servers, want %d", len(silent), scaleSilent)
	}
	// Registered concurrently: valkey-go pipelines the scripts.
	var wg sync.WaitGroup
	errs := make(chan error, len(fleet.Providers))
	for pi, p := range fleet.Providers {
		wg.Go(func() {
			for i := pi; i < len(urls); i += len(fleet.Providers) {
				if err := store.RegisterServer(ctx, p, urls[i], []string{"m"}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	tables := pool.NewTables(client, store, pool.TablesOptions{})
	if err := tables.Reload(ctx); err != nil {
		tb.Fatal(err)
	}
	if n := len(tables.Snapshot().URLs()); n != scaleServers {
		tb.Fatalf("%d servers in the tables, want %d", n, scaleServers)
	}
	return tables, store, silent, servers
}

// TestProbeRoundOf2000With500Silent runs exactly one round over the scale
// fleet with the default concurrency and checks that every server was
// probed exactly once and got its result within the round, with the right
// verdict. Whether the round fits the interval is a matter of the machine's
// load, so its wall time against the interval is only logged; the benchmark
// reports it.
func TestProbeRoundOf2000With500Silent(t *testing.T) {
	tables, store, silent, servers := scaleFleet(t)
	ctx := testContext(t)
	p := pool.NewProber(tables, store, pool.ProberOptions{Interval: scaleInterval, Timeout: scaleTimeout})
	defer p.CloseIdleConnections()

	start := time.Now()
	r, err := p.ProbeOnce(ctx)
	end := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("one round of %d servers (%d silent), concurrency %d: %s, %.2f of the %s interval",
		r.Servers, scaleSilent, pool.DefaultProbeConcurrency, r.Elapsed.Round(time.Millisecond),
		r.Elapsed.Seconds()/scaleInterval.Seconds(), scaleInterval)
	if r.Servers != scaleServers || r.Succeeded != scaleServers-scaleSilent || r.Failed != scaleSilent || r.WriteErrors != 0 {
		t.Errorf("round = %+v; want %d succeeded, %d failed, no write errors", r, scaleServers-scaleSilent, scaleSilent)
	}

	// Every answering server saw exactly one probe, at its own path. With
	// that, the 500 failures recorded for the 500 silent URLs below are one
	// probe each.
	standIns := map[*standIn]bool{}
	for u, s := range servers {
		if s.in == nil {
			continue
		}
		if n := s.in.hits.get(s.name); n != 1 {
			t.Errorf("%s: probed %d times in one round, want 1", u, n)
		}
		standIns[s.in] = true
	}
	for in := range standIns {
		if n := in.stray.total(); n != 0 {
			t.Errorf("%s: %d requests outside the probe paths", in.srv.URL, n)
		}
	}

	urls := tables.Snapshot().URLs()
	hs := health(t, store, urls...)
	var healthy, unhealthy int
	for i, h := range hs {
		u := urls[i]
		if h.LastCheckMs < start.UnixMilli() || h.LastCheckMs > end.UnixMilli() {
			t.Errorf("%s: last_check_ms %d outside the round [%d, %d]", u, h.LastCheckMs, start.UnixMilli(), end.UnixMilli())
			continue
		}
		// A first probe decides an unknown server and starts its counters
		// at one.
		wantHealthy := !silent[u]
		if h.Healthy == nil || *h.Healthy != wantHealthy {
			t.Errorf("%s: healthy %v, want %v", u, h.Healthy, wantHealthy)
			continue
		}
		if wantHealthy {
			if h.ConsecutiveSuccesses != 1 || h.ConsecutiveFailures != 0 || h.LastFailureMs != 0 {
				t.Errorf("%s: %+v, want one success and no failure", u, h)
				continue
			}
			healthy++
		} else {
			if h.ConsecutiveFailures != 1 || h.ConsecutiveSuccesses != 0 || h.LastFailureMs != h.LastCheckMs {
				t.Errorf("%s: %+v, want one failure at the last check", u, h)
				continue
			}
			unhealthy++
		}
	}
	if healthy != scaleServers-scaleSilent || unhealthy != scaleSilent {
		t.Errorf("%d healthy and %d unhealthy servers checked within the round, want %d and %d",
			healthy, unhealthy, scaleServers-scaleSilent, scaleSilent)
	}
}

// BenchmarkProbeRound runs rounds over the scale fleet at several
// concurrencies and reports each round's wall time as a fraction of the
// interval (round/interval; above 1 the fleet cannot be probed every
// interval). Run with -benchtime=1x: one round takes seconds.
func BenchmarkProbeRound(b *testing.B) {
	tables, store, _, _ := scaleFleet(b)
	ctx := testContext(b)
	for _, c := range []int{64, 128, pool.DefaultProbeConcurrency} {
		b.Run(fmt.Sprintf("concurrency=%d", c), func(b *testing.B) {
			p := pool.NewProber(tables, store, pool.ProberOptions{Interval: scaleInterval, Timeout: scaleTimeout, Concurrency: c})
			defer p.CloseIdleConnections()
			var total time.Duration
			n := 0
			for b.Loop() {
				r, err := p.ProbeOnce(ctx)
				if err != nil || r.Succeeded+r.Failed != scaleServers {
					b.Fatalf("round = %+v, %v", r, err)
				}
				total += r.Elapsed
				n++
			}
			ratio := total.Seconds() / float64(n) / scaleInterval.Seconds()
			b.ReportMetric(ratio, "round/interval")
			b.Logf("concurrency %d: %s per round, %.2f of the interval", c, (total / time.Duration(n)).Round(time.Millisecond), ratio)
		})
	}
}
