package demo

import (
	"context"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/threatwinds/aiadmin/clients/fleet"
)

const (
	// podPreference is the share of new sessions sent to a pod's server when
	// one is up, so that the pods operation shows load on most pods.
	podPreference = 0.35
	// spuriousFallback is the share of pinned requests whose backend is up
	// but "cannot take" them (full, say) and that fall back elsewhere.
	spuriousFallback = 0.02
)

// demoUserModels are the models DemoUser uses, and the only ones: the seed
// document clears three entries for that user.
var demoUserModels = []string{modelQwen27B, modelQwen35B, modelWhisper}

// router does with the fleet state what the gateway's request router does,
// through the writers of package fleet.
type router struct {
	store *fleet.Store
	fleet *inferenceFleet
}

// pickRequest chooses who calls which model.
func pickRequest(rng *rand.Rand, users []string) (string, trafficModel) {
	user := users[rng.IntN(len(users))]
	m := pickModel(rng)
	if user == DemoUser && !slices.Contains(demoUserModels, m.id) {
		m = trafficModelNamed(demoUserModels[rng.IntN(len(demoUserModels))])
	}
	return user, m
}

// pick chooses a backend of model that is up at now, or "" when none is.
func (r *router) pick(rng *rand.Rand, model string, now time.Time) string {
	var all, pods []*standIn
	for _, s := range r.fleet.backends[model] {
		if !r.fleet.up(s, now) {
			continue
		}
		all = append(all, s)
		if s.podID != "" {
			pods = append(pods, s)
		}
	}
	switch {
	case len(pods) > 0 && rng.Float64() < podPreference:
		return pods[rng.IntN(len(pods))].url
	case len(all) > 0:
		return all[rng.IntN(len(all))].url
	}
	return ""
}

// route finds the backend for one request of user to m as a router does:
// the pinned backend when the session has a live pin to a backend that is
// up, else a fresh one (counted as a fallback when a pin existed), and then
// re-pins the session. It returns "" when no backend of m is up.
func (r *router) route(ctx context.Context, rng *rand.Rand, user string, m trafficModel, now time.Time) (string, error) {
	url, pinned, err := r.store.LookupSession(ctx, m.provider, user, m.id)
	if err != nil {
		return "", err
	}
	if pinned {
		s, known := r.fleet.byURL[url]
		if !known || !r.fleet.up(s, now) || rng.Float64() < spuriousFallback {
			if err := r.store.RecordFallback(ctx, m.provider); err != nil {
				return "", err
			}
			pinned = false
		}
	}
	if !pinned {
		if url = r.pick(rng, m.id, now); url == "" {
			return "", nil
		}
	}
	if err := r.store.PinSession(ctx, m.provider, user, m.id, url); err != nil {
		return "", err
	}
	return url, nil
}
