package pods

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/threatwinds/aiadmin/clients/flight"
)

// readEntry is a pod's last read from RunPod and when it was made.
type readEntry struct {
	e  entry
	at time.Time
}

// Get returns one fleet pod with its fleet state, and how old RunPod's facts
// about it are. A read within the TTL of the pod's last one is answered from
// it; otherwise RunPod is read, one call shared by the concurrent readers of
// the pod. When that call fails, the pod's last read or its entry in the
// last list, whichever is younger, is served while younger than MaxStale.
func (c *Catalog) Get(ctx context.Context, id string) (Pod, Freshness, error) {
	r, ok := c.read.Get(id)
	now := c.opts.Now()
	if ok && now.Sub(r.at) < c.opts.CacheTTL {
		return c.getJoined(ctx, r.e, Freshness{Age: now.Sub(r.at)})
	}
	c.readWaiting.Add(1)
	e, err := c.details.Do(ctx, id, func(fctx context.Context) (entry, error) {
		// A reader that reached the flight just after a read ended starts a
		// call of its own; the read that one kept does for it.
		if r, ok := c.read.Get(id); ok && c.opts.Now().Sub(r.at) < c.opts.CacheTTL {
			return r.e, nil
		}
		return c.readAndKeep(fctx, id)
	})
	c.readWaiting.Add(-1)
	switch {
	case err == nil:
		return c.getJoined(ctx, e, Freshness{})
	case errors.Is(err, flight.ErrStoppedWaiting):
		return Pod{}, Freshness{}, fmt.Errorf("waiting for pod %s: %w: %w", id, ErrRequestTimedOut, err)
	case errors.Is(err, flight.ErrClosed):
		err = &CallError{Call: CallGet, Err: errors.New("the pod catalog is closed")}
	}
	if !errors.Is(err, ErrRunPod) {
		return Pod{}, Freshness{}, err
	}
	last, at, ok := c.lastKnown(id)
	if age := c.opts.Now().Sub(at); ok && age < c.opts.MaxStale {
		return c.getJoined(ctx, last, Freshness{Age: age, Stale: age >= c.opts.CacheTTL})
	}
	return Pod{}, Freshness{}, err
}

// getJoined joins one pod with its fleet state.
func (c *Catalog) getJoined(ctx context.Context, e entry, fr Freshness) (Pod, Freshness, error) {
	p, err := c.join(ctx, []entry{e})
	if err != nil {
		return Pod{}, Freshness{}, err
	}
	return p[0], fr, nil
}

// readAndKeep reads pod id from RunPod and keeps the read, unless the
// catalog was invalidated while it ran: it may predate a restart.
func (c *Catalog) readAndKeep(ctx context.Context, id string) (entry, error) {
	c.mu.Lock()
	gen := c.gen
	c.mu.Unlock()
	e, err := c.readPod(ctx, id)
	if err != nil {
		return entry{}, err
	}
	c.mu.Lock()
	if c.gen == gen {
		c.read.Add(id, readEntry{e: e, at: c.opts.Now()})
	}
	c.mu.Unlock()
	return e, nil
}

// lastKnown is the youngest of pod id's last read and its entry in the
// cached list, and when RunPod was read for it.
func (c *Catalog) lastKnown(id string) (entry, time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.read.Peek(id)
	if s := c.snap; s != nil {
		if i, in := s.byID[id]; in && (!ok || s.at.After(r.at)) {
			return s.entries[i], s.at, true
		}
	}
	return r.e, r.at, ok
}
