package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
	"github.com/threatwinds/aiadmin/tools/internal/load"
)

// warmUp is how long a fresh aiadmin serves the scenario's load before its
// levels are measured, so that they are those of a process at work.
const warmUp = 1500 * time.Millisecond

// stage is one aiadmin serving the tool's load during a scenario: its levels
// before the fault, and the client that loads it.
type stage struct {
	// ctx ends when the run is interrupted.
	ctx    context.Context
	e      *env
	rep    *report
	p      *aiadminProc
	addrs  []string
	client *http.Client
	before levels
}

// launchValkey starts a standalone Valkey for one scenario, seeded with the
// tool's fleet; Close stops it.
func (e *env) launchValkey(ctx context.Context) (*valkeytest.Server, error) {
	vk, err := valkeytest.Launch(e.dir)
	if err != nil {
		return nil, err
	}
	e.onClose(vk.Stop)
	if err := e.seed(ctx, []string{vk.Addr()}); err != nil {
		return nil, err
	}
	return vk, nil
}

// openStage starts aiadmin with args against the Valkey at addrs, serves it
// warm-up load from warm, and measures its levels.
func (e *env) openStage(ctx context.Context, rep *report, addrs []string, warm func(*stage) func(worker, n int) load.Request, args ...string) (*stage, error) {
	p, err := e.startAiadmin(ctx, rep.name, args...)
	if err != nil {
		return nil, err
	}
	s := &stage{ctx: ctx, e: e, rep: rep, p: p, addrs: addrs, client: load.NewClient(max(e.cfg.workers, e.cfg.conns), 60*time.Second)}
	if warm != nil {
		l := s.steady(warm(s))
		sleep(ctx, warmUp)
		l.Stop()
		if bad := l.Recorder().Results().Filter(func(r load.Result) bool { return !r.OK() }); len(bad) > 0 {
			return s, fmt.Errorf("warming up: %d of %d answers failed before any fault, the first %s", len(bad), len(l.Recorder().Results()), bad[0])
		}
	}
	s.client.CloseIdleConnections()
	s.before, err = measureLevels(e, p, addrs)
	if err != nil {
		return s, err
	}
	rep.figure("aiadmin %s; before the fault: %s", p.base, s.before)
	return s, nil
}

// steady runs the steady load of the configuration (its workers, each
// pausing between requests) on the stage's client until Stop.
func (s *stage) steady(next func(worker, n int) load.Request) *load.Load {
	return s.startWith(load.Options{Workers: s.e.cfg.workers, Pause: s.e.cfg.pause, Next: next, Context: s.ctx})
}

// startWith runs load as o says, on the stage's client.
func (s *stage) startWith(o load.Options) *load.Load {
	o.Client = s.client
	return load.Start(o)
}

// finish checks that the levels came back and stops aiadmin, which must
// exit cleanly on SIGTERM.
func (s *stage) finish() {
	s.client.CloseIdleConnections()
	if s.ctx.Err() != nil {
		// Interrupted: nothing is measured, and Close kills the process.
		s.rep.fail(fmt.Errorf("interrupted: %w", s.ctx.Err()))
		return
	}
	if !s.p.running() {
		s.rep.expect(false, "aiadmin still running after the scenario: it exited (%v):\n%s", s.p.waitErr, s.p.logTail(10))
		return
	}
	settle(s.rep, s.e, s.p, s.addrs, s.before)
	if err := s.p.stop(30 * time.Second); err != nil {
		s.rep.expect(false, "aiadmin stops cleanly on SIGTERM after the scenario: %v", err)
	}
}

// mixOf is a warm-up function sending ops with the tool's token.
func mixOf(ops ...string) func(*stage) func(worker, n int) load.Request {
	return func(s *stage) func(worker, n int) load.Request { return newMix(s.e, s.p, ops...).next }
}

// sleep waits d or until ctx ends, and reports whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
