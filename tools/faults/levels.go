package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
)

const (
	// goroutineSlack is how many goroutines above its level before a
	// scenario a process may keep and still count as back to that level:
	// a background task (a probe, a lease renewal, a pool's idle connection
	// to RunPod or the Auth API) may be running when a sample is taken.
	// Connections of the load leave none behind: they are closed before
	// every sample.
	goroutineSlack = 8
	// settleTimeout is how long the levels may take to come back after the
	// load stopped.
	settleTimeout = 15 * time.Second
)

// levels are what a scenario must leave as it found it.
type levels struct {
	goroutines int
	// conns are the client connections of the Valkey servers, the
	// replication links and the sampling connection left out; perNode
	// says how many each server has, in the order of its addresses.
	conns   int
	perNode []int
}

// connsAllowed is the most Valkey connections a scenario may leave: those
// before it, plus, in a cluster, one for each node the client had no
// connection to before. A cluster client keeps one multiplexed connection
// per node it knows and dials a node's lazily, when it first asks it
// something (the topology, after a failover): that connection is the node's
// share of the level, not one left behind.
func (l levels) connsAllowed() int {
	allowed := l.conns
	if len(l.perNode) > 1 {
		for _, n := range l.perNode {
			if n == 0 {
				allowed++
			}
		}
	}
	return allowed
}

// connsText renders the connections, per server when there are several.
func (l levels) connsText() string {
	if len(l.perNode) < 2 {
		return strconv.Itoa(l.conns)
	}
	parts := make([]string, len(l.perNode))
	for i, n := range l.perNode {
		parts[i] = strconv.Itoa(n)
	}
	return fmt.Sprintf("%d (%s)", l.conns, strings.Join(parts, "+"))
}

func (l levels) String() string {
	return fmt.Sprintf("%d goroutines, %s Valkey connections", l.goroutines, l.connsText())
}

// measureLevels samples p's goroutines three times, 100 ms apart, taking the
// median, and counts the client connections of the Valkey servers at addrs.
// The stand-ins drop their idle keep-alive connections first: a client's
// pool of them is bounded and kept on purpose, not left behind.
func measureLevels(e *env, p *aiadminProc, addrs []string) (levels, error) {
	e.dropIdle()
	time.Sleep(100 * time.Millisecond)
	var samples []int
	for i := range 3 {
		if i > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		g, err := p.goroutines()
		if err != nil {
			return levels{}, fmt.Errorf("goroutines of aiadmin: %w", err)
		}
		samples = append(samples, g)
	}
	slices.Sort(samples)
	l := levels{goroutines: samples[1]}
	for _, a := range addrs {
		n, err := valkeyClients([]string{a})
		if err != nil {
			return levels{}, err
		}
		l.conns += n
		l.perNode = append(l.perNode, n)
	}
	return l, nil
}

// settle waits until p is back within its levels before a scenario, and
// records the check in rep. The load's client must have closed its idle
// connections.
func settle(rep *report, e *env, p *aiadminProc, addrs []string, before levels) {
	start := time.Now()
	var after levels
	var err error
	for {
		after, err = measureLevels(e, p, addrs)
		back := err == nil && after.goroutines <= before.goroutines+goroutineSlack && after.conns <= before.connsAllowed()
		if back || time.Since(start) > settleTimeout {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		rep.expect(false, "levels measured after the scenario: %v", err)
		return
	}
	rep.figure("goroutines: %d before, %d after; Valkey connections: %s before, %s after (measured %s after the load stopped)",
		before.goroutines, after.goroutines, before.connsText(), after.connsText(), time.Since(start).Round(100*time.Millisecond))
	rep.expect(after.goroutines <= before.goroutines+goroutineSlack,
		"goroutines back to their level: %d after, %d before (at most %d more allowed, within %s)",
		after.goroutines, before.goroutines, goroutineSlack, settleTimeout)
	if allowed := before.connsAllowed(); allowed > before.conns {
		rep.expect(after.conns <= allowed,
			"Valkey connections back to their level: %d after, %d before, at most %d allowed: one more for each of the %d nodes the client had not dialled yet (within %s)",
			after.conns, before.conns, allowed, allowed-before.conns, settleTimeout)
	} else {
		rep.expect(after.conns <= allowed,
			"Valkey connections back to their level: %d after, %d before (within %s)", after.conns, before.conns, settleTimeout)
	}
}

// valkeyClients counts the client connections of the servers at addrs.
func valkeyClients(addrs []string) (int, error) {
	total := 0
	for _, a := range addrs {
		list, err := valkeytest.Command(a, "CLIENT", "LIST")
		if err != nil {
			return 0, fmt.Errorf("CLIENT LIST on %s: %w", a, err)
		}
		total += countClients(list)
	}
	return total, nil
}

// countClients counts the connections in a CLIENT LIST answer that are
// clients: not a replica's link to its master or the master's to a replica
// (flags S and M), nor the connection asking.
func countClients(list string) int {
	n := 0
	for _, line := range strings.Split(list, "\n") {
		f := map[string]string{}
		for _, kv := range strings.Fields(line) {
			k, v, _ := strings.Cut(kv, "=")
			f[k] = v
		}
		if f["id"] == "" || strings.ContainsAny(f["flags"], "SM") || f["cmd"] == "client|list" {
			continue
		}
		n++
	}
	return n
}

// parseVmRSS finds "VmRSS:   12345 kB" in the text of /proc/<pid>/status
// and returns it in bytes.
func parseVmRSS(status string) (int64, error) {
	for _, line := range strings.Split(status, "\n") {
		v, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("unexpected VmRSS line %q", line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected VmRSS line %q", line)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no VmRSS in the process status")
}

// mib renders a byte count in MiB.
func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
