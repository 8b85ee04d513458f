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
// through the router side of package fleet: it routes with affinity through
// a fleet.Router, which keeps the drained servers out of its picks.
type router struct {
	store *fleet.Store
	aff   *fleet.Router
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

// pick chooses a backend of model that is up at now and allowed, or "" when
// none is.
func (r *router) pick(rng *rand.Rand, model string, now time.Time, allowed func(url string) bool) string {
	var all, pods []*standIn
	for _, s := range r.fleet.backends[model] {
		if !r.fleet.up(s, now) || !allowed(s.url) {
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

// notDrained allows every backend the router's drained view does not hold.
func (r *router) notDrained(url string) bool { return !r.aff.Drained(url) }

// route finds the backend for one request of user to m as a router does:
// the pinned backend when the session has a live pin to a backend that is
// up and not drained, else a fresh one, and re-pins the session. The
// affinity outcome is counted once. It returns "" when no backend of m can
// take the request.
func (r *router) route(ctx context.Context, rng *rand.Rand, user string, m trafficModel, now time.Time) (string, error) {
	d, err := r.aff.Route(ctx, m.provider, user, m.id, fleet.Backends{
		Usable: func(url string) bool {
			s, known := r.fleet.byURL[url]
			return known && r.fleet.up(s, now) && rng.Float64() >= spuriousFallback
		},
		Pick: func(allowed func(string) bool) string { return r.pick(rng, m.id, now, allowed) },
	})
	return d.URL, err
}
