package pods

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/clients/clocktest"
	"github.com/threatwinds/aiadmin/clients/runpod"
	"github.com/threatwinds/aiadmin/clients/runpod/standin"
	"github.com/threatwinds/aiadmin/server/contracttest"
)

// count is how many entries of log equal entry.
func count(log []string, entry string) int {
	n := 0
	for _, e := range log {
		if e == entry {
			n++
		}
	}
	return n
}

// staleEnv is a catalog over the stand-in, reached through an operation
// recorder, on a manual clock, with a RunPod client that does not retry so
// that each RunPod call is one attempt.
type staleEnv struct {
	standIn *standin.Server
	rec     *contracttest.OpRecorder
	clock   *clocktest.Clock
	c       *Catalog
}

func newStaleEnv(t *testing.T, pods int) *staleEnv {
	t.Helper()
	env := &staleEnv{standIn: standin.NewServer(testRunPodKey, standin.DemoPods(pods, "aiapi-dev")...), clock: clocktest.New(time.Unix(1_700_000_000, 0))}
	var url string
	env.rec, url = contracttest.StartOpRecorder(t, env.standIn)
	rp, err := runpod.New(runpod.Options{URL: url, APIKey: testRunPodKey, Timeout: 10 * time.Second, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	env.c = New(rp, &noState{}, Options{Prefix: "aiapi-dev-", CacheTTL: 5 * time.Second, MaxStale: time.Minute, Now: env.clock.Now})
	t.Cleanup(env.c.Close)
	return env
}

// lists is how many list calls reached RunPod (held ones included).
func (env *staleEnv) lists() int { return count(env.rec.Log(), standin.OpMyself+" begin") }

// list lists the first page, giving up after a few seconds: a list that
// waits for a held RunPod call fails.
func (env *staleEnv) list(t *testing.T) Page {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	p, err := env.c.List(ctx, 0, 10)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if p.Total != 12 {
		t.Fatalf("list: total %d, want 12", p.Total)
	}
	return p
}

// TestPodListServedStaleWhileOneRefreshRuns holds the refresh RunPod gets
// once the list is past its TTL: meanwhile every list is answered at once
// from the old list, marked stale with its age, and a hundred concurrent
// lists start no second refresh. Once the refresh is let through, the list
// is fresh again.
func TestPodListServedStaleWhileOneRefreshRuns(t *testing.T) {
	env := newStaleEnv(t, 12)
	if p := env.list(t); p.Freshness != (Freshness{}) {
		t.Fatalf("first list: %+v, want fresh", p.Freshness)
	}
	release := env.rec.Hold(standin.OpMyself)
	defer release()

	env.clock.Advance(4 * time.Second)
	if p := env.list(t); p.Stale || p.Age != 4*time.Second || env.lists() != 1 {
		t.Fatalf("within the TTL: %+v, %d RunPod lists; want fresh, 4s old, 1 list", p.Freshness, env.lists())
	}
	env.clock.Advance(time.Second)
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			p, err := env.c.List(ctx, 0, 10)
			if err == nil && p.Freshness != (Freshness{Age: 5 * time.Second, Stale: true}) {
				err = fmt.Errorf("%+v, want stale and 5s old", p.Freshness)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a list at the TTL: %v", err)
		}
	}
	catalogEventually(t, "the refresh reaches RunPod", func() bool { return env.lists() == 2 })

	env.clock.Advance(50 * time.Second)
	if p := env.list(t); p.Freshness != (Freshness{Age: 55 * time.Second, Stale: true}) {
		t.Errorf("55s into the refresh: %+v, want stale and 55s old", p.Freshness)
	}
	if got := env.lists(); got != 2 {
		t.Errorf("%d RunPod lists while a refresh runs, want 2: only one refresh may run", got)
	}

	release()
	catalogEventually(t, "the refreshed list is served", func() bool { return !env.list(t).Stale })
	if got := env.lists(); got != 2 {
		t.Errorf("%d RunPod lists, want 2", got)
	}
}

// TestPodListStaleWhileRunPodFailsThen502 fails every RunPod list after the
// first: the last list is served, stale with its age, until it is MaxStale
// old, RunPod being asked at most once per TTL meanwhile; from then on a
// list waits for RunPod and fails with its error. Once RunPod answers, the
// list is fresh.
func TestPodListStaleWhileRunPodFailsThen502(t *testing.T) {
	env := newStaleEnv(t, 12)
	env.list(t)
	env.standIn.FailNext(standin.OpMyself, -1, http.StatusServiceUnavailable)

	// The failed refresh must end before the clock moves again, so each
	// step waits for the RunPod call it starts.
	for _, step := range []struct {
		at    time.Duration
		lists int
	}{
		{5 * time.Second, 2},  // past the TTL: one refresh, which fails
		{7 * time.Second, 2},  // within a TTL of the failure: none
		{10 * time.Second, 3}, // a TTL after it: one more
		{59 * time.Second, 4},
	} {
		env.clock.Advance(step.at - env.clock.Now().Sub(time.Unix(1_700_000_000, 0)))
		p := env.list(t)
		if p.Freshness != (Freshness{Age: step.at, Stale: true}) {
			t.Errorf("at %s: %+v, want stale and %s old", step.at, p.Freshness, step.at)
		}
		catalogEventually(t, "the refresh fails", func() bool {
			return count(env.rec.Log(), standin.OpMyself+" end") == step.lists && !env.refreshing()
		})
		if got := env.lists(); got != step.lists {
			t.Errorf("at %s: %d RunPod lists, want %d", step.at, got, step.lists)
		}
	}

	env.clock.Advance(time.Second)
	_, err := env.c.List(t.Context(), 0, 10)
	var ce *CallError
	if !errors.As(err, &ce) || ce.Call != CallList || !errors.Is(err, ErrRunPod) {
		t.Fatalf("a list at MaxStale: %v, want the failed RunPod list", err)
	}

	env.standIn.ClearFaults()
	if p := env.list(t); p.Freshness != (Freshness{}) {
		t.Errorf("once RunPod answers: %+v, want fresh", p.Freshness)
	}
}

// refreshing reports whether a background refresh runs.
func (env *staleEnv) refreshing() bool {
	env.c.mu.Lock()
	defer env.c.mu.Unlock()
	return env.c.refreshing
}
