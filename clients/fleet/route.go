package fleet

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync/atomic"
	"time"
)

// Outcome is what session affinity did for one routed request. The affinity
// counters count exactly one outcome per request, so hits, misses and
// fallbacks add up to the requests routed.
type Outcome int

const (
	// OutcomeHit: the session had a live pin to a backend that could take the
	// request, and the request went there.
	OutcomeHit Outcome = iota + 1
	// OutcomeMiss: the session had no live pin, so the request needed a new
	// assignment.
	OutcomeMiss
	// OutcomeFallback: the session had a live pin, but its backend was
	// drained or could not take the request, so it was routed elsewhere.
	OutcomeFallback
)

// ErrInvalidOutcome means an Outcome is none of the declared ones.
var ErrInvalidOutcome = errors.New("invalid affinity outcome")

// ErrPickNotAllowed means a Backends.Pick chose a URL its allowed function
// refused: a drained server or the unusable pinned one.
var ErrPickNotAllowed = errors.New("picked a backend that is not allowed")

func (o Outcome) counter() (string, bool) {
	switch o {
	case OutcomeHit:
		return statHits, true
	case OutcomeMiss:
		return statMisses, true
	case OutcomeFallback:
		return statFallbacks, true
	}
	return "", false
}

// String names the outcome: hit, miss or fallback.
func (o Outcome) String() string {
	switch o {
	case OutcomeHit:
		return "hit"
	case OutcomeMiss:
		return "miss"
	case OutcomeFallback:
		return "fallback"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// reloadTimeout bounds one reload of a Router's drained view by Watch.
const reloadTimeout = 5 * time.Second

// Router is the affinity step of a request router: it keeps the router's
// view of the drained servers and routes each request to its pinned backend
// or a new one, counting one Outcome per request. It is safe for concurrent
// use. The view starts empty: call Reload before routing, then keep it
// current with Watch (or Reload on every refresh the router already hears).
type Router struct {
	store  *Store
	drains atomic.Pointer[map[string]Drain]
}

// NewRouter returns a Router over s with an empty drained view.
func NewRouter(s *Store) *Router {
	r := &Router{store: s}
	r.drains.Store(&map[string]Drain{})
	return r
}

// Reload replaces the drained view with the store's drains, in one read. On
// error the previous view stays.
func (r *Router) Reload(ctx context.Context) error {
	d, err := r.store.Drains(ctx)
	if err != nil {
		return err
	}
	r.drains.Store(&d)
	return nil
}

// Drained reports whether url was drained at the last reload.
func (r *Router) Drained(url string) bool {
	_, ok := (*r.drains.Load())[url]
	return ok
}

// DrainedView returns a copy of the drained servers of the last reload.
func (r *Router) DrainedView() map[string]Drain {
	return maps.Clone(*r.drains.Load())
}

// Watch keeps the drained view current until ctx ends: it reloads once
// subscribed to RefreshChannel and on every refresh, which Drain and Undrain
// publish (see WatchRefresh; a burst of refreshes makes one reload). onError,
// when set, hears of reloads that failed; the previous view stays in force
// until the next refresh or resubscription.
func (r *Router) Watch(ctx context.Context, o WatchOptions, onError func(error)) {
	kick := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-kick:
			}
			rctx, cancel := context.WithTimeout(ctx, reloadTimeout)
			err := r.Reload(rctx)
			cancel()
			if err != nil && ctx.Err() == nil && onError != nil {
				onError(err)
			}
		}
	}()
	WatchRefresh(ctx, r.store.c, o, func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	})
	<-done
}

// Backends is what Route asks the router about its own backends.
type Backends struct {
	// Usable reports whether the backend at url can take the request now
	// (it is up, it has room). Route asks only about the URL of a live pin
	// that is not drained. Nil means every such backend is usable.
	Usable func(url string) bool
	// Pick chooses the backend for a request needing a new assignment,
	// among the router's backends of the model for which allowed is true:
	// allowed refuses drained servers and the pinned backend that could not
	// take the request. It returns "" when no backend can take it.
	Pick func(allowed func(url string) bool) string
}

// Decision is where Route sent a request and what affinity did for it.
type Decision struct {
	// URL is the backend that takes the request; "" when Pick found none,
	// and then the request is not pinned.
	URL     string
	Outcome Outcome
}

// Route routes one request of userID to modelID on provider: to the pinned
// backend when the session has a live pin that is neither drained nor
// unusable (a hit), else to the backend Pick chooses (a miss without a live
// pin, a fallback with one). It counts that one outcome, whether or not Pick
// found a backend, and then re-pins the session to the chosen backend, so an
// active session never expires and a fallback moves it. An error before the
// count leaves nothing counted. If only the re-pin fails, Route returns the
// decision with the error: the request is counted and may still go to
// d.URL, and must not pass through Route again.
func (r *Router) Route(ctx context.Context, provider, userID, modelID string, b Backends) (Decision, error) {
	if b.Pick == nil {
		return Decision{}, errors.New("routing request: no Pick function")
	}
	pinned, ok, err := r.store.LookupSession(ctx, provider, userID, modelID)
	if err != nil {
		return Decision{}, fmt.Errorf("routing request: %w", err)
	}
	drains := *r.drains.Load()
	d := Decision{URL: pinned, Outcome: OutcomeHit}
	if !ok {
		d = Decision{Outcome: OutcomeMiss}
	} else if _, drained := drains[pinned]; drained || (b.Usable != nil && !b.Usable(pinned)) {
		d = Decision{Outcome: OutcomeFallback}
	}
	if d.Outcome != OutcomeHit {
		allowed := func(url string) bool {
			_, drained := drains[url]
			return url != "" && !drained && (d.Outcome == OutcomeMiss || url != pinned)
		}
		if d.URL = b.Pick(allowed); d.URL != "" && !allowed(d.URL) {
			return Decision{}, fmt.Errorf("routing request of %s: %s: %w", userID, d.URL, ErrPickNotAllowed)
		}
	}
	if err := r.store.RecordOutcome(ctx, provider, d.Outcome); err != nil {
		return Decision{}, fmt.Errorf("routing request of %s: %w", userID, err)
	}
	if d.URL == "" {
		return d, nil
	}
	if err := r.store.PinSession(ctx, provider, userID, modelID, d.URL); err != nil {
		return d, fmt.Errorf("routing request of %s: %w", userID, err)
	}
	return d, nil
}
