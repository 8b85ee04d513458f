package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
	"github.com/threatwinds/aiadmin/tools/internal/load"
)

// The bounds for a Valkey outage.
const (
	// valkey503Bound: each 503 while the store is down comes within it.
	valkey503Bound = 500 * time.Millisecond
	// valkeyRecoveryBound: 200s again within it of the store's return.
	valkeyRecoveryBound = time.Second
	// failoverRecoveryBound: 200s again within it of a replica's promotion.
	failoverRecoveryBound = 2 * time.Second
)

// The documented answers of a request whose store failed: unreachable or
// slow, or answering with an error (a cluster without a master for a slot
// refuses commands with CLUSTERDOWN).
const (
	storeDown    = "503 valkey unavailable"
	storeRefused = "503 valkey error"
)

// runValkey kills the standalone Valkey under load and starts it again on
// the same port: aiadmin answers 200 or a quick 503 meanwhile, and 200
// again within a second of the store's return, as the same process.
func runValkey(ctx context.Context, e *env) *report {
	down := e.cfg.pick(6*time.Second, 3*time.Second)
	rep := newReport("valkey", fmt.Sprintf("the standalone Valkey killed under load for %s, then restarted on its port", down))
	vk, err := e.launchValkey(ctx)
	if err != nil {
		rep.fail(err)
		return rep
	}
	addrs := []string{vk.Addr()}
	ops := slices.Concat(storeOps, podOps)
	st, err := e.openStage(ctx, rep, addrs, mixOf(ops...), slices.Concat(e.baseArgs(addrs), e.fileAuthArgs())...)
	if err != nil {
		rep.fail(err)
		return rep
	}
	defer st.finish()
	pid := st.p.cmd.Process.Pid

	l := st.steady(newMix(e, st.p, ops...).next)
	sleep(ctx, e.cfg.pick(3*time.Second, 1500*time.Millisecond))
	killedAt := time.Now()
	vk.Stop()
	sleep(ctx, down)
	if err := vk.Restart(); err != nil {
		l.Stop()
		rep.fail(err)
		return rep
	}
	backAt := time.Now()
	sleep(ctx, e.cfg.pick(5*time.Second, 3*time.Second))
	l.Stop()

	rs := l.Recorder().Results()
	rep.answers("all", rs)
	rep.answers("sent while Valkey was down", rs.StartedIn(killedAt, backAt))
	rep.answers("sent after it answered again", rs.StartedIn(backAt, time.Now()))
	rep.onlyAnswers("every answer", rs, "200", storeDown)
	down503 := rs.Filter(isKey(storeDown))
	rep.figure("503s: p50 %s, p99 %s, slowest %s", ms(down503.Quantile(0.5)), ms(down503.Quantile(0.99)), ms(down503.Quantile(1)))
	rep.within("every 503", down503, valkey503Bound, ms(valkey503Bound))
	checkRecovery(rep, rs, backAt, valkeyRecoveryBound, "the store answered PING again")
	rep.expect(st.p.running() && st.p.cmd.Process.Pid == pid, "the same aiadmin process (pid %d) served throughout", pid)
	return rep
}

// checkRecovery checks that every request sent from recoveryBound after
// back on answered 200.
func checkRecovery(rep *report, rs load.Results, back time.Time, recoveryBound time.Duration, backText string) {
	rec, ok := rs.Recovery(back, load.Result.OK)
	rep.figure("recovery: every request sent from %s after %s on answered 200", ms(rec), backText)
	rep.expect(ok && rec <= recoveryBound, "200s again within %s of when %s: %s", recoveryBound, backText, ms(rec))
	if slow := rs.Filter(isKey("200")).StartedIn(back, back.Add(time.Hour)); len(slow) > 0 {
		rep.figure("200s after the return: p50 %s, p99 %s", ms(slow.Quantile(0.5)), ms(slow.Quantile(0.99)))
	}
}

// runCluster kills the master of the registry's slot in a cluster of three
// masters with a replica each: aiadmin answers 200 or 503 during the
// failover, and 200 again within 2 s of the replica's promotion, which the
// tool watches for with INFO replication.
func runCluster(ctx context.Context, e *env) *report {
	rep := newReport("cluster", "a master of a 3-master, 3-replica Valkey cluster killed under load")
	cl, err := valkeytest.LaunchCluster(e.dir, 3, 1, "--cluster-node-timeout", "2000")
	if err != nil {
		rep.fail(err)
		return rep
	}
	e.onClose(cl.Stop)
	addrs := cl.Addrs()
	if err := e.seed(ctx, addrs); err != nil {
		rep.fail(err)
		return rep
	}
	// The registry lives in one slot: its master serves the registry reads
	// and /servers' reloads.
	master, replicas, err := valkeytest.MasterFor(addrs[0], "{aiadmin:reg}:servers:vllm")
	if err != nil || len(replicas) != 1 {
		rep.fail(fmt.Errorf("finding the registry's master and its replica: %v %v", replicas, err))
		return rep
	}
	replica := replicas[0]
	rep.figure("nodes %s; killing %s, the registry's master; its replica is %s", strings.Join(addrs, " "), master, replica)

	ops := slices.Concat(storeOps, podOps)
	st, err := e.openStage(ctx, rep, addrs, mixOf(ops...), slices.Concat(e.baseArgs(addrs), e.fileAuthArgs())...)
	if err != nil {
		rep.fail(err)
		return rep
	}
	defer st.finish()

	l := st.steady(newMix(e, st.p, ops...).next)
	sleep(ctx, e.cfg.pick(3*time.Second, 1500*time.Millisecond))
	killedAt := time.Now()
	cl.Node(master).Stop()
	promotedAt, err := waitPromotion(ctx, replica, 30*time.Second)
	if err != nil {
		l.Stop()
		rep.fail(err)
		return rep
	}
	sleep(ctx, e.cfg.pick(5*time.Second, 3*time.Second))
	l.Stop()

	rs := l.Recorder().Results()
	rep.figure("replica %s promoted %s after the kill", replica, ms(promotedAt.Sub(killedAt)))
	rep.answers("all", rs)
	rep.answers("sent during the failover", rs.StartedIn(killedAt, promotedAt))
	rep.onlyAnswers("every answer", rs, "200", storeDown, storeRefused)
	if s, ok := rs.Filter(isKey(storeDown, storeRefused)).Slowest(); ok {
		rep.figure("slowest 503: %s", s)
	}
	checkRecovery(rep, rs, promotedAt, failoverRecoveryBound, "the replica was promoted")

	// The killed node comes back as a replica of the new master, so that
	// the connections are counted over the same six nodes as before.
	if err := cl.Node(master).Restart(); err != nil {
		rep.fail(err)
	} else if _, err := waitRole(ctx, master, "slave", 30*time.Second); err != nil {
		rep.fail(fmt.Errorf("the killed master rejoining as a replica: %w", err))
	}
	return rep
}

// waitPromotion watches the replica at addr until it reports role:master and
// returns when it first did.
func waitPromotion(ctx context.Context, addr string, timeout time.Duration) (time.Time, error) {
	at, err := waitRole(ctx, addr, "master", timeout)
	if err != nil {
		return at, fmt.Errorf("replica %s not promoted: %w", addr, err)
	}
	return at, nil
}

// waitRole polls the node at addr every 10 ms until INFO replication reports
// role, and returns the time of the first such answer.
func waitRole(ctx context.Context, addr, role string, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		got, err := valkeytest.Role(addr)
		if err == nil && got == role {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("role %q after %s, want %s (%v)", got, timeout, role, err)
		}
		if !sleep(ctx, 10*time.Millisecond) {
			return time.Time{}, ctx.Err()
		}
	}
}
