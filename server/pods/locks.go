package pods

import (
	"context"
	"sync"
)

// podLocks serialises the restarts of each pod on this replica. A pod's
// entry lives only while a restart holds or awaits it, so the map does not
// grow with every pod ever restarted. It is kept by hand because the
// restart must give up when its context ends, which a keyed sync.Mutex
// cannot, and x/sync offers no keyed lock; the lease in Valkey alone would
// make two attempts on one replica poll each other.
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
