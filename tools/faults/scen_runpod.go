package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/threatwinds/aiadmin/clients/runpod/standin"
	"github.com/threatwinds/aiadmin/tools/internal/load"
)

// The RunPod scenario's settings: a short call timeout so that the slow
// phase times out often, and a short list TTL so that the list expires
// within every phase.
const (
	runpodTimeout = time.Second
	podCacheTTL   = time.Second
	// podMaxStale is --pod-cache-max-stale, where the binary has it.
	podMaxStale = 3 * time.Second
)

// runpodAPIError is a pod operation's answer when RunPod failed.
const runpodAPIError = "502 runpod API error"

// runpodPhase is one way RunPod fails, and what aiadmin must answer.
type runpodPhase struct {
	name string
	// inject applies the fault; ClearFaults and runpodReachable end it.
	inject func(e *env)
	// readsFail: pod reads may answer 502, with readDetail.
	readsFail  bool
	readDetail string
	// failedAt is a failed restart's failed_at ("" when reading the pod
	// failed), restartDetail its detail, restartCalls the RunPod calls it
	// makes before it fails, each bounded by the timeout.
	failedAt      string
	restartDetail string
	restartCalls  int
	// retried: every failed read was tried three times (429 and 5xx).
	retried bool
}

// faultReads makes every read of RunPod suffer f until ClearFaults.
func faultReads(f standin.Fault) func(e *env) {
	return func(e *env) {
		e.runpod.FaultNext(standin.OpMyself, -1, f)
		e.runpod.FaultNext(standin.OpPod, -1, f)
	}
}

var runpodPhases = []runpodPhase{
	{name: "slow past --runpod-timeout", inject: faultReads(standin.Fault{Delay: runpodTimeout + 500*time.Millisecond}),
		readsFail: true, readDetail: "RunPod did not answer in time", restartDetail: "RunPod did not answer in time", restartCalls: 1},
	{name: "throttling (429)", inject: faultReads(standin.Fault{Status: 429}),
		readsFail: true, readDetail: "RunPod answered 429", restartDetail: "RunPod answered 429", restartCalls: 1, retried: true},
	{name: "failing (500)", inject: faultReads(standin.Fault{Status: 500}),
		readsFail: true, readDetail: "RunPod answered 500", restartDetail: "RunPod answered 500", restartCalls: 1, retried: true},
	{name: "GraphQL errors", inject: faultReads(standin.Fault{GraphQLError: "internal error"}),
		readsFail: true, readDetail: "RunPod refused the request", restartDetail: "RunPod refused the request", restartCalls: 1},
	{name: "unreachable", inject: func(e *env) { e.runpodUp.down() },
		readsFail: true, readDetail: "RunPod could not be reached", restartDetail: "RunPod could not be reached", restartCalls: 1},
	{name: "stop failing (500)", inject: func(e *env) { e.runpod.FaultNext(standin.OpPodStop, -1, standin.Fault{Status: 500}) },
		failedAt: "stop", restartDetail: "RunPod answered 500", restartCalls: 2},
	{name: "resume refused (GraphQL error)", inject: func(e *env) {
		f := standin.Fault{GraphQLError: "no longer any instances available"}
		e.runpod.FaultNext(standin.OpPodResume, -1, f)
		e.runpod.FaultNext(standin.OpPodBidResume, -1, f)
	}, failedAt: "resume", restartDetail: "RunPod refused the request", restartCalls: 3},
}

// runRunPod runs the pod operations and the store operations under load
// while RunPod fails in each way in turn, with a recovery between them.
func runRunPod(ctx context.Context, e *env) *report {
	faultFor, recoverFor := e.cfg.pick(4*time.Second, 2500*time.Millisecond), runpodTimeout+e.cfg.pick(2*time.Second, 1500*time.Millisecond)
	rep := newReport("runpod", fmt.Sprintf("RunPod failing in %d ways, %s each, under load with restarts", len(runpodPhases), faultFor))
	vk, err := e.launchValkey(ctx)
	if err != nil {
		rep.fail(err)
		return rep
	}
	addrs := []string{vk.Addr()}
	args := slices.Concat(e.baseArgs(addrs), e.fileAuthArgs(),
		[]string{"--runpod-timeout", runpodTimeout.String(), "--pod-cache-ttl", podCacheTTL.String()})
	stale := e.flags["pod-cache-max-stale"]
	if stale {
		args = append(args, "--pod-cache-max-stale", podMaxStale.String())
		rep.figure("--runpod-timeout %s, --pod-cache-ttl %s, --pod-cache-max-stale %s", runpodTimeout, podCacheTTL, podMaxStale)
	} else {
		rep.figure("--runpod-timeout %s, --pod-cache-ttl %s; this aiadmin has no --pod-cache-max-stale: pod reads past the TTL answer 502", runpodTimeout, podCacheTTL)
	}
	ops := slices.Concat(storeOps, podOps)
	st, err := e.openStage(ctx, rep, addrs, mixOf(ops...), args...)
	if err != nil {
		rep.fail(err)
		return rep
	}
	defer st.finish()

	rec := &load.Recorder{}
	reads := st.startWith(load.Options{Workers: e.cfg.workers, Pause: e.cfg.pause, Next: newMix(e, st.p, ops...).next, Recorder: rec, Context: ctx})
	// One operator restarting pod after pod, a tenth of a second apart.
	restarts := st.startWith(load.Options{Workers: 1, Next: newMix(e, st.p, opRestart).next, Pause: 100 * time.Millisecond, Recorder: rec, Context: ctx})
	sleep(ctx, recoverFor)
	type window struct {
		phase             runpodPhase
		from, to, until   time.Time
		podCalls, podDone int
	}
	var windows []window
	for _, ph := range runpodPhases {
		if ctx.Err() != nil {
			break
		}
		w := window{phase: ph, podCalls: e.runpod.Calls(standin.OpPod)}
		ph.inject(e)
		w.from = time.Now()
		sleep(ctx, faultFor)
		w.podDone = e.runpod.Calls(standin.OpPod) - w.podCalls
		w.to = time.Now()
		e.runpod.ClearFaults()
		if err := e.runpodUp.up(); err != nil {
			rep.fail(err)
		}
		sleep(ctx, recoverFor)
		w.until = time.Now()
		windows = append(windows, w)
	}
	reads.Stop()
	restarts.Stop()

	rs := rec.Results()
	rep.answers("all", rs)
	rep.onlyAnswers("store operations, whatever RunPod did", rs.Filter(isOp(storeOps...)), "200")
	for _, w := range windows {
		checkRunPodPhase(rep, w.phase, rs.StartedIn(w.from, w.to), w.to, w.podDone, stale)
		// A request still running when the next fault began may suffer it.
		after := rs.StartedIn(w.to, w.until).Filter(func(r load.Result) bool {
			return (slices.Contains(podOps, r.Op) || r.Op == opRestart) && r.End().Before(w.until)
		})
		rec, ok := after.Recovery(w.to, load.Result.OK)
		bound := runpodTimeout + timeoutSlack
		rep.expect(ok && rec <= bound, "%s: pod operations answer 200 again within %s of the fault's end (a call begun during it may still fail, --runpod-timeout + %s): %s",
			w.phase.name, bound, timeoutSlack, ms(rec))
	}
	return rep
}

// checkRunPodPhase checks the answers of the requests sent while RunPod
// failed as ph says; end is when the fault ended and podCalls how many
// calls of the pod query RunPod received meanwhile.
func checkRunPodPhase(rep *report, ph runpodPhase, rs load.Results, end time.Time, podCalls int, stale bool) {
	reads := rs.Filter(isOp(podOps...))
	// A restart that reads the pod after the fault ended succeeds: only those
	// answered before it ended must fail.
	restarts := rs.Filter(func(r load.Result) bool { return r.Op == opRestart && r.End().Before(end) })
	rep.answers(ph.name+": pod reads", reads)
	rep.answers(ph.name+": restarts", restarts)

	if !ph.readsFail {
		rep.onlyAnswers(ph.name+": pod reads", reads, "200")
	} else {
		rep.onlyAnswers(ph.name+": pod reads", reads, "200", runpodAPIError)
		failed := reads.Filter(isKey(runpodAPIError))
		if len(failed) == 0 && stale {
			// A phase shorter than --pod-cache-max-stale is answered from
			// the last list throughout; checkDataAge checks its age.
			rep.expect(true, "%s: pod reads' 502s: none, every read was answered from a list within --pod-cache-max-stale", ph.name)
		} else {
			rep.within(ph.name+": pod reads' 502s", failed, runpodTimeout+timeoutSlack, fmt.Sprintf("--runpod-timeout + %s", timeoutSlack))
		}
		expectDetail(rep, ph.name+": pod reads' 502s", failed, ph.readDetail)
	}
	if stale {
		checkDataAge(rep, ph.name, reads)
	}

	rep.onlyAnswers(ph.name+": restarts", restarts, runpodAPIError)
	expectDetail(rep, ph.name+": restarts", restarts, ph.restartDetail)
	wrongPhase := restarts.Filter(func(r load.Result) bool { return r.FailedAt != ph.failedAt })
	phase := "no failed_at: the pod could not be read, nothing was stopped"
	if ph.failedAt != "" {
		phase = "failed_at " + ph.failedAt
	}
	if len(wrongPhase) == 0 {
		rep.expect(len(restarts) > 0, "%s: every restart answered 502 with %s (%d)", ph.name, phase, len(restarts))
	} else {
		rep.expect(false, "%s: every restart should answer 502 with %s, but %d did not, the first with failed_at %q",
			ph.name, phase, len(wrongPhase), wrongPhase[0].FailedAt)
	}
	bound := time.Duration(ph.restartCalls)*runpodTimeout + timeoutSlack
	rep.within(ph.name+": restarts", restarts, bound, fmt.Sprintf("%d × --runpod-timeout + %s", ph.restartCalls, timeoutSlack))

	if ph.retried {
		// Each pod read that failed within the phase (a detail or a
		// restart's read) made its three calls within it.
		reads := rs.Filter(func(r load.Result) bool {
			return (r.Op == opPodDetail || r.Op == opRestart) && r.Key() == runpodAPIError && r.End().Before(end)
		})
		rep.expect(podCalls >= 3*len(reads), "%s: reads retried: RunPod received %d pod queries for %d failed pod reads (3 each: 2 retries)",
			ph.name, podCalls, len(reads))
	}
}

// expectDetail checks that every result in rs has the detail want.
func expectDetail(rep *report, what string, rs load.Results, want string) {
	bad := rs.Filter(func(r load.Result) bool { return r.Detail != want })
	if len(bad) == 0 {
		rep.expect(true, "%s: detail %q (%d)", what, want, len(rs))
		return
	}
	rep.expect(false, "%s: detail %q expected, %d had another, the first %s", what, want, len(bad), bad[0])
}

// checkDataAge checks that a pod read served from a list older than its TTL
// says so with x-data-age, within the staleness bound.
func checkDataAge(rep *report, phase string, reads load.Results) {
	oldest := -1
	for _, r := range reads {
		if r.DataAge == "" {
			continue
		}
		age, err := strconv.Atoi(r.DataAge)
		if err != nil {
			rep.expect(false, "%s: x-data-age %q is not a number of seconds", phase, r.DataAge)
			return
		}
		oldest = max(oldest, age)
	}
	if oldest < 0 {
		rep.figure("%s: no answer served from a stale list", phase)
		return
	}
	rep.expect(time.Duration(oldest)*time.Second <= podMaxStale, "%s: stale pod lists within --pod-cache-max-stale %s: oldest x-data-age %ds", phase, podMaxStale, oldest)
}
