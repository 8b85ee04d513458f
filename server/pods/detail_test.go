package pods

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/clients/runpod/standin"
)

// reads is how many pod reads reached RunPod (held ones included).
func (env *staleEnv) reads() int { return count(env.rec.Log(), standin.OpPod+" begin") }

// TestConcurrentDetailReadsShareOneRunPodCall holds RunPod's answer to a
// pod's read until 200 readers wait for it: they share the one call. A read
// within the TTL is answered from it; one after the TTL reads RunPod again;
// a restart forgets it.
func TestConcurrentDetailReadsShareOneRunPodCall(t *testing.T) {
	env := newStaleEnv(t, 12)
	id := env.standIn.Pods()[0].ID
	release := env.rec.Hold(standin.OpPod)

	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			p, fr, err := env.c.Get(t.Context(), id)
			if err == nil && (p.ID != id || fr != (Freshness{})) {
				err = fmt.Errorf("got %s, %+v; want pod %s, fresh", p.ID, fr, id)
			}
			errs <- err
		})
	}
	catalogEventually(t, "every reader waits for the read", func() bool { return env.c.readWaiting.Load() == n })
	release()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := env.standIn.Calls(standin.OpPod); got != 1 {
		t.Fatalf("%d concurrent reads of one pod made %d RunPod calls, want 1", n, got)
	}

	env.clock.Advance(4 * time.Second)
	if _, fr, err := env.c.Get(t.Context(), id); err != nil || fr != (Freshness{Age: 4 * time.Second}) || env.reads() != 1 {
		t.Errorf("a read within the TTL: %+v, %v, %d RunPod reads; want the last read, 4s old", fr, err, env.reads())
	}
	env.clock.Advance(time.Second)
	if _, fr, err := env.c.Get(t.Context(), id); err != nil || fr != (Freshness{}) || env.reads() != 2 {
		t.Errorf("a read at the TTL: %+v, %v, %d RunPod reads; want a new read", fr, err, env.reads())
	}

	if err := env.c.Restart(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	before := env.reads()
	p, _, err := env.c.Get(t.Context(), id)
	if err != nil || env.reads() != before+1 {
		t.Fatalf("a read after a restart: %v, %d RunPod reads; want a new one", err, env.reads()-before)
	}
	if want, _ := env.standIn.Pod(id); p.LastStatusChange == "" || p.DesiredStatus != want.DesiredStatus {
		t.Errorf("after the restart: status %s, want %s", p.DesiredStatus, want.DesiredStatus)
	}
}

// TestPodDetailServedStaleWhileRunPodFails fails every pod read: a pod is
// then answered from its last read or from the last list, whichever is
// younger, stale with its age, until that is MaxStale old; after that, and
// for a pod known from neither, the read fails with RunPod's error.
func TestPodDetailServedStaleWhileRunPodFails(t *testing.T) {
	env := newStaleEnv(t, 12)
	all := env.standIn.Pods()
	a, b := all[0].ID, all[1].ID
	if _, _, err := env.c.Get(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	env.list(t)
	env.standIn.FailNext(standin.OpPod, -1, http.StatusServiceUnavailable)

	get := func(id string, want Freshness) {
		t.Helper()
		p, fr, err := env.c.Get(t.Context(), id)
		if err != nil || p.ID != id || fr != want {
			t.Errorf("pod %s: %s, %+v, %v; want %+v", id, p.ID, fr, err, want)
		}
	}
	env.clock.Advance(3 * time.Second)
	get(a, Freshness{Age: 3 * time.Second})
	env.clock.Advance(17 * time.Second)
	get(a, Freshness{Age: 20 * time.Second, Stale: true})
	get(b, Freshness{Age: 20 * time.Second, Stale: true})

	// A younger list wins over an older read.
	env.clock.Advance(10 * time.Second)
	env.list(t)
	env.c.refreshes.Wait()
	env.clock.Advance(10 * time.Second)
	get(a, Freshness{Age: 10 * time.Second, Stale: true})

	env.standIn.FailNext(standin.OpMyself, -1, http.StatusServiceUnavailable)
	env.clock.Advance(49 * time.Second)
	get(a, Freshness{Age: 59 * time.Second, Stale: true})
	env.clock.Advance(time.Second)
	_, _, err := env.c.Get(t.Context(), a)
	var ce *CallError
	if !errors.As(err, &ce) || ce.Call != CallGet {
		t.Errorf("a read when the last known is MaxStale old: %v, want the failed RunPod read", err)
	}
	if _, _, err := env.c.Get(t.Context(), "unknown0pod"); !errors.Is(err, ErrRunPod) {
		t.Errorf("a read of a pod known from nothing: %v, want the failed RunPod read", err)
	}

	env.standIn.ClearFaults()
	if _, _, err := env.c.Get(t.Context(), "unknown0pod"); !errors.Is(err, ErrPodNotFound) {
		t.Errorf("a read of an unknown pod: %v, want %v", err, ErrPodNotFound)
	}
}
