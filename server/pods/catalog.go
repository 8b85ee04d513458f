// Package pods is the fleet's pods as operators see them: RunPod's pods
// selected by name prefix, joined with the fleet state of their backend
// URLs, listed from a short-lived cache that is refreshed in the background,
// described from short-lived per-pod reads, and restarted one at a time per
// pod across every replica.
package pods

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/flight"
	"github.com/threatwinds/aiadmin/clients/runpod"
)

// Defaults of Options.
const (
	DefaultURLTemplate = "https://{id}.proxy.runpod.net/v1"
	DefaultCacheTTL    = 5 * time.Second
	// DefaultMaxStale is how old a pod list may be and still be served
	// while RunPod is being read again or fails.
	DefaultMaxStale = 60 * time.Second
	// DefaultDetailCacheSize bounds the pods whose last read is kept; a
	// fleet larger than it only loses hits.
	DefaultDetailCacheSize = 10_000
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
	// CacheTTL is how long a fetched pod list, or a pod's read, is served
	// before RunPod is asked again.
	CacheTTL time.Duration
	// MaxStale bounds how old RunPod's facts may be and still be served: a
	// list older than CacheTTL is served while one refresh runs in the
	// background, and while RunPod fails, until it is MaxStale old; past
	// that, callers wait for RunPod. A value below CacheTTL is raised to it.
	MaxStale time.Duration
	// DetailCacheSize bounds the pods whose last read is kept.
	DetailCacheSize int
	// Now is the clock of the caches; nil means time.Now.
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

// Freshness says how old the RunPod facts of an answer are.
type Freshness struct {
	// Age is how long ago RunPod was read for them, on the catalog's clock.
	Age time.Duration
	// Stale is true when Age is at least the cache TTL: a refresh is running
	// or RunPod failed, and the last answer is served until MaxStale.
	Stale bool
}

// Page is a page of the fleet's pods.
type Page struct {
	Pods []Pod
	// Total is how many pods the fleet has.
	Total int64
	Freshness
}

// Catalog lists, describes and restarts the fleet's pods. The pod list is
// cached and refreshed in the background (stale-while-revalidate), pod
// reads are cached per pod for the same TTL, and concurrent fetches of
// either share one RunPod call; restarts of one pod are serialised and
// invalidate both. It is safe for concurrent use.
type Catalog struct {
	src   Source
	state StateReader
	opts  Options
	locks podLocks

	// fetches shares one RunPod list call among concurrent callers and the
	// background refresh; a fetch outlives the callers that gave up on it,
	// until Close. details does the same for one pod's read.
	fetches *flight.Group[*snapshot]
	details *flight.Group[entry]
	// waiting and readWaiting count the callers waiting for a list fetch
	// and for a pod's read, for tests.
	waiting     atomic.Int64
	readWaiting atomic.Int64
	// refreshes tracks the background refreshes, so that Close waits for
	// them.
	refreshes sync.WaitGroup

	mu sync.Mutex
	// gen counts invalidations; a fetch begun under an older generation
	// is handed to its waiters but never cached.
	gen  uint64
	snap *snapshot
	// refreshing is true while a background refresh runs; after one fails,
	// the next waits until retryAt, so that a failing RunPod is asked at
	// most once per TTL on behalf of the stale list's readers.
	refreshing bool
	retryAt    time.Time
	closed     bool
	// read holds each pod's last read, stamped on the catalog's clock.
	read *lru.Cache[string, readEntry]
}

// snapshot is one fetched, filtered and ordered pod list.
type snapshot struct {
	entries []entry
	// byID indexes entries, for a pod's read when RunPod fails.
	byID map[string]int
	at   time.Time
}

// New returns a catalog reading pods from src and their state from state.
func New(src Source, state StateReader, o Options) *Catalog {
	if o.URLTemplate == "" {
		o.URLTemplate = DefaultURLTemplate
	}
	if o.CacheTTL <= 0 {
		o.CacheTTL = DefaultCacheTTL
	}
	if o.MaxStale <= 0 {
		o.MaxStale = DefaultMaxStale
	}
	o.MaxStale = max(o.MaxStale, o.CacheTTL)
	if o.DetailCacheSize <= 0 {
		o.DetailCacheSize = DefaultDetailCacheSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RestartLeaseTTL <= 0 {
		o.RestartLeaseTTL = DefaultRestartLeaseTTL
	}
	read, _ := lru.New[string, readEntry](o.DetailCacheSize) // only a size below 1 fails
	return &Catalog{
		src: src, state: state, opts: o, locks: podLocks{held: map[string]*podLock{}},
		fetches: flight.NewGroup[*snapshot](), details: flight.NewGroup[entry](), read: read,
	}
}

// Close cancels the RunPod calls still running for callers that gave up on
// them and the background refresh, and waits until they have ended. A call
// after Close that would need RunPod fails; fresh cached facts are still
// served.
func (c *Catalog) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.fetches.Close()
	c.details.Close()
	c.refreshes.Wait()
}

// List returns the fleet's pods from offset, at most limit of them, with
// their fleet state, how many pods the fleet has, and how old the list is.
func (c *Catalog) List(ctx context.Context, offset, limit int64) (Page, error) {
	snap, fr, err := c.snapshot(ctx)
	if err != nil {
		return Page{}, err
	}
	total := int64(len(snap.entries))
	start := min(max(offset, 0), total)
	end := min(start+max(limit, 0), total)
	pods, err := c.join(ctx, snap.entries[start:end])
	if err != nil {
		return Page{}, err
	}
	return Page{Pods: pods, Total: total, Freshness: fr}, nil
}

// join reads the fleet state of entries in one round trip.
func (c *Catalog) join(ctx context.Context, entries []entry) ([]Pod, error) {
	out := make([]Pod, len(entries))
	if len(entries) == 0 {
		return out, nil
	}
	urls := make([]string, len(entries))
	for i, e := range entries {
		urls[i] = e.url
	}
	states, err := c.state.BackendStates(ctx, urls)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFleetState, err)
	}
	if len(states) != len(urls) {
		return nil, fmt.Errorf("%w: %d states for %d pods", ErrFleetState, len(states), len(urls))
	}
	for i, e := range entries {
		out[i] = view(e, states[i])
	}
	return out, nil
}

// Fleet returns every fleet pod from the cached list, ordered as List
// orders them, with RunPod's facts and URL only (no fleet state is read),
// and how old the list is.
func (c *Catalog) Fleet(ctx context.Context) ([]Pod, Freshness, error) {
	snap, fr, err := c.snapshot(ctx)
	if err != nil {
		return nil, Freshness{}, err
	}
	out := make([]Pod, len(snap.entries))
	for i, e := range snap.entries {
		out[i] = view(e, fleet.BackendState{})
	}
	return out, fr, nil
}

// Invalidate drops the cached pod list and every pod's last read, and makes
// the fetches in flight uncacheable, so that the next list and reads ask
// RunPod.
func (c *Catalog) Invalidate() { c.invalidate("") }

// invalidate drops the cached pod list and the last read of pod id, or of
// every pod when id is empty. A read of id in flight is forgotten, so a
// read that starts now asks RunPod rather than join it.
func (c *Catalog) invalidate(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.snap = nil
	c.fetches.Forget(listFlight)
	if id == "" {
		c.read.Purge()
		return
	}
	c.read.Remove(id)
	c.details.Forget(id)
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
