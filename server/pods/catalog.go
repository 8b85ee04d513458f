// Package pods is the fleet's pods as operators see them: RunPod's pods
// selected by name prefix, joined with the fleet state of their backend
// URLs, listed from a short-lived cache and restarted one at a time per pod
// across every replica.
package pods

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/flight"
	"github.com/threatwinds/aiadmin/clients/runpod"
)

// Defaults of Options.
const (
	DefaultURLTemplate = "https://{id}.proxy.runpod.net/v1"
	DefaultCacheTTL    = 5 * time.Second
	// DefaultRestartLeaseTTL covers reading, stopping and resuming a pod,
	// three RunPod calls of at most 10 s each by default, with a margin.
	DefaultRestartLeaseTTL = 45 * time.Second
)

// Source is the part of RunPod's API the catalog uses; *runpod.Client
// implements it.
type Source interface {
	ListPods(ctx context.Context) ([]runpod.Pod, error)
	GetPod(ctx context.Context, id string) (runpod.Pod, error)
	StopPod(ctx context.Context, id string) error
	ResumePod(ctx context.Context, id string, gpuCount int) error
	BidResumePod(ctx context.Context, id string, gpuCount int, bidPerGPU float64) error
}

// StateReader reads the fleet state of several backend URLs in one round
// trip; *fleet.Store implements it.
type StateReader interface {
	BackendStates(ctx context.Context, urls []string) ([]fleet.BackendState, error)
}

// Options configure a Catalog. Zero values take the defaults.
type Options struct {
	// Prefix selects the fleet's pods by name; empty selects every pod.
	Prefix string
	// URLTemplate gives a pod's backend URL; "{id}" is replaced by its id.
	URLTemplate string
	// CacheTTL is how long a fetched pod list is served before the next
	// list asks RunPod again.
	CacheTTL time.Duration
	// Now is the clock of the cache; nil means time.Now.
	Now func() time.Time
	// RestartLocker serialises the restarts of a pod across replicas; nil
	// serialises them within this replica only.
	RestartLocker RestartLocker
	// RestartLeaseTTL is how long a replica may hold a pod's restart lease.
	// It must cover reading, stopping and resuming the pod with the RunPod
	// client's timeout: a lease that expires mid-restart lets another
	// replica's restart interleave. It bounds how long a crashed replica
	// blocks the pod's restarts.
	RestartLeaseTTL time.Duration
}

// Catalog lists, describes and restarts the fleet's pods. The pod list is
// cached for a short TTL and concurrent fetches share one RunPod call;
// restarts of one pod are serialised and invalidate the cache. It is safe
// for concurrent use.
type Catalog struct {
	src   Source
	state StateReader
	opts  Options
	locks podLocks

	// fetches shares one RunPod list call among concurrent callers; a
	// fetch outlives the callers that gave up on it, until Close.
	fetches *flight.Group[*snapshot]
	// waiting counts the callers waiting for a list fetch, for tests.
	waiting atomic.Int64

	mu sync.Mutex
	// gen counts invalidations; a fetch begun under an older generation
	// is handed to its waiters but never cached.
	gen  uint64
	snap *snapshot
}

// snapshot is one fetched, filtered and ordered pod list.
type snapshot struct {
	entries []entry
	at      time.Time
}

// New returns a catalog reading pods from src and their state from state.
func New(src Source, state StateReader, o Options) *Catalog {
	if o.URLTemplate == "" {
		o.URLTemplate = DefaultURLTemplate
	}
	if o.CacheTTL <= 0 {
		o.CacheTTL = DefaultCacheTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RestartLeaseTTL <= 0 {
		o.RestartLeaseTTL = DefaultRestartLeaseTTL
	}
	return &Catalog{src: src, state: state, opts: o, locks: podLocks{held: map[string]*podLock{}}, fetches: flight.NewGroup[*snapshot]()}
}

// Close cancels the pod-list fetches still running for callers that gave up
// on them and waits until they have ended. A list after Close that would
// need RunPod fails; a fresh cached list is still served.
func (c *Catalog) Close() { c.fetches.Close() }

// List returns the fleet's pods from offset, at most limit of them, with
// their fleet state, and how many pods the fleet has.
func (c *Catalog) List(ctx context.Context, offset, limit int64) ([]Pod, int64, error) {
	snap, err := c.snapshot(ctx)
	if err != nil {
		return nil, 0, err
	}
	total := int64(len(snap.entries))
	start := min(max(offset, 0), total)
	end := min(start+max(limit, 0), total)
	page := snap.entries[start:end]
	return c.join(ctx, page, total)
}

// join reads the fleet state of entries in one round trip.
func (c *Catalog) join(ctx context.Context, entries []entry, total int64) ([]Pod, int64, error) {
	out := make([]Pod, len(entries))
	if len(entries) == 0 {
		return out, total, nil
	}
	urls := make([]string, len(entries))
	for i, e := range entries {
		urls[i] = e.url
	}
	states, err := c.state.BackendStates(ctx, urls)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrFleetState, err)
	}
	if len(states) != len(urls) {
		return nil, 0, fmt.Errorf("%w: %d states for %d pods", ErrFleetState, len(states), len(urls))
	}
	for i, e := range entries {
		out[i] = view(e, states[i])
	}
	return out, total, nil
}

// Fleet returns every fleet pod from the cached list, ordered as List
// orders them, with RunPod's facts and URL only: no fleet state is read.
func (c *Catalog) Fleet(ctx context.Context) ([]Pod, error) {
	snap, err := c.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Pod, len(snap.entries))
	for i, e := range snap.entries {
		out[i] = view(e, fleet.BackendState{})
	}
	return out, nil
}

// Get returns one fleet pod, read from RunPod now rather than from the
// cache, with its fleet state.
func (c *Catalog) Get(ctx context.Context, id string) (Pod, error) {
	e, err := c.readPod(ctx, id)
	if err != nil {
		return Pod{}, err
	}
	p, _, err := c.join(ctx, []entry{e}, 1)
	if err != nil {
		return Pod{}, err
	}
	return p[0], nil
}

// Invalidate drops the cached pod list, and makes a fetch in flight
// uncacheable, so that the next list asks RunPod.
func (c *Catalog) Invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.snap = nil
	c.fetches.Forget(listFlight)
}

// readPod reads one pod from RunPod and checks that it is a fleet pod.
func (c *Catalog) readPod(ctx context.Context, id string) (entry, error) {
	p, err := c.src.GetPod(ctx, id)
	switch {
	case errors.Is(err, runpod.ErrPodNotFound):
		return entry{}, fmt.Errorf("reading pod %s: %w", id, ErrPodNotFound)
	case err != nil:
		return entry{}, &CallError{Call: CallGet, Err: err}
	}
	e, ok := c.entry(p)
	if !ok {
		return entry{}, fmt.Errorf("pod %s is outside the fleet: %w", id, ErrPodNotFound)
	}
	return e, nil
}

// listFlight is the singleflight key of the pod list.
const listFlight = "list"

// snapshot returns the cached pod list while it is fresh, or else fetches it,
// sharing one RunPod call among concurrent callers. A caller whose ctx ends
// stops waiting; the call goes on for the others.
func (c *Catalog) snapshot(ctx context.Context) (*snapshot, error) {
	c.mu.Lock()
	if s := c.snap; s != nil && c.opts.Now().Sub(s.at) < c.opts.CacheTTL {
		c.mu.Unlock()
		return s, nil
	}
	gen := c.gen
	c.mu.Unlock()
	c.waiting.Add(1)
	defer c.waiting.Add(-1)
	snap, err := c.fetches.Do(ctx, listFlight, func(fctx context.Context) (*snapshot, error) {
		return c.fetch(fctx, gen)
	})
	switch {
	case errors.Is(err, flight.ErrStoppedWaiting):
		return nil, fmt.Errorf("waiting for the pod list: %w: %w", ErrRequestTimedOut, err)
	case errors.Is(err, flight.ErrClosed):
		return nil, &CallError{Call: CallList, Err: errors.New("the pod catalog is closed")}
	}
	return snap, err
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
	return s
}

// entry derives a fleet pod's kind and URL; ok is false for a pod outside
// the fleet.
func (c *Catalog) entry(p runpod.Pod) (entry, bool) {
	if !strings.HasPrefix(p.Name, c.opts.Prefix) {
		return entry{}, false
	}
	return entry{
		pod:  p,
		kind: Kind(p.Name, c.opts.Prefix),
		url:  c.URL(p.ID),
	}, true
}

// URL is the backend URL of pod id.
func (c *Catalog) URL(id string) string {
	return strings.ReplaceAll(c.opts.URLTemplate, "{id}", id)
}
