package pool_test

import (
	"context"
	"net"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/server/pool"
)

// probeLog records what the prober reports.
type probeLog struct {
	mu       sync.Mutex
	outcomes []string
	states   []pool.ServerStates
}

func (l *probeLog) probe(outcome string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d <= 0 {
		outcome += " without a duration"
	}
	l.outcomes = append(l.outcomes, outcome)
}

func (l *probeLog) servers(s pool.ServerStates) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.states = append(l.states, s)
}

func (l *probeLog) take() ([]string, []pool.ServerStates) {
	l.mu.Lock()
	defer l.mu.Unlock()
	o, s := l.outcomes, l.states
	l.outcomes, l.states = nil, nil
	sort.Strings(o)
	return o, s
}

// freeURL is the URL of a loopback port nothing listens on.
func freeURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// TestProberReportsProbesAndServerStates: each probe is reported with its
// outcome, and after a whole round the servers of each provider by state,
// a drained server as draining whatever its health; a replica that stops
// leading reports nil.
func TestProberReportsProbesAndServerStates(t *testing.T) {
	_, client, store := standalone(t)
	ctx := testContext(t)
	si := newStandIn(t, 5*time.Second, "http://127.0.0.1:1/")
	up, down, slow, moved := si.add("up", "S"), si.add("down", "F"), si.add("slow", "T"), si.add("moved", "R")
	gone := freeURL(t)
	drained := si.add("drained", "S")
	register(t, store, fleet.ProviderVLLM, up, down, slow, drained)
	register(t, store, fleet.ProviderSGLang, up, moved, gone)
	if err := store.Drain(ctx, drained, "maintenance"); err != nil {
		t.Fatal(err)
	}
	tables := pool.NewTables(client, store, pool.TablesOptions{ReloadInterval: time.Hour})
	if err := tables.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	var log probeLog
	// A short interval: a round's probes start within its first half.
	p := pool.NewProber(tables, store, pool.ProberOptions{Interval: 2 * time.Second, Timeout: 500 * time.Millisecond,
		ObserveProbe: log.probe, ObserveServers: log.servers})
	t.Cleanup(p.CloseIdleConnections)
	if _, err := p.ProbeOnce(ctx); err != nil {
		t.Fatal(err)
	}
	outcomes, states := log.take()
	// One probe per URL: up serves two providers and is probed once.
	want := []string{pool.ProbeOK, pool.ProbeOK, pool.ProbeStatus, pool.ProbeStatus, pool.ProbeTimeout, pool.ProbeUnreachable}
	sort.Strings(want)
	if diff := cmp.Diff(want, outcomes); diff != "" {
		t.Errorf("probe outcomes (-want +got):\n%s", diff)
	}
	wantStates := []pool.ServerStates{{
		fleet.ProviderVLLM:   {pool.StateHealthy: 1, pool.StateUnhealthy: 2, pool.StateDraining: 1},
		fleet.ProviderSGLang: {pool.StateHealthy: 1, pool.StateUnhealthy: 2, pool.StateDraining: 0},
	}}
	if diff := cmp.Diff(wantStates, states); diff != "" {
		t.Errorf("servers by state (-want +got):\n%s", diff)
	}

	// Leading, then stopping: the last report is nil.
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.Run(runCtx)
	}()
	eventually(t, 10*time.Second, "a round while leading", func() bool { return p.Rounds() >= 2 })
	stop()
	<-done
	_, states = log.take()
	if len(states) < 2 || states[len(states)-1] != nil || states[len(states)-2] == nil {
		t.Errorf("reports while leading then stopping: %v; want rounds' states, then nil", states)
	}
}
