package pods

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/threatwinds/aiadmin/clients/fleet"
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

// RestartLocker holds named leases shared by every replica, so that two
// replicas never restart one pod at the same time; *fleet.Store implements
// it.
type RestartLocker interface {
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

var _ RestartLocker = (*fleet.Store)(nil)

// Restart stops the fleet pod id and resumes it with its GPU count; a spot
// pod resumes with a bid of what it paid per GPU (runpod.Pod.BidPerGPU) so
// that it runs again at the price it ran at. Two restarts of one pod never
// interleave their calls: the second waits for the first, on this replica
// for the pod's lock, across replicas for the pod's restart lease, or gives
// up with ErrRestartInProgress when ctx ends while it waits. Once the pod is
// read, the calls run to the end even if ctx is cancelled, so a pod is never
// left stopped because its caller went away; each call is bounded by the
// RunPod client's timeout. Any attempt to stop the pod invalidates the
// cached list and the pod's last read.
func (c *Catalog) Restart(ctx context.Context, id string) error {
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
		return &CallError{Call: CallGet, Err: fmt.Errorf("pod %s reports %d gpus: %w", id, e.pod.GPUCount, ErrNotResumable)}
	}
	spot, bid := e.pod.IsSpot(), e.pod.BidPerGPU()
	if spot && bid <= 0 {
		return &CallError{Call: CallGet, Err: fmt.Errorf("spot pod %s reports no cost to bid with: %w", id, ErrNotResumable)}
	}
	defer c.invalidate(id)
	if err := c.src.StopPod(ctx, id); err != nil {
		return &CallError{Call: CallStop, Err: err}
	}
	resume := func() error { return c.src.ResumePod(ctx, id, e.pod.GPUCount) }
	if spot {
		resume = func() error { return c.src.BidResumePod(ctx, id, e.pod.GPUCount, bid) }
	}
	if err := resume(); err != nil {
		return &CallError{Call: CallResume, Err: err}
	}
	return nil
}

// acquireRestartLease takes pod id's restart lease for this attempt, waiting
// while another replica holds it, and returns the function that gives it
// back. Without a RestartLocker there is nothing to take.
func (c *Catalog) acquireRestartLease(ctx context.Context, id string) (release func(), err error) {
	locker := c.opts.RestartLocker
	if locker == nil {
		return func() {}, nil
	}
	name, holder := fleet.RestartLeaseName(id), newRestartHolder()
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
