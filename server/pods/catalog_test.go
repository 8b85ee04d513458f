package pods

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/clients/clocktest"
	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/runpod"
	"github.com/threatwinds/aiadmin/clients/runpod/standin"
	"github.com/threatwinds/aiadmin/server/contracttest"
)

// catalogEventually polls cond until it holds or the test's patience runs out.
func catalogEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

const testRunPodKey = "rpa_CATALOGTESTKEY0123"

// newTestRunPod returns a client of the stand-in at url.
func newTestRunPod(t testing.TB, url string) *runpod.Client {
	t.Helper()
	c, err := runpod.New(runpod.Options{URL: url, APIKey: testRunPodKey, Timeout: 10 * time.Second, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// noState is a fleet state in which no URL is known; it leaves Models nil
// to check that the catalog never answers a nil list.
type noState struct{ calls atomic.Int64 }

func (s *noState) BackendStates(_ context.Context, urls []string) ([]fleet.BackendState, error) {
	s.calls.Add(1)
	out := make([]fleet.BackendState, len(urls))
	for i, u := range urls {
		out[i] = fleet.BackendState{URL: u}
	}
	return out, nil
}

func TestKind(t *testing.T) {
	tests := []struct{ name, prefix, want string }{
		{"aiapi-dev-vllm-qwen3-6-27b-fp8-1", "aiapi-dev-", "vllm-qwen3-6-27b-fp8"},
		{"aiapi-dev-vllm-qwen3-6-27b-fp8-12", "aiapi-dev", "vllm-qwen3-6-27b-fp8"},
		{"aiapi-dev-vllm-qwen3-6-27b-fp8", "aiapi-dev-", "vllm-qwen3-6-27b-fp8"},
		{"vllm-qwen3-6-27b-fp8-3", "", "vllm-qwen3-6-27b-fp8"},
		{"speaches-whisper-large-v3", "", "speaches-whisper-large-v3"},
		{"jupyter-scratch", "", "jupyter-scratch"},
		{"aiapi-dev-sglang-7b-", "aiapi-dev-", "sglang-7b-"},
		{"aiapi-dev-42", "aiapi-dev-", "42"},
		{"aiapi-dev--7", "aiapi-dev-", "-7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Kind(tc.name, tc.prefix); got != tc.want {
				t.Errorf("Kind(%q, %q) = %q, want %q", tc.name, tc.prefix, got, tc.want)
			}
		})
	}
}

// TestPodCatalogOrderPrefixAndEmptyLists checks selection by prefix, the
// order by name then id, paging past the end, and that no list is nil.
func TestPodCatalogOrderPrefixAndEmptyLists(t *testing.T) {
	standIn := standin.NewServer(testRunPodKey,
		standin.Pod{ID: "zzz1", Name: "aiapi-dev-vllm-a-2", DesiredStatus: "RUNNING", GPUCount: 1, MachineID: "m"},
		standin.Pod{ID: "bbb2", Name: "aiapi-dev-vllm-a-1", DesiredStatus: "RUNNING", GPUCount: 1, MachineID: "m"},
		standin.Pod{ID: "aaa3", Name: "aiapi-dev-vllm-a-1", DesiredStatus: "RUNNING", GPUCount: 1, MachineID: "m"},
		standin.Pod{ID: "ccc4", Name: "jupyter-scratch", DesiredStatus: "EXITED", GPUCount: 1, MachineID: "m"},
		standin.Pod{ID: "ddd5", Name: "aiapi-prod-vllm-a-1", DesiredStatus: "RUNNING", GPUCount: 1, MachineID: "m"},
	)
	src := newTestRunPod(t, standIn.Start(t))
	state := &noState{}
	ctx := t.Context()

	c := New(src, state, Options{Prefix: "aiapi-dev-", URLTemplate: "http://{id}.pods.test:8000/v1"})
	pods, total, err := listOf(c, ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range pods {
		ids = append(ids, p.ID)
		if p.Models == nil {
			t.Errorf("pod %s: models is nil", p.ID)
		}
		if p.Healthy != nil {
			t.Errorf("pod %s: healthy = %v for a URL in no pool, want nil", p.ID, *p.Healthy)
		}
		if p.Kind != "vllm-a" {
			t.Errorf("pod %s: kind %q", p.ID, p.Kind)
		}
	}
	if d := cmp.Diff([]string{"aaa3", "bbb2", "zzz1"}, ids); d != "" || total != 3 {
		t.Errorf("total %d, ids (-want +got):\n%s", total, d)
	}

	calls := state.calls.Load()
	pods, total, err = listOf(c, ctx, 1, 1)
	if err != nil || len(pods) != 1 || pods[0].ID != "bbb2" || total != 3 {
		t.Errorf("second page of one: %+v, %d, %v", pods, total, err)
	}
	if n := state.calls.Load() - calls; n != 1 {
		t.Errorf("a page read the fleet state %d times, want once", n)
	}
	calls = state.calls.Load()
	pods, total, err = listOf(c, ctx, 30, 10)
	if err != nil || pods == nil || len(pods) != 0 || total != 3 {
		t.Errorf("past the end: %#v, %d, %v; want an empty list", pods, total, err)
	}
	if state.calls.Load() != calls {
		t.Errorf("an empty page read the fleet state")
	}

	all := New(src, state, Options{})
	_, total, err = listOf(all, ctx, 0, 1)
	if err != nil || total != 5 {
		t.Errorf("empty prefix selects %d pods, want 5 (err %v)", total, err)
	}

	if _, _, err := c.Get(ctx, "ccc4"); !errors.Is(err, ErrPodNotFound) {
		t.Errorf("pod outside the prefix: err = %v, want %v", err, ErrPodNotFound)
	}
	d, _, err := c.Get(ctx, "zzz1")
	if err != nil || d.Kind != "vllm-a" || d.Models == nil {
		t.Errorf("GetPod = %+v, %v", d, err)
	}
}

// TestPodCatalogCacheExpires checks that the pod list is served from the
// cache until its TTL passes on the catalog's clock, and is then refreshed
// once (in the background: each step waits for the refresh to end).
func TestPodCatalogCacheExpires(t *testing.T) {
	standIn := standin.NewServer(testRunPodKey, standin.DemoPods(12, "aiapi-dev")...)
	src := newTestRunPod(t, standIn.Start(t))
	clock := clocktest.New(time.Unix(1_700_000_000, 0))
	c := New(src, &noState{}, Options{Prefix: "aiapi-dev-", CacheTTL: 5 * time.Second, Now: clock.Now})
	list := func() {
		t.Helper()
		if _, total, err := listOf(c, t.Context(), 0, 10); err != nil || total != 12 {
			t.Fatalf("ListPods: total %d, %v", total, err)
		}
	}
	steps := []struct {
		advance time.Duration
		want    int
	}{
		{0, 1},
		{0, 1},
		{4999 * time.Millisecond, 1},
		{time.Millisecond, 2}, // exactly the TTL after the fetch
		{time.Second, 2},
		{10 * time.Second, 3},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		list()
		c.refreshes.Wait()
		if got := standIn.Calls(standin.OpMyself); got != s.want {
			t.Errorf("step %d: %d upstream list calls, want %d", i, got, s.want)
		}
	}
}

// gatedSource is a Source whose ListPods blocks until released.
type gatedSource struct {
	Source
	release chan struct{}
	calls   atomic.Int64
	pods    []runpod.Pod
}

func (g *gatedSource) ListPods(ctx context.Context) ([]runpod.Pod, error) {
	g.calls.Add(1)
	select {
	case <-g.release:
		return g.pods, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// listOf is c.List as its page's pods and total.
func listOf(c *Catalog, ctx context.Context, offset, limit int64) ([]Pod, int64, error) {
	p, err := c.List(ctx, offset, limit)
	return p.Pods, p.Total, err
}

// waiters is how many callers wait for a list fetch.
func (c *Catalog) waiters() int { return int(c.waiting.Load()) }

// TestPodCatalogCollapsesConcurrentFetches proves the singleflight alone,
// with a clock that makes every cached list stale at once: callers that
// arrive while a fetch is in flight share it. It runs in a synctest bubble:
// synctest.Wait returns once every caller is blocked in the shared call, so
// "every caller has joined" is a fact; a count of callers taken before they
// reach the call would let a late one start a second call.
func TestPodCatalogCollapsesConcurrentFetches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &gatedSource{release: make(chan struct{}), pods: []runpod.Pod{{ID: "a1", Name: "vllm-1"}}}
		clock := clocktest.New(time.Unix(1_700_000_000, 0))
		c := New(src, &noState{}, Options{Now: func() time.Time { clock.Advance(time.Hour); return clock.Now() }})
		defer c.Close()

		const n = 200
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				_, total, err := listOf(c, context.Background(), 0, 10)
				if err == nil && total != 1 {
					err = errors.New("wrong total")
				}
				errs <- err
			})
		}
		synctest.Wait()
		if got := c.waiters(); got != n {
			t.Fatalf("%d callers wait for the fetch, want %d", got, n)
		}
		close(src.release)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got := src.calls.Load(); got != 1 {
			t.Errorf("%d concurrent lists made %d upstream calls, want 1", n, got)
		}
	})
}

// TestPodCatalogWaiterGivesUp checks that a caller whose context ends stops
// waiting, while the fetch goes on and serves the others.
func TestPodCatalogWaiterGivesUp(t *testing.T) {
	src := &gatedSource{release: make(chan struct{}), pods: []runpod.Pod{{ID: "a1", Name: "vllm-1"}}}
	c := New(src, &noState{}, Options{})

	ctx, cancel := context.WithCancel(t.Context())
	gaveUp := make(chan error, 1)
	go func() { _, _, err := listOf(c, ctx, 0, 10); gaveUp <- err }()
	stayed := make(chan error, 1)
	go func() { _, _, err := listOf(c, t.Context(), 0, 10); stayed <- err }()
	catalogEventually(t, "both callers wait", func() bool { return c.waiters() == 2 })
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) || !errors.Is(err, ErrRequestTimedOut) {
		t.Errorf("the cancelled caller got %v, want %v and %v", err, ErrRequestTimedOut, context.Canceled)
	}
	close(src.release)
	if err := <-stayed; err != nil {
		t.Errorf("the other caller got %v", err)
	}
	if _, _, err := listOf(c, t.Context(), 0, 10); err != nil || src.calls.Load() != 1 {
		t.Errorf("after the fetch: %v, %d calls; want the cached list", err, src.calls.Load())
	}
}

// TestPodCatalogInvalidateDuringFetch checks that a list fetched before an
// invalidation is not cached: it may predate the restart.
func TestPodCatalogInvalidateDuringFetch(t *testing.T) {
	src := &gatedSource{release: make(chan struct{}), pods: []runpod.Pod{{ID: "a1", Name: "vllm-1"}}}
	c := New(src, &noState{}, Options{})
	done := make(chan error, 1)
	go func() { _, _, err := listOf(c, t.Context(), 0, 10); done <- err }()
	catalogEventually(t, "the fetch starts", func() bool { return c.waiters() == 1 })
	c.Invalidate()
	close(src.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, _, err := listOf(c, t.Context(), 0, 10); err != nil {
		t.Fatal(err)
	}
	if got := src.calls.Load(); got != 2 {
		t.Errorf("%d upstream calls, want 2: the list fetched across the invalidation was cached", got)
	}
}

// lockRefs is how many restarts hold or await the lock of pod id.
func (l *podLocks) lockRefs(id string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if pl := l.held[id]; pl != nil {
		return pl.refs
	}
	return 0
}

// TestConcurrentRestartsOfOnePodDoNotInterleave holds the first restart's
// stop at the stand-in until the second restart waits for the pod, then
// checks that RunPod saw one whole restart after the other.
func TestConcurrentRestartsOfOnePodDoNotInterleave(t *testing.T) {
	const id = "inzk6tzuz833h5"
	standIn := standin.NewServer(testRunPodKey,
		standin.Pod{ID: id, Name: "aiapi-dev-vllm-a-1", DesiredStatus: "RUNNING", GPUCount: 2, MachineID: "m"})
	rec, url := contracttest.StartOpRecorder(t, standIn)
	c := New(newTestRunPod(t, url), &noState{}, Options{Prefix: "aiapi-dev-"})

	release := rec.Hold(standin.OpPodStop)
	defer release()
	errs := make(chan error, 2)
	go func() { errs <- c.Restart(t.Context(), id) }()
	catalogEventually(t, "the first stop reaches RunPod", func() bool { return slices.Contains(rec.Log(), "podStop begin") })
	go func() { errs <- c.Restart(t.Context(), id) }()
	catalogEventually(t, "the second restart waits", func() bool { return c.locks.lockRefs(id) == 2 })
	release()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	one := contracttest.RestartCalls
	if d := cmp.Diff(append(slices.Clone(one), one...), rec.Log()); d != "" {
		t.Errorf("RunPod's calls (-want +got):\n%s", d)
	}
	if n := c.locks.size(); n != 0 {
		t.Errorf("%d pod locks left after the restarts, want 0", n)
	}
	if p, _ := standIn.Pod(id); p.DesiredStatus != standin.StatusRunning || p.GPUCount != 2 {
		t.Errorf("pod after the restarts: %+v", p)
	}
}

// TestRestartLocksArePerPod checks that a restart waits only for restarts of
// its own pod, that a waiter whose context ends gives up without calling
// RunPod, and that no lock outlives its restarts.
func TestRestartLocksArePerPod(t *testing.T) {
	standIn := standin.NewServer(testRunPodKey,
		standin.Pod{ID: "busy1", Name: "vllm-a-1", DesiredStatus: "RUNNING", GPUCount: 1, MachineID: "m"},
		standin.Pod{ID: "free2", Name: "vllm-a-2", DesiredStatus: "RUNNING", GPUCount: 1, MachineID: "m"})
	c := New(newTestRunPod(t, standIn.Start(t)), &noState{}, Options{})

	unlock, err := c.locks.lock(t.Context(), "busy1")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(t.Context(), "free2"); err != nil {
		t.Fatalf("restarting another pod: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	gaveUp := make(chan error, 1)
	go func() { gaveUp <- c.Restart(ctx, "busy1") }()
	catalogEventually(t, "the restart waits", func() bool { return c.locks.lockRefs("busy1") == 2 })
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) || !errors.Is(err, ErrRestartInProgress) {
		t.Errorf("the waiting restart: err = %v, want %v and %v", err, ErrRestartInProgress, context.Canceled)
	}
	if got := c.locks.lockRefs("busy1"); got != 1 {
		t.Errorf("refs after the waiter gave up = %d, want 1", got)
	}
	unlock()
	if n := c.locks.size(); n != 0 {
		t.Errorf("%d pod locks left, want 0", n)
	}
	if got := standIn.Calls(standin.OpPodStop); got != 1 {
		t.Errorf("%d stops, want 1 (free2 only)", got)
	}
}

// TestRestartRefusesPodWithoutGPUs checks that a pod that could not be
// resumed is never stopped.
func TestRestartRefusesPodWithoutGPUs(t *testing.T) {
	standIn := standin.NewServer(testRunPodKey,
		standin.Pod{ID: "cpu1", Name: "vllm-a-1", DesiredStatus: "RUNNING", GPUCount: 0, MachineID: "m"})
	c := New(newTestRunPod(t, standIn.Start(t)), &noState{}, Options{})
	err := c.Restart(t.Context(), "cpu1")
	var pe *CallError
	if !errors.As(err, &pe) || pe.Call != CallGet {
		t.Fatalf("err = %v, want a failed read", err)
	}
	if got := standIn.Calls(standin.OpPodStop); got != 0 {
		t.Errorf("%d stops of a pod that cannot be resumed", got)
	}
}

// TestListWhoseContextEndsWhileWaitingIs503 checks that a list whose context
// ends while it waits for the fetch in flight is answered 503, not 500.
func TestListWhoseContextEndsWhileWaitingIs503(t *testing.T) {
	src := &gatedSource{release: make(chan struct{}), pods: []runpod.Pod{{ID: "a1", Name: "vllm-1"}}}
	defer close(src.release)
	c := New(src, &noState{}, Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, _, err := listOf(c, ctx, 0, 10)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ListPods: %v, want %v", err, context.DeadlineExceeded)
	}
	if !errors.Is(err, ErrRequestTimedOut) {
		t.Errorf("ListPods: %v, want %v (answered 503, not 500)", err, ErrRequestTimedOut)
	}
}

// TestPodCatalogCloseEndsAbandonedFetches starts a pod-list fetch that
// RunPod holds for a minute, lets its only caller give up, and closes the
// catalog: Close cancels the fetch and returns once it has ended, and a
// later list fails without calling RunPod.
func TestPodCatalogCloseEndsAbandonedFetches(t *testing.T) {
	standIn := standin.NewServer(testRunPodKey, standin.Pod{ID: "a1", Name: "vllm-1", DesiredStatus: "RUNNING", GPUCount: 1})
	standIn.FaultNext(standin.OpMyself, 1, standin.Fault{Delay: time.Minute})
	url := standIn.Start(t)
	rp, err := runpod.New(runpod.Options{URL: url, APIKey: testRunPodKey, Timeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	c := New(rp, &noState{}, Options{})

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, _, err := listOf(c, ctx, 0, 10); !errors.Is(err, ErrRequestTimedOut) {
		t.Fatalf("the caller that gave up got %v, want %v", err, ErrRequestTimedOut)
	}
	catalogEventually(t, "the fetch reaches RunPod", func() bool { return standIn.Calls(standin.OpMyself) == 1 })

	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not end the fetch RunPod holds for a minute")
	}
	if _, _, err := listOf(c, t.Context(), 0, 10); !errors.Is(err, ErrRunPod) {
		t.Errorf("a list after Close got %v, want %v", err, ErrRunPod)
	}
	if n := standIn.Calls(standin.OpMyself); n != 1 {
		t.Errorf("RunPod list calls = %d, want 1: a list after Close must not call RunPod", n)
	}
}

// TestRestartSpotPodBidsItsPrice restarts a spot pod: it is stopped and then
// resumed with podBidResume at what it paid per GPU, so it runs again at its
// price. A spot pod that reports no cost is refused before it is stopped.
func TestRestartSpotPodBidsItsPrice(t *testing.T) {
	standIn := standin.NewServer(testRunPodKey,
		standin.Pod{ID: "spot1", Name: "aiapi-dev-sglang-a-1", DesiredStatus: "RUNNING", CostPerHr: 1.2, GPUCount: 4, PodType: standin.TypeSpot, MachineID: "m"},
		standin.Pod{ID: "spot2", Name: "aiapi-dev-sglang-a-2", DesiredStatus: "RUNNING", GPUCount: 1, PodType: standin.TypeSpot, MachineID: "m"})
	rec, url := contracttest.StartOpRecorder(t, standIn)
	c := New(newTestRunPod(t, url), &noState{}, Options{Prefix: "aiapi-dev-"})

	if err := c.Restart(t.Context(), "spot1"); err != nil {
		t.Fatal(err)
	}
	want := []string{"pod begin", "pod end", "podStop begin", "podStop end", "podBidResume begin", "podBidResume end"}
	if d := cmp.Diff(want, rec.Log()); d != "" {
		t.Errorf("RunPod's calls (-want +got):\n%s", d)
	}
	if p, _ := standIn.Pod("spot1"); p.DesiredStatus != standin.StatusRunning || p.GPUCount != 4 || p.CostPerHr != 1.2 {
		t.Errorf("spot pod after the restart: %s, %d gpus, %v/h; want RUNNING, 4, 1.2", p.DesiredStatus, p.GPUCount, p.CostPerHr)
	}

	rec.Reset()
	err := c.Restart(t.Context(), "spot2")
	var pce *CallError
	if !errors.As(err, &pce) || pce.Call != CallGet || !strings.Contains(err.Error(), "no cost") {
		t.Errorf("restart of a spot pod without a cost: %v, want a refusal before the stop", err)
	}
	if d := cmp.Diff([]string{"pod begin", "pod end"}, rec.Log()); d != "" {
		t.Errorf("RunPod's calls for the refused restart (-want +got):\n%s", d)
	}
}
