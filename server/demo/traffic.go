package demo

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/threatwinds/aiadmin/clients/fleet"
)

const (
	// maxOutstanding bounds the requests the simulator holds open; a
	// request arriving when that many are open is dropped.
	maxOutstanding = 64
	// minDuration and maxDuration bound how long a simulated request runs.
	minDuration = 200 * time.Millisecond
	maxDuration = 3 * time.Second
	// abandonShare is the share of requests never finished, as by a router
	// that crashed: their leases show in flight until they expire.
	abandonShare = 0.01
	// callTimeout bounds the writes of one simulated request.
	callTimeout = 2 * time.Second
	// drainTimeout bounds finishing the open requests when the simulator
	// stops.
	drainTimeout = 2 * time.Second
	// warnEvery is the least time between two warnings about failed writes,
	// so that a Valkey outage does not flood the log.
	warnEvery = 30 * time.Second
)

// openRequest is a simulated request in flight and when it ends.
type openRequest struct {
	due   time.Time
	lease fleet.Lease
}

// simulator drives the router-side writers with a gentle, steady traffic:
// Poisson arrivals at rate per second, each routed, started, and finished
// a little later. It runs in one goroutine, so its fields need no lock;
// only the counters are read from outside.
type simulator struct {
	r     *router
	users []string
	rate  float64
	rng   *rand.Rand
	log   *zap.Logger

	open     []openRequest // by due time
	lastWarn time.Time
	failed   int

	started  atomic.Int64
	finished atomic.Int64
}

// run simulates traffic until ctx ends, then finishes the requests still
// open, within drainTimeout.
func (s *simulator) run(ctx context.Context) {
	defer s.drain()
	timer := time.NewTimer(0)
	defer timer.Stop()
	nextArrival := time.Now().Add(s.interarrival())
	for {
		next := nextArrival
		if len(s.open) > 0 && s.open[0].due.Before(next) {
			next = s.open[0].due
		}
		timer.Reset(time.Until(next))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if ctx.Err() != nil {
			// Stopping: drain finishes what is open.
			return
		}
		now := time.Now()
		for len(s.open) > 0 && !s.open[0].due.After(now) {
			s.finish(ctx, s.open[0].lease)
			s.open = s.open[1:]
		}
		if !now.Before(nextArrival) {
			s.request(ctx, now)
			nextArrival = now.Add(s.interarrival())
		}
	}
}

// interarrival draws the time to the next request: exponential, so arrivals
// look like independent users, and clamped so the rate stays gentle.
func (s *simulator) interarrival() time.Duration {
	d := time.Duration(s.rng.ExpFloat64() / s.rate * float64(time.Second))
	return min(max(d, 5*time.Millisecond), 2*time.Second)
}

// request simulates one request arriving at now.
func (s *simulator) request(ctx context.Context, now time.Time) {
	if len(s.open) >= maxOutstanding {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	user, m := pickRequest(s.rng, s.users)
	url, err := s.r.route(ctx, s.rng, user, m, now)
	if err != nil {
		s.warn(ctx, "routing", err)
		return
	}
	if url == "" {
		return
	}
	lease, err := s.r.store.StartRequest(ctx, url, m.id)
	if err != nil {
		s.warn(ctx, "starting a request", err)
		return
	}
	s.started.Add(1)
	if s.rng.Float64() < abandonShare {
		return
	}
	d := minDuration + time.Duration(s.rng.Int64N(int64(maxDuration-minDuration)))
	o := openRequest{due: now.Add(d), lease: lease}
	i, _ := slices.BinarySearchFunc(s.open, o, func(a, b openRequest) int { return a.due.Compare(b.due) })
	s.open = slices.Insert(s.open, i, o)
}

func (s *simulator) finish(ctx context.Context, l fleet.Lease) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := s.r.store.FinishRequest(ctx, l); err != nil {
		s.warn(ctx, "finishing a request", err)
		return
	}
	s.finished.Add(1)
}

// drain finishes every open request, so that stopping the demo leaves
// nothing in flight but the abandoned leases.
func (s *simulator) drain() {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	for _, o := range s.open {
		if ctx.Err() != nil {
			break
		}
		s.finish(ctx, o.lease)
	}
	s.open = nil
}

// warn logs a failed write, at most once per warnEvery, with the number of
// failures since the last warning. Failures caused by stopping are not
// worth a word.
func (s *simulator) warn(ctx context.Context, what string, err error) {
	if errors.Is(ctx.Err(), context.Canceled) {
		return
	}
	s.failed++
	if now := time.Now(); now.Sub(s.lastWarn) >= warnEvery {
		s.log.Warn("demo traffic: write to the fleet state failed", zap.String("during", what),
			zap.Int("failures", s.failed), zap.Error(err))
		s.lastWarn = now
		s.failed = 0
	}
}
