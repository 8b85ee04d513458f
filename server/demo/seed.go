package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

const (
	// seedWorkers bounds the seed's concurrent writes; valkey-go pipelines
	// them on its connection.
	seedWorkers = 8
	// seedBurst is how many routed requests the seed replays, so that the
	// counters, the sessions and the demand window start with history.
	seedBurst = 300
	// seedRepeatShare is the share of the burst's requests that come from a
	// session pinned before the burst, and so mostly hit.
	seedRepeatShare = 0.8
)

// seedReport says what the seed wrote.
type seedReport struct {
	servers  int
	pins     int
	requests int64
}

// session is one user's use of one model.
type session struct {
	user  string
	model trafficModel
}

// seed writes the demo fleet through the router-side writers: every
// registered stand-in with its models, one or two pinned sessions per user
// (DemoUser's three models among them), and a burst of routed requests that
// moves the affinity counters and fills the demand window.
func seed(ctx context.Context, r *router, users []string, rng *rand.Rand) (seedReport, error) {
	var rep seedReport

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(seedWorkers)
	for _, s := range r.fleet.servers {
		if !s.registered {
			continue
		}
		rep.servers++
		g.Go(func() error {
			return r.store.RegisterServer(gctx, s.provider, s.url, s.models)
		})
	}
	if err := g.Wait(); err != nil {
		return rep, fmt.Errorf("seeding the registry: %w", err)
	}

	now := time.Now()
	var sessions []session
	for _, m := range demoUserModels {
		sessions = append(sessions, session{DemoUser, trafficModelNamed(m)})
	}
	for _, u := range users {
		if u == DemoUser {
			continue
		}
		first := pickModel(rng)
		sessions = append(sessions, session{u, first})
		if rng.IntN(3) == 0 {
			if second := pickModel(rng); second.id != first.id {
				sessions = append(sessions, session{u, second})
			}
		}
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(seedWorkers)
	for _, s := range sessions {
		url := r.pick(rng, s.model.id, now, r.notDrained)
		if url == "" {
			continue
		}
		rep.pins++
		g.Go(func() error {
			return r.store.PinSession(gctx, s.model.provider, s.user, s.model.id, url)
		})
	}
	if err := g.Wait(); err != nil {
		return rep, fmt.Errorf("seeding sessions: %w", err)
	}

	burst := make([]session, seedBurst)
	for i := range burst {
		if rng.Float64() < seedRepeatShare {
			burst[i] = sessions[rng.IntN(len(sessions))]
		} else {
			u, m := pickRequest(rng, users)
			burst[i] = session{u, m}
		}
	}
	var requests atomic.Int64
	g, gctx = errgroup.WithContext(ctx)
	for w := range seedWorkers {
		wrng := rand.New(rand.NewPCG(rng.Uint64(), uint64(w)))
		g.Go(func() error {
			for i := w; i < len(burst); i += seedWorkers {
				url, err := r.route(gctx, wrng, burst[i].user, burst[i].model, now)
				if err != nil {
					return err
				}
				if url == "" {
					continue
				}
				lease, err := r.store.StartRequest(gctx, url, burst[i].model.id)
				if err != nil {
					return err
				}
				if err := r.store.FinishRequest(gctx, lease); err != nil {
					return err
				}
				requests.Add(1)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return rep, fmt.Errorf("seeding traffic: %w", err)
	}
	rep.requests = requests.Load()
	return rep, nil
}
