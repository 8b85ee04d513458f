package main

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"time"

	"github.com/threatwinds/aiadmin/clients/runpod/standin"
	"github.com/threatwinds/aiadmin/tools/internal/load"
)

// acceptGrace is how long before SIGTERM a request must have been sent to
// count as accepted. A request sent on a kept-alive connection just before
// the signal may still sit unread in the socket when the server closes its
// idle connections: the server never accepted it, and the client sees the
// connection close. On loopback a request is read within microseconds;
// the grace covers a busy scheduler.
const acceptGrace = 100 * time.Millisecond

// runShutdown sends SIGTERM to aiadmin under load twice: with slow pod reads
// in flight that finish within --shutdown-timeout (each must be answered
// 200, and the process exit 0 once they are), and with pod reads hung past
// it (the process must exit within --shutdown-timeout all the same).
func runShutdown(ctx context.Context, e *env) *report {
	rep := newReport("sigterm", "aiadmin sent SIGTERM under load, with requests in flight")
	vk, err := e.launchValkey(ctx)
	if err != nil {
		rep.fail(err)
		return rep
	}
	addrs := []string{vk.Addr()}
	drain := e.cfg.pick(10*time.Second, 5*time.Second)
	slow := 1500 * time.Millisecond
	shutdownUnder(ctx, rep, e, addrs, "draining", drain, slow, 5*time.Second)
	if ctx.Err() == nil {
		shutdownUnder(ctx, rep, e, addrs, "hung", 2*time.Second, 20*time.Second, 30*time.Second)
	}
	return rep
}

// shutdownUnder runs one aiadmin with --shutdown-timeout shutdown under load
// whose pod reads take delay (RunPod answering that late, within
// runpodTimeout), sends it SIGTERM, and checks what was answered and when it
// exited. A delay past the shutdown timeout is the hung case: the requests
// in flight cannot finish, and the process must exit anyway.
func shutdownUnder(ctx context.Context, rep *report, e *env, addrs []string, name string, shutdown, delay, runpodTimeout time.Duration) {
	hung := delay > shutdown
	args := slices.Concat(e.baseArgs(addrs), e.fileAuthArgs(), []string{"--shutdown-timeout", shutdown.String(),
		"--runpod-timeout", runpodTimeout.String(), "--pod-cache-ttl", "1s"})
	p, err := e.startAiadmin(ctx, "sigterm-"+name, args...)
	if err != nil {
		rep.fail(err)
		return
	}
	defer p.kill()
	before, err := measureLevels(e, p, addrs)
	if err != nil {
		rep.fail(err)
		return
	}
	rep.figure("%s: --shutdown-timeout %s, RunPod answering pod reads in %s; before: %s", name, shutdown, delay, before)

	e.runpod.FaultNext(standin.OpMyself, -1, standin.Fault{Delay: delay})
	e.runpod.FaultNext(standin.OpPod, -1, standin.Fault{Delay: delay})
	defer e.runpod.ClearFaults()
	ops := slices.Concat(storeOps, podOps)
	client := load.NewClient(e.cfg.workers, time.Minute)
	defer client.CloseIdleConnections()
	l := load.Start(load.Options{Workers: e.cfg.workers, Pause: e.cfg.pause, Next: newMix(e, p, ops...).next, Client: client,
		Context: ctx, FailurePause: 20 * time.Millisecond})
	// Long enough that every worker has reached a slow pod read.
	sleep(ctx, time.Second+min(delay, 2*time.Second)/2)
	sigAt := time.Now()
	if err := p.signal(syscall.SIGTERM); err != nil {
		l.Stop()
		rep.fail(err)
		return
	}
	// Clients keep sending for a while; the server refuses them.
	sleep(ctx, 500*time.Millisecond)
	var exitedIn time.Duration
	select {
	case <-p.exited:
		exitedIn = p.exitedAt.Sub(sigAt)
	case <-time.After(shutdown + 10*time.Second):
		rep.expect(false, "%s: aiadmin did not exit within %s of SIGTERM", name, shutdown+10*time.Second)
	case <-ctx.Done():
	}
	l.Stop()

	rs := l.Recorder().Results()
	accepted := rs.Filter(func(r load.Result) bool { return r.Start.Before(sigAt.Add(-acceptGrace)) })
	inFlight := accepted.Filter(func(r load.Result) bool { return r.End().After(sigAt) })
	rep.answers(name+": sent before SIGTERM", accepted)
	rep.answers(name+": of those, in flight at SIGTERM", inFlight)
	rep.answers(name+fmt.Sprintf(": sent within %s before SIGTERM (not counted as accepted)", acceptGrace), rs.StartedIn(sigAt.Add(-acceptGrace), sigAt))
	rep.answers(name+": sent after SIGTERM", rs.StartedIn(sigAt, time.Now()))
	rep.figure("%s: exited %s after SIGTERM (%v)", name, ms(exitedIn), exitStatus(p.waitErr))
	if conns, err := valkeyClients(addrs); err == nil {
		rep.expect(conns == 0, "%s: no Valkey connection left after the exit: %d (%d before)", name, conns, before.conns)
	} else {
		rep.fail(err)
	}

	if hung {
		bound := shutdown + timeoutSlack
		rep.expect(exitedIn > 0 && exitedIn <= bound, "%s: with requests hung past it, exited within --shutdown-timeout + %s (%s): %s",
			name, timeoutSlack, bound, ms(exitedIn))
		rep.expect(len(inFlight.Filter(isOp(opPodList, opPodDetail, opSummary))) > 0, "%s: pod reads were hung at SIGTERM", name)
		return
	}
	rep.expect(exitedIn > 0 && exitedIn <= shutdown, "%s: exited within --shutdown-timeout %s: %s", name, shutdown, ms(exitedIn))
	rep.expect(p.waitErr == nil, "%s: exit status 0 once the requests in flight were answered: %v", name, exitStatus(p.waitErr))
	rep.onlyAnswers(name+": every request sent before SIGTERM completed", accepted, "200")
	rep.expect(len(inFlight) > 0, "%s: %d requests were in flight at SIGTERM, the longest answered %s after it",
		name, len(inFlight), ms(latestEnd(inFlight).Sub(sigAt)))
}

// latestEnd is when the last of rs was answered.
func latestEnd(rs load.Results) time.Time {
	var t time.Time
	for _, r := range rs {
		if r.End().After(t) {
			t = r.End()
		}
	}
	return t
}

// exitStatus describes a process's exit.
func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}
