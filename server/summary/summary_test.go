package summary_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/clients/clocktest"
	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
	"github.com/threatwinds/aiadmin/server/pods"
	"github.com/threatwinds/aiadmin/server/summary"
)

// gatedPods is a pod list whose reads can be held, counting them.
type gatedPods struct {
	pods  []pods.Pod
	gate  chan struct{}
	reads atomic.Int64
}

func (g *gatedPods) Fleet(ctx context.Context) ([]pods.Pod, pods.Freshness, error) {
	g.reads.Add(1)
	select {
	case <-g.gate:
	case <-ctx.Done():
		return nil, pods.Freshness{}, ctx.Err()
	}
	return g.pods, pods.Freshness{}, nil
}

// TestStaleSummaryIsServedWhileOneRefreshRuns checks the sharing of the
// summary: within the TTL no computation; past it and within MaxStale the
// last summary at once while a single background refresh runs; past
// MaxStale callers wait for a fresh one.
func TestStaleSummaryIsServedWhileOneRefreshRuns(t *testing.T) {
	ctx := context.Background()
	srv := valkeytest.StartServer(t)
	c, err := fleet.Connect(ctx, fleet.ConnectOptions{Addrs: []string{srv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	clock := clocktest.New(time.Date(2026, 6, 25, 10, 0, 0, 0, time.UTC))
	src := &gatedPods{gate: make(chan struct{}), pods: []pods.Pod{{ID: "a", DesiredStatus: "RUNNING", CostPerHr: 1, URL: "https://a.example/v1"}}}
	s := summary.New(src, fixedServers{}, fleet.New(c, fleet.Options{Now: clock.Now}),
		summary.Options{TTL: 5 * time.Second, MaxStale: time.Minute, Now: clock.Now})
	t.Cleanup(s.Close)

	close(src.gate)
	first, err := s.Summary(ctx)
	if err != nil || first.Pods != 1 || src.reads.Load() != 1 {
		t.Fatalf("first summary %+v, %v, %d reads", first, err, src.reads.Load())
	}
	clock.Advance(4 * time.Second)
	if _, err := s.Summary(ctx); err != nil || src.reads.Load() != 1 {
		t.Fatalf("within the TTL: %v, %d reads, want 1", err, src.reads.Load())
	}

	// Past the TTL: the stale summary comes back at once, however many
	// ask, while one refresh waits at the gate.
	src.gate = make(chan struct{})
	src.pods = append(src.pods, pods.Pod{ID: "b", DesiredStatus: "EXITED", URL: "https://b.example/v1"})
	clock.Advance(2 * time.Second)
	for range 20 {
		got, err := s.Summary(ctx)
		if err != nil || got.Pods != 1 {
			t.Fatalf("stale summary %+v, %v; want the last one at once", got, err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for src.reads.Load() != 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := src.reads.Load(); n != 2 {
		t.Fatalf("%d pod list reads after 20 stale calls, want 2 (one background refresh)", n)
	}
	close(src.gate)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if got, _ := s.Summary(ctx); got.Pods == 2 {
			break
		}
	}
	if got, _ := s.Summary(ctx); got.Pods != 2 || src.reads.Load() != 2 {
		t.Fatalf("after the refresh: %d pods, %d reads; want 2 and 2", got.Pods, src.reads.Load())
	}

	// Past MaxStale a caller waits for a fresh summary.
	clock.Advance(2 * time.Minute)
	src.pods = src.pods[:1]
	if got, err := s.Summary(ctx); err != nil || got.Pods != 1 || src.reads.Load() != 3 {
		t.Fatalf("past MaxStale: %+v, %v, %d reads; want a fresh summary", got, err, src.reads.Load())
	}
}
