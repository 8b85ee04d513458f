package main

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/threatwinds/aiadmin/tools/internal/load"
)

// runConnections holds e.cfg.conns connections busy at once for
// e.cfg.connsFor: every answer must be a 200, and aiadmin's resident memory
// stay within e.cfg.maxRSS.
func runConnections(ctx context.Context, e *env) *report {
	n, dur := e.cfg.conns, e.cfg.connsFor
	rep := newReport("connections", fmt.Sprintf("%d concurrent connections for %s", n, dur))
	vk, err := e.launchValkey(ctx)
	if err != nil {
		rep.fail(err)
		return rep
	}
	addrs := []string{vk.Addr()}
	ops := []string{opAffinity, opServers, opRegistry, opDemand, opUserSessions, opPodList}
	st, err := e.openStage(ctx, rep, addrs, mixOf(ops...), slices.Concat(e.baseArgs(addrs), e.fileAuthArgs())...)
	if err != nil {
		rep.fail(err)
		return rep
	}
	defer st.finish()
	rssBefore, err := st.p.rss()
	if err != nil {
		rep.fail(err)
		return rep
	}

	l := st.startWith(load.Options{Workers: n, Next: newMix(e, st.p, ops...).next, Context: ctx, OwnConnections: true})
	began := time.Now()
	peak := watchPeaks(st.p, 200*time.Millisecond)
	sleep(ctx, dur)
	l.Stop()
	elapsed := time.Since(began)
	peakRSS, peakGoroutines, errs := peak()
	rssAfter, _ := st.p.rss()

	rs := l.Recorder().Results()
	rep.answers("all", rs)
	rep.figure("%.0f answers/s; latency p50 %s, p99 %s, p99.9 %s", float64(len(rs))/elapsed.Seconds(),
		ms(rs.Quantile(0.5)), ms(rs.Quantile(0.99)), ms(rs.Quantile(0.999)))
	rep.figure("resident memory: %s before, %s at most during, %s after; %d goroutines at most during",
		mib(rssBefore), mib(peakRSS), mib(rssAfter), peakGoroutines)
	for _, err := range errs {
		rep.fail(err)
	}
	rep.onlyAnswers("no errors", rs, "200")
	rep.expect(l.NewConnections() >= int64(n) && peakGoroutines >= n,
		"%d connections held at once: %d opened by the load (one a worker), aiadmin at %d goroutines at most", n, l.NewConnections(), peakGoroutines)
	rep.expect(peakRSS > 0 && peakRSS <= e.cfg.maxRSS, "resident memory bounded: at most %s, bound %s", mib(peakRSS), mib(e.cfg.maxRSS))
	return rep
}

// watchPeaks samples p's resident memory and goroutines every interval
// until the returned function is called, which gives the highest of each
// and the errors of the samples.
func watchPeaks(p *aiadminProc, interval time.Duration) func() (rss int64, goroutines int, errs []error) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var rss int64
	var goroutines int
	var errs []error
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if r, err := p.rss(); err != nil {
				errs = append(errs, fmt.Errorf("reading resident memory: %w", err))
			} else {
				rss = max(rss, r)
			}
			if g, err := p.goroutines(); err != nil {
				errs = append(errs, fmt.Errorf("reading goroutines: %w", err))
			} else {
				goroutines = max(goroutines, g)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() (int64, int, []error) {
		close(stop)
		wg.Wait()
		return rss, goroutines, errs
	}
}
