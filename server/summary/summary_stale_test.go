package summary_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/clients/clocktest"
	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
	"github.com/threatwinds/aiadmin/clients/runpod"
	"github.com/threatwinds/aiadmin/clients/runpod/standin"
	"github.com/threatwinds/aiadmin/server/pods"
	"github.com/threatwinds/aiadmin/server/summary"
)

const runpodKey = "rpa_SUMMARYTESTKEY42"

// gatedServers reads the pool from the real store, counting the reads (one
// per computation of the summary); while held, a read waits for release,
// and with failing set it fails.
type gatedServers struct {
	store   *fleet.Store
	calls   atomic.Int64
	waiting atomic.Int64
	failing atomic.Bool

	mu   sync.Mutex
	gate chan struct{}
}

func (g *gatedServers) Servers(ctx context.Context) ([]fleet.Server, error) {
	g.calls.Add(1)
	g.mu.Lock()
	gate := g.gate
	g.mu.Unlock()
	if gate != nil {
		g.waiting.Add(1)
		defer g.waiting.Add(-1)
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if g.failing.Load() {
		return nil, errors.New("the pool could not be read")
	}
	return g.store.Servers(ctx)
}

// hold makes reads wait until the returned release is called.
func (g *gatedServers) hold() (release func()) {
	ch := make(chan struct{})
	g.mu.Lock()
	g.gate = ch
	g.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			g.gate = nil
			g.mu.Unlock()
			close(ch)
		})
	}
}

// eventually polls cond until it holds or the test's patience runs out.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// newSummarizer is a summarizer over 12 pods of the RunPod stand-in, the
// pool in a real Valkey, and a manual clock shared with the pod catalog.
func newSummarizer(t *testing.T) (*summary.Summarizer, *gatedServers, *clocktest.Clock) {
	t.Helper()
	vk := valkeytest.StartServer(t)
	client, err := fleet.Connect(t.Context(), fleet.ConnectOptions{Addrs: []string{vk.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	store := fleet.New(client, fleet.Options{})
	if err := store.RegisterServer(t.Context(), fleet.ProviderVLLM, "http://10.0.0.1:8000/v1", []string{"qwen-27b"}); err != nil {
		t.Fatal(err)
	}
	st := standin.NewServer(runpodKey, standin.DemoPods(12, "aiapi-dev")...)
	rp, err := runpod.New(runpod.Options{URL: st.Start(t), APIKey: runpodKey})
	if err != nil {
		t.Fatal(err)
	}
	clock := clocktest.New(time.Unix(1_700_000_000, 0))
	catalog := pods.New(rp, store, pods.Options{Prefix: "aiapi-dev-", CacheTTL: time.Hour, Now: clock.Now})
	t.Cleanup(catalog.Close)
	servers := &gatedServers{store: store}
	s := summary.New(catalog, servers, store, summary.Options{TTL: 5 * time.Second, MaxStale: time.Minute, Now: clock.Now})
	t.Cleanup(s.Close)
	return s, servers, clock
}

// summaries asks for the summary n times at once, each giving up after a
// few seconds, and returns the first failure.
func summaries(t *testing.T, s *summary.Summarizer, n int) error {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			sum, err := s.Summary(ctx)
			if err == nil && (sum.Pods != 12 || len(sum.Providers) != 3 || sum.Providers[0].Servers != 1) {
				err = fmt.Errorf("summary %+v, want 12 pods and one vllm server", sum)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// TestSummaryComputedOncePerTTLServedWhileRecomputed: concurrent callers
// share one computation; within the TTL nothing is computed again; past it
// the last summary is answered at once while one recomputation runs, held
// here until late in MaxStale, for a hundred callers at a time.
func TestSummaryComputedOncePerTTLServedWhileRecomputed(t *testing.T) {
	s, servers, clock := newSummarizer(t)
	if err := summaries(t, s, 100); err != nil {
		t.Fatal(err)
	}
	if got := servers.calls.Load(); got != 1 {
		t.Fatalf("100 concurrent first callers made %d computations, want 1", got)
	}
	clock.Advance(4 * time.Second)
	if err := summaries(t, s, 100); err != nil || servers.calls.Load() != 1 {
		t.Fatalf("within the TTL: %v, %d computations; want the first", err, servers.calls.Load())
	}

	release := servers.hold()
	defer release()
	clock.Advance(time.Second)
	if err := summaries(t, s, 100); err != nil {
		t.Fatalf("at the TTL, with the recomputation held: %v; want the last summary at once", err)
	}
	eventually(t, "the recomputation starts", func() bool { return servers.waiting.Load() == 1 })
	clock.Advance(54 * time.Second)
	if err := summaries(t, s, 100); err != nil {
		t.Fatalf("59s old: %v", err)
	}
	if got := servers.calls.Load(); got != 2 {
		t.Errorf("%d computations, want 2: one recomputation at a time", got)
	}
	release()
	eventually(t, "the recomputation goes on", func() bool { return servers.waiting.Load() == 0 })
	// 63s after the first computation: only the recomputation, kept, makes
	// this a fresh summary rather than one past MaxStale.
	clock.Advance(4 * time.Second)
	if err := summaries(t, s, 100); err != nil || servers.calls.Load() != 2 {
		t.Errorf("after the recomputation: %v, %d computations; want its summary", err, servers.calls.Load())
	}
}

// TestSummaryPastMaxStaleWaitsAndFails: when every recomputation fails, the
// last summary is served until MaxStale; after that a caller waits for the
// computation and gets its error.
func TestSummaryPastMaxStaleWaitsAndFails(t *testing.T) {
	s, servers, clock := newSummarizer(t)
	if err := summaries(t, s, 1); err != nil {
		t.Fatal(err)
	}
	servers.failing.Store(true)
	clock.Advance(30 * time.Second)
	if err := summaries(t, s, 10); err != nil {
		t.Fatalf("30s old with the pool failing: %v, want the last summary", err)
	}
	clock.Advance(30 * time.Second)
	if _, err := s.Summary(t.Context()); err == nil {
		t.Fatal("60s old with the pool failing: no error, want the computation's")
	}
	servers.failing.Store(false)
	if err := summaries(t, s, 1); err != nil {
		t.Errorf("once the pool answers: %v", err)
	}
}
