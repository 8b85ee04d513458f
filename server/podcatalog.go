package server

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/runpod"
	"github.com/threatwinds/aiadmin/gen/adminapi"
)

// Defaults of PodCatalogOptions.
const (
	DefaultPodURLTemplate = "https://{id}.proxy.runpod.net/v1"
	DefaultPodCacheTTL    = 5 * time.Second
	// DefaultRestartLeaseTTL covers reading, stopping and resuming a pod,
	// three RunPod calls of at most 10 s each by default, with a margin.
	DefaultRestartLeaseTTL = 45 * time.Second
)

// While another replica restarts a pod, a restart of the same pod asks for
// the pod's lease again after a wait that starts at restartLeasePollMin and
// doubles up to restartLeasePollMax.
const (
	restartLeasePollMin = 100 * time.Millisecond
	restartLeasePollMax = 500 * time.Millisecond
)

// restartLeaseReleaseTimeout bounds giving the lease back; a release that
// fails leaves the lease to expire after its TTL.
const restartLeaseReleaseTimeout = 5 * time.Second

// maxPodIDLen bounds a pod id; RunPod's are 14 characters.
const maxPodIDLen = 64

// Domain errors of the pod operations, matched with errors.Is.
var (
	// ErrInvalidPodID means an id is not 1 to 64 ASCII letters and digits.
	ErrInvalidPodID = errors.New("invalid pod id")
	// ErrPodNotFound means RunPod knows no such pod, or the pod is not part
	// of the fleet (its name lacks the fleet's prefix).
	ErrPodNotFound = errors.New("pod not found")
	// ErrRunPod marks every failed RunPod call; the error is a *PodCallError.
	ErrRunPod = errors.New("runpod API error")
	// ErrFleetState means the fleet state could not be read or written.
	ErrFleetState = errors.New("fleet state unavailable")
	// ErrRestartInProgress means the caller's context ended while it waited
	// for another restart of the same pod, on this replica or another.
	ErrRestartInProgress = errors.New("pod restart in progress")
	// ErrRequestTimedOut means the caller's context ended while it waited
	// for work it did not do itself: a pod list another caller's RunPod call
	// was fetching, or its turn to restart a pod.
	ErrRequestTimedOut = errors.New("request timed out")
)

// Calls a PodCallError names.
const (
	PodCallList   = "list"
	PodCallGet    = "get"
	PodCallStop   = "stop"
	PodCallResume = "resume"
)

// PodCallError is a failed RunPod call: which call, and what the client said.
// The client's message never holds the API key.
type PodCallError struct {
	// Call is PodCallList, PodCallGet, PodCallStop or PodCallResume.
	Call string
	Err  error
}

// Error is the client's message, which already says what was being done.
func (e *PodCallError) Error() string { return e.Err.Error() }

// Unwrap matches ErrRunPod and the client's error.
func (e *PodCallError) Unwrap() []error { return []error{ErrRunPod, e.Err} }

// PodSource is the part of RunPod's API the catalog uses; *runpod.Client
// implements it.
type PodSource interface {
	ListPods(ctx context.Context) ([]runpod.Pod, error)
	GetPod(ctx context.Context, id string) (runpod.Pod, error)
	StopPod(ctx context.Context, id string) error
	ResumePod(ctx context.Context, id string, gpuCount int) error
	BidResumePod(ctx context.Context, id string, gpuCount int, bidPerGPU float64) error
}

// BackendStateReader reads the fleet state of several backend URLs in one
// round trip; *fleet.Store implements it.
type BackendStateReader interface {
	BackendStates(ctx context.Context, urls []string) ([]fleet.BackendState, error)
}

// RestartLocker holds named leases shared by every replica, so that two
// replicas never restart one pod at the same time; *fleet.Store implements
// it.
type RestartLocker interface {
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

var _ RestartLocker = (*fleet.Store)(nil)

// PodCatalogOptions configure a PodCatalog. Zero values take the defaults.
type PodCatalogOptions struct {
	// Prefix selects the fleet's pods by name; empty selects every pod.
	Prefix string
	// URLTemplate gives a pod's backend URL; "{id}" is replaced by its id.
	URLTemplate string
	// CacheTTL is how long a fetched pod list is served before the next
	// list asks RunPod again.
	CacheTTL time.Duration
	// Now is the clock of the cache and of idle times; nil means time.Now.
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

// PodCatalog is the fleet's pods as the admin API shows them: RunPod's pods
// selected by name prefix, ordered by name then id, each with the fleet
// state of its backend URL. The pod list is cached for a short TTL and
// concurrent fetches share one RunPod call; restarts of one pod are
// serialised and invalidate the cache. It is safe for concurrent use.
type PodCatalog struct {
	src   PodSource
	state BackendStateReader
	opts  PodCatalogOptions
	locks podLocks

	mu sync.Mutex
	// gen counts invalidations; a fetch begun under an older generation
	// is handed to its waiters but never cached.
	gen   uint64
	snap  *podSnapshot
	fetch *podFetch

	// Fetches outlive the callers that gave up on them; Close cancels them
	// through closing and waits for them with fetches. closed, under mu,
	// keeps a fetch from starting after Close.
	closing       context.Context
	cancelFetches context.CancelFunc
	fetches       sync.WaitGroup
	closed        bool
}

// podEntry is one fleet pod with what is derived from it once per fetch.
type podEntry struct {
	pod  runpod.Pod
	kind string
	url  string
}

// podSnapshot is one fetched, filtered and ordered pod list.
type podSnapshot struct {
	entries []podEntry
	at      time.Time
}

// podFetch is one RunPod list call that concurrent callers wait for.
type podFetch struct {
	done chan struct{}
	snap *podSnapshot
	err  error
	// waiters counts the callers that joined the fetch, for tests.
	waiters int
}

// NewPodCatalog returns a catalog reading pods from src and their state from
// state.
func NewPodCatalog(src PodSource, state BackendStateReader, o PodCatalogOptions) *PodCatalog {
	if o.URLTemplate == "" {
		o.URLTemplate = DefaultPodURLTemplate
	}
	if o.CacheTTL <= 0 {
		o.CacheTTL = DefaultPodCacheTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RestartLeaseTTL <= 0 {
		o.RestartLeaseTTL = DefaultRestartLeaseTTL
	}
	c := &PodCatalog{src: src, state: state, opts: o, locks: podLocks{held: map[string]*podLock{}}}
	c.closing, c.cancelFetches = context.WithCancel(context.Background())
	return c
}

// Close cancels the pod-list fetches still running for callers that gave up
// on them and waits until they have ended. A list after Close that would
// need RunPod fails; a fresh cached list is still served.
func (c *PodCatalog) Close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancelFetches()
	c.fetches.Wait()
}

var _ PodService = (*PodCatalog)(nil)

// ListPods returns the fleet's pods from offset, at most limit of them,
// enriched with their fleet state, and how many pods the fleet has.
func (c *PodCatalog) ListPods(ctx context.Context, offset, limit int64) ([]adminapi.Pod, int64, error) {
	snap, err := c.snapshot(ctx)
	if err != nil {
		return nil, 0, err
	}
	total := int64(len(snap.entries))
	start := min(max(offset, 0), total)
	end := min(start+max(limit, 0), total)
	page := snap.entries[start:end]
	states, err := c.states(ctx, page)
	if err != nil {
		return nil, 0, err
	}
	now := c.opts.Now()
	out := make([]adminapi.Pod, len(page))
	for i, e := range page {
		out[i] = podView(e, states[i], now)
	}
	return out, total, nil
}

// GetPod returns one fleet pod, read from RunPod now rather than from the
// cache, with its fleet state.
func (c *PodCatalog) GetPod(ctx context.Context, id string) (adminapi.PodDetail, error) {
	e, err := c.readPod(ctx, id)
	if err != nil {
		return adminapi.PodDetail{}, err
	}
	states, err := c.states(ctx, []podEntry{e})
	if err != nil {
		return adminapi.PodDetail{}, err
	}
	v := podView(e, states[0], c.opts.Now())
	return adminapi.PodDetail{
		Id: v.Id, Name: v.Name, DesiredStatus: v.DesiredStatus, Kind: v.Kind,
		Models: v.Models, Healthy: v.Healthy, Inflight: v.Inflight, LastUseMs: v.LastUseMs,
		IdleSeconds: v.IdleSeconds, LastStartedAt: e.pod.LastStartedAt, LastStatusChange: v.LastStatusChange,
		CostPerHr: v.CostPerHr, DataCenterId: v.DataCenterId, Location: v.Location, GpuTypeId: v.GpuTypeId,
	}, nil
}

// podView is a fleet pod as the API shows it: RunPod's facts with the fleet
// state of its backend URL.
func podView(e podEntry, st fleet.BackendState, now time.Time) adminapi.Pod {
	p := e.pod
	return adminapi.Pod{
		Id:               p.ID,
		Name:             p.Name,
		DesiredStatus:    p.DesiredStatus,
		Kind:             e.kind,
		Models:           st.Models,
		Healthy:          healthVerdict(st),
		Inflight:         st.Inflight,
		LastUseMs:        st.LastUseMs,
		IdleSeconds:      idleSeconds(now, st.LastUseMs),
		LastStatusChange: p.LastStatusChange,
		CostPerHr:        p.CostPerHr,
		DataCenterId:     p.DataCenterID,
		Location:         p.Location,
		GpuTypeId:        p.GPUTypeID,
	}
}

// RestartPod stops the fleet pod id and resumes it with its GPU count; a
// spot pod resumes with a bid of what it paid per GPU (runpod.Pod.BidPerGPU)
// so that it runs again at the price it ran at. Two
// restarts of one pod never interleave their calls: the second waits for
// the first, on this replica for the pod's lock, across replicas for the
// pod's restart lease, or gives up with ErrRestartInProgress when ctx ends
// while it waits. Once the pod is read, the calls run to the end even if ctx
// is cancelled, so a pod is never left stopped because its caller went away;
// each call is bounded by the RunPod client's timeout. Any attempt to stop
// the pod invalidates the cached list.
func (c *PodCatalog) RestartPod(ctx context.Context, id string) error {
	if !ValidPodID(id) {
		return ErrInvalidPodID
	}
	unlock, err := c.locks.lock(ctx, id)
	if err != nil {
		return fmt.Errorf("waiting for another restart of pod %s on this replica: %w: %w", id, ErrRestartInProgress, err)
	}
	defer unlock()
	release, err := c.acquireRestartLease(ctx, id)
	if err != nil {
		return err
	}
	defer release()
	ctx = context.WithoutCancel(ctx)

	e, err := c.readPod(ctx, id)
	if err != nil {
		return err
	}
	// Stopping a pod that cannot be resumed would leave it down.
	if e.pod.GPUCount < 1 {
		return &PodCallError{Call: PodCallGet, Err: fmt.Errorf("runpod: pod %s reports %d gpus, so it could not be resumed", id, e.pod.GPUCount)}
	}
	spot, bid := e.pod.IsSpot(), e.pod.BidPerGPU()
	if spot && bid <= 0 {
		return &PodCallError{Call: PodCallGet, Err: fmt.Errorf("runpod: spot pod %s reports no cost, so there is no bid to resume it with", id)}
	}
	defer c.Invalidate()
	if err := c.src.StopPod(ctx, id); err != nil {
		return &PodCallError{Call: PodCallStop, Err: err}
	}
	resume := func() error { return c.src.ResumePod(ctx, id, e.pod.GPUCount) }
	if spot {
		resume = func() error { return c.src.BidResumePod(ctx, id, e.pod.GPUCount, bid) }
	}
	if err := resume(); err != nil {
		return &PodCallError{Call: PodCallResume, Err: err}
	}
	return nil
}

// restartLeaseName names the lease a replica holds while it restarts pod id.
func restartLeaseName(id string) string { return fleet.RestartLeaseName(id) }

// acquireRestartLease takes pod id's restart lease for this attempt, waiting
// while another replica holds it, and returns the function that gives it
// back. Without a RestartLocker there is nothing to take.
func (c *PodCatalog) acquireRestartLease(ctx context.Context, id string) (release func(), err error) {
	locker := c.opts.RestartLocker
	if locker == nil {
		return func() {}, nil
	}
	name, holder := restartLeaseName(id), newRestartHolder()
	wait := restartLeasePollMin
	held := false // another replica was seen holding the lease
	for {
		// The context may have ended while this replica's own lock was
		// awaited; a store call with it would pass for a store failure.
		if err := ctx.Err(); err != nil {
			return nil, leaseWaitEnded(id, held, err)
		}
		ok, err := locker.AcquireLease(ctx, name, holder, c.opts.RestartLeaseTTL)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, leaseWaitEnded(id, held, ctx.Err())
		case err != nil:
			return nil, fmt.Errorf("%w: taking the restart lease of pod %s: %w", ErrFleetState, id, err)
		case ok:
			return func() {
				// The lease is given back even when the caller went away,
				// so that the next restart need not wait for its TTL.
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), restartLeaseReleaseTimeout)
				defer cancel()
				_ = locker.ReleaseLease(rctx, name, holder)
			}, nil
		}
		held = true
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, leaseWaitEnded(id, held, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, restartLeasePollMax)
	}
}

// leaseWaitEnded is the error of a restart whose context ended before it
// held pod id's lease: ErrRestartInProgress if another replica held the
// lease, else ErrRequestTimedOut.
func leaseWaitEnded(id string, held bool, err error) error {
	if held {
		return fmt.Errorf("waiting for another replica's restart of pod %s: %w: %w", id, ErrRestartInProgress, err)
	}
	return fmt.Errorf("taking the restart lease of pod %s: %w: %w", id, ErrRequestTimedOut, err)
}

// newRestartHolder returns a random id for one restart attempt, so that an
// attempt can only renew or release its own lease.
func newRestartHolder() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Invalidate drops the cached pod list, and makes a fetch in flight
// uncacheable, so that the next list asks RunPod.
func (c *PodCatalog) Invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.snap = nil
	c.fetch = nil
}

// readPod reads one pod from RunPod and checks that it is a fleet pod.
func (c *PodCatalog) readPod(ctx context.Context, id string) (podEntry, error) {
	if !ValidPodID(id) {
		return podEntry{}, ErrInvalidPodID
	}
	p, err := c.src.GetPod(ctx, id)
	switch {
	case errors.Is(err, runpod.ErrPodNotFound):
		return podEntry{}, fmt.Errorf("reading pod %s: %w", id, ErrPodNotFound)
	case err != nil:
		return podEntry{}, &PodCallError{Call: PodCallGet, Err: err}
	}
	e, ok := c.entry(p)
	if !ok {
		return podEntry{}, fmt.Errorf("pod %s is outside the fleet: %w", id, ErrPodNotFound)
	}
	return e, nil
}

// snapshot returns the cached pod list while it is fresh, or else fetches it,
// sharing one RunPod call among concurrent callers. A caller whose ctx ends
// stops waiting; the call goes on for the others.
func (c *PodCatalog) snapshot(ctx context.Context) (*podSnapshot, error) {
	c.mu.Lock()
	if s := c.snap; s != nil && c.opts.Now().Sub(s.at) < c.opts.CacheTTL {
		c.mu.Unlock()
		return s, nil
	}
	f := c.fetch
	if f == nil {
		if c.closed {
			c.mu.Unlock()
			return nil, &PodCallError{Call: PodCallList, Err: errors.New("the pod catalog is closed")}
		}
		f = &podFetch{done: make(chan struct{})}
		c.fetch = f
		// The fetch serves every waiter and the cache, so it outlives this
		// caller's ctx (keeping its values) until Close.
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		stop := context.AfterFunc(c.closing, cancel)
		gen := c.gen
		c.fetches.Go(func() {
			defer cancel()
			defer stop()
			c.run(fctx, f, gen)
		})
	}
	f.waiters++
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.snap, f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the pod list: %w: %w", ErrRequestTimedOut, ctx.Err())
	}
}

// run performs fetch f, which ends within the RunPod client's timeout, and
// caches its result unless the catalog was invalidated meanwhile.
func (c *PodCatalog) run(ctx context.Context, f *podFetch, gen uint64) {
	pods, err := c.src.ListPods(ctx)
	var snap *podSnapshot
	if err != nil {
		err = &PodCallError{Call: PodCallList, Err: err}
	} else {
		snap = c.build(pods)
	}
	c.mu.Lock()
	if c.fetch == f {
		c.fetch = nil
	}
	if err == nil && c.gen == gen {
		c.snap = snap
	}
	c.mu.Unlock()
	f.snap, f.err = snap, err
	close(f.done)
}

// build selects the fleet's pods and orders them by name, then id.
func (c *PodCatalog) build(pods []runpod.Pod) *podSnapshot {
	s := &podSnapshot{entries: make([]podEntry, 0, len(pods)), at: c.opts.Now()}
	for _, p := range pods {
		if e, ok := c.entry(p); ok {
			s.entries = append(s.entries, e)
		}
	}
	slices.SortFunc(s.entries, func(a, b podEntry) int {
		return cmp.Or(strings.Compare(a.pod.Name, b.pod.Name), strings.Compare(a.pod.ID, b.pod.ID))
	})
	return s
}

// entry derives a fleet pod's kind and URL; ok is false for a pod outside
// the fleet.
func (c *PodCatalog) entry(p runpod.Pod) (podEntry, bool) {
	if !strings.HasPrefix(p.Name, c.opts.Prefix) {
		return podEntry{}, false
	}
	return podEntry{
		pod:  p,
		kind: PodKind(p.Name, c.opts.Prefix),
		url:  strings.ReplaceAll(c.opts.URLTemplate, "{id}", p.ID),
	}, true
}

// states reads the fleet state of the entries' URLs in one round trip.
func (c *PodCatalog) states(ctx context.Context, entries []podEntry) ([]fleet.BackendState, error) {
	if len(entries) == 0 {
		return nil, nil
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
	for i := range states {
		if states[i].Models == nil {
			states[i].Models = []string{}
		}
	}
	return states, nil
}

// healthVerdict is the pool's verdict on a backend: null when no pool holds
// it, false until its first successful probe.
func healthVerdict(st fleet.BackendState) *bool {
	if !st.Pooled {
		return nil
	}
	v := st.Health.Healthy != nil && *st.Health.Healthy
	return &v
}

// ValidPodID reports whether id is 1 to 64 ASCII letters and digits, the only
// ids sent to RunPod.
func ValidPodID(id string) bool {
	if len(id) == 0 || len(id) > maxPodIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9') {
			return false
		}
	}
	return true
}

// PodKind is a pod's name without the fleet prefix and without a trailing
// replica index: "aiapi-dev-vllm-qwen3-6-27b-fp8-1" with the prefix
// "aiapi-dev-" is "vllm-qwen3-6-27b-fp8". A prefix given without its final
// "-" is stripped with it.
func PodKind(name, prefix string) string {
	kind := strings.TrimPrefix(name, prefix)
	if prefix != "" && !strings.HasSuffix(prefix, "-") {
		kind = strings.TrimPrefix(kind, "-")
	}
	if i := strings.LastIndexByte(kind, '-'); i > 0 && i < len(kind)-1 && allDigits(kind[i+1:]) {
		kind = kind[:i]
	}
	return kind
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// podLocks serialises the restarts of each pod. A pod's entry lives only
// while a restart holds or awaits it, so the map does not grow with every
// pod ever restarted.
type podLocks struct {
	mu   sync.Mutex
	held map[string]*podLock
}

type podLock struct {
	sem  chan struct{} // holds one token while the pod is locked
	refs int           // holders and waiters
}

// lock takes the lock of pod id, waiting until it is free or ctx ends, and
// returns the function that releases it.
func (l *podLocks) lock(ctx context.Context, id string) (unlock func(), err error) {
	l.mu.Lock()
	pl := l.held[id]
	if pl == nil {
		pl = &podLock{sem: make(chan struct{}, 1)}
		l.held[id] = pl
	}
	pl.refs++
	l.mu.Unlock()

	release := func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if pl.refs--; pl.refs == 0 {
			delete(l.held, id)
		}
	}
	select {
	case pl.sem <- struct{}{}:
		return func() { <-pl.sem; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

// size is how many pods have a restart holding or awaiting their lock.
func (l *podLocks) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.held)
}
