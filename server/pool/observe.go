package pool

import (
	"context"
	"errors"
	"net"
	"os"

	"go.uber.org/zap"
)

// Outcomes of one probe, as ProberOptions.ObserveProbe receives them.
const (
	// ProbeOK is a 2xx within the timeout: a success.
	ProbeOK = "ok"
	// ProbeStatus is an answer outside 2xx (a redirect included).
	ProbeStatus = "status"
	// ProbeTimeout is no whole answer within the timeout.
	ProbeTimeout = "timeout"
	// ProbeUnreachable is a connection that failed or broke.
	ProbeUnreachable = "unreachable"
	// ProbeBadURL is a server URL that cannot be probed (not absolute
	// http(s)).
	ProbeBadURL = "bad_url"
)

// States of a server in ServerStates. They do not overlap: a drained server
// counts as draining whatever its health.
const (
	StateHealthy   = "healthy"
	StateUnhealthy = "unhealthy"
	StateDraining  = "draining"
)

// ServerStates counts the servers of each provider by state: provider ->
// state -> servers. A URL that two providers run counts under each.
type ServerStates map[string]map[string]int

func transportOutcome(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout()) {
		return ProbeTimeout
	}
	return ProbeUnreachable
}

// reportServers gives ObserveServers the states after a whole round of
// urls, whose verdicts are healthy, with the drains as they are now. A
// failed read of the drains skips the report: the last one stands.
func (p *Prober) reportServers(ctx context.Context, urls []string, healthy []bool) {
	if p.opts.ObserveServers == nil {
		return
	}
	drains, err := p.store.Drains(ctx)
	if err != nil {
		if ctx.Err() == nil {
			p.opts.Log.Warn("reading the drains to count servers by state", zap.Error(err))
		}
		return
	}
	verdict := make(map[string]bool, len(urls))
	for i, u := range urls {
		verdict[u] = healthy[i]
	}
	states := ServerStates{}
	for _, s := range p.tables.Snapshot().Servers() {
		h, probed := verdict[s.URL]
		state := StateUnhealthy
		switch _, drained := drains[s.URL]; {
		case drained:
			state = StateDraining
		case !probed:
			// Brought by a reload after the round began: not judged yet.
			continue
		case h:
			state = StateHealthy
		}
		if states[s.Provider] == nil {
			states[s.Provider] = map[string]int{StateHealthy: 0, StateUnhealthy: 0, StateDraining: 0}
		}
		states[s.Provider][state]++
	}
	p.opts.ObserveServers(states)
}
