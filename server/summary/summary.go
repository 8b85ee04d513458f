// Package summary is the fleet at a glance: pods by status and what they
// cost, the idle ones, the server pool's health per provider and the load,
// computed from the cached pod list and a fixed number of Valkey round trips
// whatever the fleet's size, shared by every caller for a short TTL and then
// recomputed in the background while the last one is served.
package summary

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/flight"
	"github.com/threatwinds/aiadmin/server/pods"
)

// DefaultIdleAfter is how long a running pod goes without a request before
// it counts as idle.
const DefaultIdleAfter = 15 * time.Minute

// statusRunning is RunPod's desired status of a pod that runs and costs.
const statusRunning = "RUNNING"

// Summary is the fleet at a glance.
type Summary struct {
	Pods     int64
	ByStatus map[string]int64
	// CostPerHr sums the running pods' hourly cost.
	CostPerHr float64
	// IdlePods are running pods with no request started for IdleAfter (a pod
	// never used counts as idle); IdleCostPerHr is what they cost.
	IdlePods      int64
	IdleCostPerHr float64
	IdleAfter     time.Duration
	// Providers has every provider, in fleet.Providers order.
	Providers []Provider
	// Inflight and Requests5m add up every server's and pod's in-flight
	// requests and requests started in the last 5 minutes.
	Inflight   int64
	Requests5m int64
	// PodsStale is true when the pod list the summary was computed from was
	// older than the pod cache's TTL (RunPod was being read again, or
	// failing); PodsAge is then how old that list is now.
	PodsStale bool
	PodsAge   time.Duration
}

// Provider counts one provider's servers by state. A draining server is
// counted as draining and by its health too.
type Provider struct {
	Name      string
	Servers   int64
	Healthy   int64
	Unhealthy int64
	Draining  int64
}

// PodSource gives every fleet pod from the cached list; *pods.Catalog
// implements it.
type PodSource interface {
	Fleet(ctx context.Context) ([]pods.Pod, pods.Freshness, error)
}

// ServerSource gives every server of the pool; *pool.ServerList implements
// it.
type ServerSource interface {
	Servers(ctx context.Context) ([]fleet.Server, error)
}

// StateReader reads the fleet state the summary adds up, each method in one
// round trip; *fleet.Store implements it.
type StateReader interface {
	HealthMany(ctx context.Context, urls []string) ([]fleet.ServerHealth, error)
	Drains(ctx context.Context) (map[string]fleet.Drain, error)
	FleetDemand(ctx context.Context, urls []string) (fleet.DemandTotals, error)
}

// Options configure a Summarizer; zero values take the defaults.
type Options struct {
	// IdleAfter is DefaultIdleAfter when zero.
	IdleAfter time.Duration
	// TTL is how long a computed summary is served to every caller; it
	// should be the pod list's cache TTL. Zero computes on every call.
	TTL time.Duration
	// MaxStale bounds how old a summary may be and still be served while
	// one recomputation runs in the background; past it, callers wait for
	// the computation. Zero never serves a summary older than TTL.
	MaxStale time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Summarizer computes the summary at most once per TTL however many callers
// ask: concurrent callers share one computation, and past the TTL the last
// summary is served while one recomputation runs in the background.
type Summarizer struct {
	pods    PodSource
	servers ServerSource
	state   StateReader
	opts    Options
	flights *flight.Group[Summary]
	// refreshes tracks the background recomputations, for Close.
	refreshes sync.WaitGroup

	mu   sync.Mutex
	last Summary
	at   time.Time
	// listAt is when RunPod was read for the pod list of last, on this
	// clock.
	listAt time.Time
	// refreshing is true while a background recomputation runs; after one
	// fails, the next waits until retryAt.
	refreshing bool
	retryAt    time.Time
	closed     bool
}

// New returns a summarizer over the pod list, the pool and the fleet state.
// Pods may be nil when RunPod is not configured: the summary then has no
// pods.
func New(p PodSource, s ServerSource, st StateReader, o Options) *Summarizer {
	if o.IdleAfter <= 0 {
		o.IdleAfter = DefaultIdleAfter
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Summarizer{pods: p, servers: s, state: st, opts: o, flights: flight.NewGroup[Summary]()}
}

// Close ends the computations still running, for callers that gave up on
// them or in the background, and waits for them.
func (s *Summarizer) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.flights.Close()
	s.refreshes.Wait()
}

// Summary returns the fleet summary, computed at most once per TTL. A
// summary past the TTL but within MaxStale is returned at once, and one
// recomputation is started in the background if none runs.
func (s *Summarizer) Summary(ctx context.Context) (Summary, error) {
	s.mu.Lock()
	if now := s.opts.Now(); !s.at.IsZero() {
		if age := now.Sub(s.at); age < s.opts.TTL || age < s.opts.MaxStale {
			if age >= s.opts.TTL {
				s.refreshLocked(now)
			}
			sum := s.aged(now)
			s.mu.Unlock()
			return sum, nil
		}
	}
	s.mu.Unlock()
	if _, err := s.flights.Do(ctx, "summary", s.computeAndKeep); err != nil {
		return Summary{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.aged(s.opts.Now()), nil
}

// computeAndKeep computes the summary and keeps it for the callers to come.
// A caller's deadline does not bound it; the RunPod and Valkey clients' own
// timeouts do.
func (s *Summarizer) computeAndKeep(ctx context.Context) (Summary, error) {
	sum, listAge, err := s.compute(ctx)
	if err != nil {
		return Summary{}, err
	}
	s.mu.Lock()
	now := s.opts.Now()
	s.last, s.at, s.listAt = sum, now, now.Add(-listAge)
	s.mu.Unlock()
	return sum, nil
}

// refreshLocked starts the background recomputation unless one runs, the
// last one failed less than a TTL ago, or the summarizer is closed. s.mu is
// held. It shares its computation with callers that wait for one.
func (s *Summarizer) refreshLocked(now time.Time) {
	if s.refreshing || s.closed || now.Before(s.retryAt) {
		return
	}
	s.refreshing = true
	s.refreshes.Add(1)
	go func() {
		defer s.refreshes.Done()
		_, err := s.flights.Do(context.Background(), "summary", s.computeAndKeep)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.refreshing = false
		if err != nil {
			s.retryAt = s.opts.Now().Add(s.opts.TTL)
		}
	}()
}

// aged is the last summary with the age of its pod list at now. s.mu is
// held.
func (s *Summarizer) aged(now time.Time) Summary {
	sum := s.last
	if sum.PodsStale {
		sum.PodsAge = max(now.Sub(s.listAt), 0)
	}
	return sum
}

// compute reads the cached pod list, the pool, and three round trips of
// fleet state: health, drains and demand. It returns the summary and how
// old the pod list was.
func (s *Summarizer) compute(ctx context.Context) (Summary, time.Duration, error) {
	var fleetPods []pods.Pod
	var fresh pods.Freshness
	if s.pods != nil {
		var err error
		if fleetPods, fresh, err = s.pods.Fleet(ctx); err != nil {
			return Summary{}, 0, err
		}
	}
	servers, err := s.servers.Servers(ctx)
	if err != nil {
		return Summary{}, 0, err
	}
	urls := make([]string, 0, len(servers)+len(fleetPods))
	for _, sv := range servers {
		urls = append(urls, sv.URL)
	}
	health, err := s.state.HealthMany(ctx, urls)
	if err != nil {
		return Summary{}, 0, err
	}
	drains, err := s.state.Drains(ctx)
	if err != nil {
		return Summary{}, 0, err
	}
	for _, p := range fleetPods {
		urls = append(urls, p.URL)
	}
	slices.Sort(urls)
	demand, err := s.state.FleetDemand(ctx, slices.Compact(urls))
	if err != nil {
		return Summary{}, 0, err
	}

	sum := Summary{ByStatus: map[string]int64{}, IdleAfter: s.opts.IdleAfter,
		Inflight: demand.Inflight, Requests5m: demand.Requests5m, PodsStale: fresh.Stale}
	idleSince := s.opts.Now().Add(-s.opts.IdleAfter).UnixMilli()
	for _, p := range fleetPods {
		sum.Pods++
		sum.ByStatus[p.DesiredStatus]++
		if p.DesiredStatus != statusRunning {
			continue
		}
		sum.CostPerHr += p.CostPerHr
		if demand.LastUseMs[p.URL] <= idleSince {
			sum.IdlePods++
			sum.IdleCostPerHr += p.CostPerHr
		}
	}
	byName := map[string]*Provider{}
	for _, name := range fleet.Providers {
		sum.Providers = append(sum.Providers, Provider{Name: name})
	}
	for i := range sum.Providers {
		byName[sum.Providers[i].Name] = &sum.Providers[i]
	}
	for i, sv := range servers {
		p := byName[sv.Provider]
		if p == nil {
			continue
		}
		p.Servers++
		if h := health[i].Healthy; h != nil && *h {
			p.Healthy++
		} else {
			p.Unhealthy++
		}
		if _, ok := drains[sv.URL]; ok {
			p.Draining++
		}
	}
	return sum, fresh.Age, nil
}
