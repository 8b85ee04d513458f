package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/threatwinds/aiadmin/clients/aiadmin"
)

// The steps of pods cycle, in order; each prints one line when done.
const (
	stepDrain   = "drain"
	stepIdle    = "idle"
	stepRestart = "restart"
	stepHealthy = "healthy"
	stepUndrain = "undrain"
)

// cycleFlags are the settings of pods cycle.
type cycleFlags struct {
	yes          bool
	reason       string
	drainTimeout time.Duration
	readyTimeout time.Duration
	pollInterval time.Duration
}

const cycleLong = `Restart a pod gracefully, as an operator would by hand:
  drain    drain the pod's backend URL: no new sessions go to it
  idle     wait until it has no request in flight (--drain-timeout)
  restart  restart the pod (RunPod stops it, then resumes it)
  healthy  wait until the pod is RUNNING and healthy, judged by a probe made
           after the restart (--ready-timeout)
  undrain  put the URL back in rotation
Each step prints one line as it completes (with -o json, one JSON object per
step). A pod whose URL was drained before the cycle is left drained at the
end, with the reason it had.

When a wait times out, the restart fails, or the cycle is interrupted
(Ctrl-C, SIGTERM), it stops where it is and leaves the URL drained, and
says so with the command that undrains it. Exit codes besides the usual:
  6    the restart failed (RunPod or the server), or another 5xx
  8    a wait timed out; the URL is left drained
  130  interrupted; the URL is left drained
On a terminal it asks first; without one it refuses unless --yes is given.`

func newPodsCycleCmd(a *app) *cobra.Command {
	var f cycleFlags
	cmd := &cobra.Command{
		Use:   "cycle POD_ID",
		Short: "Restart a pod gracefully: drain, wait idle, restart, wait healthy, undrain",
		Long:  cycleLong,
		Example: `  aiadminctl pods cycle inzk6tzuz833h5
  aiadminctl pods cycle inzk6tzuz833h5 --yes --drain-timeout 15m --reason "new image"`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completePodIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.drainTimeout <= 0 || f.readyTimeout <= 0 || f.pollInterval <= 0 {
				return usagef("--drain-timeout, --ready-timeout and --poll-interval must be positive")
			}
			id := args[0]
			if err := a.confirm("cycling pod "+id, fmt.Sprintf("Cycle pod %s? Its URL is drained, the pod restarted once idle, and undrained once healthy.", id), f.yes); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			// A signal stops the cycle where it is rather than killing it
			// midway without a word: the operator learns what state the pod
			// is left in.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			cy := &cycle{a: a, c: c, id: id, f: f}
			return cy.run(ctx)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.reason, "reason", "aiadminctl pods cycle", "drain reason shown by servers list while the cycle runs")
	fl.DurationVar(&f.drainTimeout, "drain-timeout", 5*time.Minute, "how long to wait for the requests in flight to finish")
	fl.DurationVar(&f.readyTimeout, "ready-timeout", 10*time.Minute, "how long to wait for the restarted pod to be healthy")
	fl.DurationVar(&f.pollInterval, "poll-interval", 2*time.Second, "how often to look while waiting")
	addYesFlag(cmd, &f.yes)
	return cmd
}

// cycle is one run of pods cycle.
type cycle struct {
	a     *app
	c     *aiadmin.Client
	id    string
	url   string
	f     cycleFlags
	since time.Time
	// restartSent is set once the restart request is sent.
	restartSent bool
}

// left says what a stopped cycle leaves behind.
type left int

const (
	leftNothing      left = iota // nothing was changed
	leftMaybeDrained             // the drain was sent, its answer lost
	leftDrained                  // the URL is drained
)

var (
	// errInterrupted is the cause of a cycle stopped by a signal.
	errInterrupted = errors.New("interrupted")
	// errNotInPool means the pod's URL is in no server pool, so its health
	// cannot be followed.
	errNotInPool = errors.New("in no server pool")
)

// cycleStop is a pods cycle that stopped before its end. Its message says
// at which step, why, and in what state the pod's URL is left.
type cycleStop struct {
	step  string
	url   string
	left  left
	cause error
	// code is the exit code when the cause does not decide it (a timeout,
	// an interruption); 0 otherwise.
	code int
	// restartSent says the restart request left, answered or not.
	restartSent bool
}

func (e *cycleStop) Error() string {
	msg := fmt.Sprintf("pods cycle stopped at %s: %s", e.step, strings.TrimPrefix(e.cause.Error(), "aiadmin: "))
	if errors.Is(e.cause, errInterrupted) {
		msg = "pods cycle interrupted at " + e.step
		if e.restartSent {
			msg += " (the restart may still happen)"
		}
	}
	switch e.left {
	case leftNothing:
		return msg + "; nothing was changed"
	case leftMaybeDrained:
		return fmt.Sprintf("%s; %s may be drained (see servers list): undrain it with: aiadminctl servers undrain %s --yes", msg, e.url, e.url)
	default:
		return fmt.Sprintf("%s; %s is left drained: undrain it with: aiadminctl servers undrain %s --yes", msg, e.url, e.url)
	}
}

func (e *cycleStop) Unwrap() error { return e.cause }

// run performs the steps in order, stopping at the first that fails.
func (cy *cycle) run(ctx context.Context) error {
	pod, err := cy.c.GetPod(ctx, cy.id)
	if err != nil {
		return cy.stop(ctx, stepDrain, leftNothing, err)
	}
	cy.url = pod.Url
	wasDrained := pod.Draining
	if wasDrained {
		if err := cy.step(stepDrain, "%s was already drained; the cycle leaves it drained", cy.url); err != nil {
			return err
		}
	} else {
		if _, err := cy.c.DrainServer(ctx, cy.url, cy.f.reason); err != nil {
			var ae *aiadmin.APIError
			if errors.As(err, &ae) {
				return cy.stop(ctx, stepDrain, leftNothing, err)
			}
			return cy.stop(ctx, stepDrain, leftMaybeDrained, err)
		}
		if err := cy.step(stepDrain, "%s drained: no new sessions (reason: %s)", cy.url, cy.f.reason); err != nil {
			return err
		}
	}

	cy.since = cy.a.now()
	if err := cy.wait(ctx, stepIdle, cy.f.drainTimeout, cy.idle); err != nil {
		return err
	}
	if err := cy.step(stepIdle, "no requests in flight (after %s)", cy.elapsed()); err != nil {
		return err
	}

	// The last probe before the restart: only a later one can say the
	// restarted pod is healthy.
	before, err := cy.lastCheck(ctx)
	if err != nil {
		return cy.stop(ctx, stepRestart, leftDrained, err)
	}
	cy.restartSent = true
	if _, err := cy.c.RestartPod(ctx, cy.id); err != nil {
		return cy.stop(ctx, stepRestart, leftDrained, err)
	}
	if err := cy.step(stepRestart, "pod %s: restart initiated", cy.id); err != nil {
		return err
	}
	// A probe that ended while RunPod stopped the pod may still have seen
	// it up; raising the bound now leaves it out.
	if after, err := cy.lastCheck(ctx); err == nil {
		before = max(before, after)
	}

	cy.since = cy.a.now()
	if err := cy.wait(ctx, stepHealthy, cy.f.readyTimeout, cy.ready(before)); err != nil {
		return err
	}
	if err := cy.step(stepHealthy, "pod %s: RUNNING and healthy (after %s)", cy.id, cy.elapsed()); err != nil {
		return err
	}

	if wasDrained {
		return cy.step(stepUndrain, "skipped: %s was drained before the cycle and stays drained", cy.url)
	}
	if _, err := cy.c.UndrainServer(ctx, cy.url); err != nil {
		return cy.stop(ctx, stepUndrain, leftDrained, err)
	}
	return cy.step(stepUndrain, "%s back in rotation", cy.url)
}

// stop ends the cycle at step; a signal, whatever error it caused, is
// reported as the interruption it is.
func (cy *cycle) stop(ctx context.Context, step string, l left, err error) error {
	if ctx.Err() != nil {
		err = errInterrupted
	}
	cs := &cycleStop{step: step, url: cy.url, left: l, cause: err, restartSent: cy.restartSent}
	switch {
	case errors.Is(err, errInterrupted):
		cs.code = exitInterrupted
	case errors.Is(err, errNotInPool):
		cs.code = exitNotFound
	}
	return cs
}

// step prints that a step is done: one line, or one JSON object with -o json.
func (cy *cycle) step(name, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if cy.a.output == "json" {
		return cy.a.printJSONLine(struct {
			Step    string    `json:"step"`
			PodID   string    `json:"pod_id"`
			URL     string    `json:"url"`
			At      time.Time `json:"at"`
			Message string    `json:"message"`
		}{name, cy.id, cy.url, cy.a.now().UTC(), msg})
	}
	return cy.a.printText("%-8s %s", name, cellText(msg))
}

func (cy *cycle) elapsed() time.Duration {
	return cy.a.now().Sub(cy.since).Round(time.Second)
}

// check looks once at what a wait waits for: done, or else what it saw.
type check func(ctx context.Context) (done bool, seen string, err error)

// wait calls look every poll interval until it is done, timeout passes or
// ctx ends. A server failure or a lost connection is looked at again (the
// server may be restarting too); a refusal of the request stops the wait.
func (cy *cycle) wait(ctx context.Context, step string, timeout time.Duration, look check) error {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(cy.f.pollInterval)
	defer tick.Stop()
	seen := "nothing read yet"
	for {
		done, s, err := look(wctx)
		switch {
		case ctx.Err() != nil:
			return cy.stop(ctx, step, leftDrained, errInterrupted)
		case err == nil && done:
			return nil
		case err == nil:
			seen = s
		case wctx.Err() != nil:
			// The deadline passed during the request: a timeout.
		case transient(err):
			seen = "the last look failed: " + err.Error()
		default:
			return cy.stop(ctx, step, leftDrained, err)
		}
		select {
		case <-ctx.Done():
			return cy.stop(ctx, step, leftDrained, errInterrupted)
		case <-wctx.Done():
			return &cycleStop{step: step, url: cy.url, left: leftDrained, code: exitTimeout, restartSent: cy.restartSent,
				cause: fmt.Errorf("timed out after %s (%s)", timeout, seen)}
		case <-tick.C:
		}
	}
}

// transient says whether a failed look may succeed later: a server failure
// or a connection error, not a refusal or an answer outside the contract.
func transient(err error) bool {
	var ae *aiadmin.APIError
	if errors.As(err, &ae) {
		return ae.Status >= 500
	}
	return !errors.Is(err, aiadmin.ErrBadResponse)
}

// idle is done when the pod's URL has no request in flight.
func (cy *cycle) idle(ctx context.Context) (bool, string, error) {
	d, err := cy.c.GetPodDemand(ctx, cy.url)
	if err != nil {
		return false, "", err
	}
	return d.Inflight == 0, fmt.Sprintf("requests still in flight: %d", d.Inflight), nil
}

// ready is done when the pod is RUNNING and healthy, and the pool's last
// probe of its URL came after before and succeeded: the health verdict of
// the pod from before the restart does not count.
func (cy *cycle) ready(before int64) check {
	return func(ctx context.Context) (bool, string, error) {
		p, err := cy.c.GetPod(ctx, cy.id)
		switch {
		case err != nil:
			return false, "", err
		case p.DesiredStatus != "RUNNING":
			return false, "the pod is " + p.DesiredStatus, nil
		case p.Healthy == nil:
			return false, "the pod's URL is in no server pool", nil
		case !*p.Healthy:
			return false, "the pod is RUNNING, not healthy yet", nil
		}
		servers, err := cy.servers(ctx)
		if err != nil {
			return false, "", err
		}
		if len(servers) == 0 {
			return false, "the pod's URL is in no server pool", nil
		}
		for _, s := range servers {
			if s.LastCheckMs <= before || s.ConsecutiveFailures > 0 || !s.Healthy {
				return false, "no successful probe since the restart yet", nil
			}
		}
		return true, "", nil
	}
}

// lastCheck returns when the pool last probed the pod's URL (epoch ms, the
// server's clock).
func (cy *cycle) lastCheck(ctx context.Context) (int64, error) {
	servers, err := cy.servers(ctx)
	if err != nil {
		return 0, err
	}
	if len(servers) == 0 {
		return 0, fmt.Errorf("%s is %w: its health cannot be followed", cy.url, errNotInPool)
	}
	var last int64
	for _, s := range servers {
		last = max(last, s.LastCheckMs)
	}
	return last, nil
}

// servers returns the pool's entries for the pod's URL: one per provider
// that lists it.
func (cy *cycle) servers(ctx context.Context) ([]aiadmin.Server, error) {
	var out []aiadmin.Server
	for s, err := range cy.c.Servers(ctx) {
		if err != nil {
			return nil, err
		}
		if s.Url == cy.url {
			out = append(out, s)
		}
	}
	return out, nil
}
