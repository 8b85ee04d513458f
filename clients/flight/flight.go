// Package flight shares one call among the concurrent callers that want the
// same thing, and lets that call outlive the callers that stop waiting for
// it, so the others and any cache it fills still get its result. Close
// cancels the calls still running and waits for them, so nothing the group
// started is left behind at shutdown.
//
// It is golang.org/x/sync/singleflight with the part every user of it in
// this codebase wrote by hand: a call detached from its first caller's
// cancellation, and a way to end such calls.
package flight

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sync/singleflight"
)

var (
	// ErrClosed is what Do returns after Close to a caller that would have
	// had to start a call.
	ErrClosed = errors.New("flight group is closed")
	// ErrStoppedWaiting is what Do returns, wrapped with the context's
	// cause, when the caller's context ends before the call does.
	ErrStoppedWaiting = errors.New("stopped waiting for the shared call")
)

// Group runs at most one call per key at a time and hands its result to
// every caller that asked for the key meanwhile. Its zero value is not
// usable; make one with NewGroup. It is safe for concurrent use.
type Group[T any] struct {
	calls singleflight.Group

	// closing ends the running calls; closed, under mu, keeps a call from
	// starting after Close, so that running.Wait is final.
	closing context.Context
	cancel  context.CancelFunc
	mu      sync.Mutex
	closed  bool
	running sync.WaitGroup
}

// NewGroup returns an open group.
func NewGroup[T any]() *Group[T] {
	g := &Group[T]{}
	g.closing, g.cancel = context.WithCancel(context.Background())
	return g
}

// Do returns the result of fn for key, starting fn unless a call for key is
// already running, in which case it waits for that one. Every caller of one
// call gets the same value: copy what a caller may change.
//
// fn runs on a context that keeps the values of its first caller's context
// but not its cancellation or deadline, and that Close cancels; fn must bound
// itself (a timeout of its own). A caller whose ctx ends stops waiting and
// gets an error wrapping ErrStoppedWaiting and the context's cause, while
// the call goes on for the others; a caller whose ctx has already ended
// starts nothing. After Close, a key with no call running gives ErrClosed.
// fn's own errors are returned as they are.
func (g *Group[T]) Do(ctx context.Context, key string, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	if ctx.Err() != nil {
		return zero, fmt.Errorf("%w: %w", ErrStoppedWaiting, context.Cause(ctx))
	}
	ch := g.calls.DoChan(key, func() (any, error) {
		if !g.start() {
			return zero, ErrClosed
		}
		defer g.running.Done()
		callCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		defer cancel()
		defer context.AfterFunc(g.closing, cancel)()
		return fn(callCtx)
	})
	select {
	case res := <-ch:
		// A nil interface T arrives as a nil any, which no assertion takes.
		v, _ := res.Val.(T)
		return v, res.Err
	case <-ctx.Done():
		return zero, fmt.Errorf("%w: %w", ErrStoppedWaiting, context.Cause(ctx))
	}
}

// Forget makes the next Do for key start a new call even while one is
// running; the running call still answers the callers already waiting on
// it. It is how a cache filled by calls is invalidated.
func (g *Group[T]) Forget(key string) { g.calls.Forget(key) }

// Close cancels the running calls, waits until they have returned, and
// makes later calls fail with ErrClosed. It may be called more than once.
func (g *Group[T]) Close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.cancel()
	g.running.Wait()
}

// start counts one more running call, unless the group is closed.
func (g *Group[T]) start() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.running.Add(1)
	return true
}
