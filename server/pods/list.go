package pods

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/threatwinds/aiadmin/clients/flight"
	"github.com/threatwinds/aiadmin/clients/runpod"
)

// listFlight is the flight key of the pod list.
const listFlight = "list"

// snapshot returns the pod list and how old it is. A list younger than the
// TTL is served as it is. An older one, up to MaxStale, is served too, and
// one background refresh is started if none runs: readers never wait for
// RunPod while a list they may be shown exists. With no list, or one past
// MaxStale, the caller waits for a fetch, sharing one RunPod call with the
// other callers and the refresh; a caller whose ctx ends stops waiting and
// the call goes on for the others.
func (c *Catalog) snapshot(ctx context.Context) (*snapshot, Freshness, error) {
	c.mu.Lock()
	now := c.opts.Now()
	if s := c.snap; s != nil {
		age := now.Sub(s.at)
		if age < c.opts.CacheTTL {
			c.mu.Unlock()
			return s, Freshness{Age: age}, nil
		}
		if age < c.opts.MaxStale {
			c.refreshLocked(now)
			c.mu.Unlock()
			return s, Freshness{Age: age, Stale: true}, nil
		}
	}
	gen := c.gen
	c.mu.Unlock()
	c.waiting.Add(1)
	defer c.waiting.Add(-1)
	snap, err := c.fetches.Do(ctx, listFlight, func(fctx context.Context) (*snapshot, error) {
		// A caller that reached the flight just after a fetch ended starts
		// a call of its own; the list that fetch cached does for it.
		if s := c.fresh(gen); s != nil {
			return s, nil
		}
		return c.fetch(fctx, gen)
	})
	switch {
	case errors.Is(err, flight.ErrStoppedWaiting):
		return nil, Freshness{}, fmt.Errorf("waiting for the pod list: %w: %w", ErrRequestTimedOut, err)
	case errors.Is(err, flight.ErrClosed):
		return nil, Freshness{}, &CallError{Call: CallList, Err: errors.New("the pod catalog is closed")}
	case err != nil:
		return nil, Freshness{}, err
	}
	age := max(c.opts.Now().Sub(snap.at), 0)
	return snap, Freshness{Age: age, Stale: age >= c.opts.CacheTTL}, nil
}

// fresh is the cached list if it is younger than the TTL and no
// invalidation came after gen, else nil.
func (c *Catalog) fresh(gen uint64) *snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.snap; s != nil && c.gen == gen && c.opts.Now().Sub(s.at) < c.opts.CacheTTL {
		return s
	}
	return nil
}

// refreshLocked starts the background refresh of the list unless one runs,
// the last one failed less than a TTL ago, or the catalog is closed. c.mu
// is held. The refresh shares its RunPod call with callers that wait for a
// list, so one list call runs at a time.
func (c *Catalog) refreshLocked(now time.Time) {
	if c.refreshing || c.closed || now.Before(c.retryAt) {
		return
	}
	c.refreshing = true
	gen := c.gen
	c.refreshes.Add(1)
	go func() {
		defer c.refreshes.Done()
		// Nobody waits on this call: it ends within the RunPod client's
		// timeout, or at Close.
		_, err := c.fetches.Do(context.Background(), listFlight, func(fctx context.Context) (*snapshot, error) {
			return c.fetch(fctx, gen)
		})
		c.mu.Lock()
		defer c.mu.Unlock()
		c.refreshing = false
		if err != nil {
			c.retryAt = c.opts.Now().Add(c.opts.CacheTTL)
		}
	}()
}

// fetch lists the pods, which ends within the RunPod client's timeout, and
// caches the list unless the catalog was invalidated meanwhile.
func (c *Catalog) fetch(ctx context.Context, gen uint64) (*snapshot, error) {
	pods, err := c.src.ListPods(ctx)
	if err != nil {
		return nil, &CallError{Call: CallList, Err: err}
	}
	snap := c.build(pods)
	c.mu.Lock()
	if c.gen == gen {
		c.snap = snap
		c.retryAt = time.Time{}
	}
	c.mu.Unlock()
	return snap, nil
}

// build selects the fleet's pods and orders them by name, then id.
func (c *Catalog) build(pods []runpod.Pod) *snapshot {
	s := &snapshot{entries: make([]entry, 0, len(pods)), at: c.opts.Now()}
	for _, p := range pods {
		if e, ok := c.entry(p); ok {
			s.entries = append(s.entries, e)
		}
	}
	slices.SortFunc(s.entries, func(a, b entry) int {
		return cmp.Or(strings.Compare(a.pod.Name, b.pod.Name), strings.Compare(a.pod.ID, b.pod.ID))
	})
	s.byID = make(map[string]int, len(s.entries))
	for i, e := range s.entries {
		s.byID[e.pod.ID] = i
	}
	return s
}
