package pool

import (
	"cmp"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/threatwinds/aiadmin/clients/fleet"
)

// Round sums up one round of probes.
type Round struct {
	// Servers is how many distinct URLs the round covered.
	Servers int
	// Succeeded and Failed count the probes by outcome; probes cut short
	// because ctx ended count in neither and are not recorded.
	Succeeded, Failed int
	// WriteErrors counts results that could not be recorded.
	WriteErrors int
	// Elapsed is the wall time of the round.
	Elapsed time.Duration
}

// ProbeOnce probes every server of the current tables once and records each
// verdict, continuing the counters stored by whichever prober ran before. It
// does not take the lease: Run calls it while leading. Each probe starts at
// an offset derived from its URL within the first part of the interval, so
// that thousands of servers are not probed at the same instant, and waits
// for one of Concurrency slots. It returns when every probe has finished.
func (p *Prober) ProbeOnce(ctx context.Context) (Round, error) {
	return p.probeURLs(ctx, p.tables.Snapshot().URLs(), true)
}

// probeURLs probes urls as ProbeOnce probes the tables; full says they are
// the whole tables, which counts as a round.
func (p *Prober) probeURLs(ctx context.Context, urls []string, full bool) (Round, error) {
	start := time.Now()
	r := Round{Servers: len(urls)}
	if len(urls) == 0 {
		return r, nil
	}
	prev, err := p.store.HealthMany(ctx, urls)
	if err != nil {
		return r, fmt.Errorf("reading the previous health: %w", err)
	}
	spread := p.spread()
	if !full {
		// Servers waiting for their first verdict start within a second.
		spread = min(spread, freshSpread)
	}
	order := make([]int, len(urls))
	offsets := make([]time.Duration, len(urls))
	for i, u := range urls {
		order[i] = i
		offsets[i] = jitter(u, spread)
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(offsets[a], offsets[b]) })

	var succeeded, failed, writeErrors atomic.Int64
	// healthy holds each URL's verdict, written by that URL's probe only.
	healthy := make([]bool, len(urls))
	// The group only bounds the probes in flight and waits for them; a
	// failed probe is a verdict, not an error that should stop the others,
	// so its functions always return nil. Go blocks while Concurrency
	// probes run and cannot be interrupted, which is enough: when ctx ends,
	// every running probe ends with it, a slot frees at once, a probe that
	// got it sends nothing (the transport refuses an ended context) and
	// the loop stops at its next ctx check.
	var probes errgroup.Group
	probes.SetLimit(p.opts.Concurrency)
	timer := time.NewTimer(0)
	defer timer.Stop()
dispatch:
	for _, i := range order {
		if wait := offsets[i] - time.Since(start); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				break dispatch
			case <-timer.C:
			}
		}
		if ctx.Err() != nil {
			break dispatch
		}
		probes.Go(func() error {
			started := time.Now()
			outcome := p.probe(ctx, urls[i])
			if ctx.Err() != nil {
				return nil
			}
			if p.opts.ObserveProbe != nil {
				p.opts.ObserveProbe(outcome, time.Since(started))
			}
			ok := outcome == ProbeOK
			if ok {
				succeeded.Add(1)
			} else {
				failed.Add(1)
			}
			h := nextHealth(prev[i], ok, p.opts.Now().UnixMilli(), p.opts.UnhealthyAfter, p.opts.HealthyAfter)
			healthy[i] = *h.Healthy
			wctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
			defer cancel()
			if err := p.store.RecordHealth(wctx, urls[i], h); err != nil && ctx.Err() == nil {
				writeErrors.Add(1)
				p.opts.Log.Warn("recording a probe result", zap.Error(err))
			}
			return nil
		})
	}
	_ = probes.Wait() // every function returns nil
	r.Succeeded, r.Failed, r.WriteErrors = int(succeeded.Load()), int(failed.Load()), int(writeErrors.Load())
	r.Elapsed = time.Since(start)
	if ctx.Err() == nil && full {
		p.rounds.Add(1)
		p.reportServers(ctx, urls, healthy)
	}
	return r, nil
}

// freshSpread bounds the jitter of probes of servers new to the leader.
const freshSpread = time.Second

// spread is the part of the interval over which a round's probes start: the
// first half, and never so late that a probe could outlast the interval.
func (p *Prober) spread() time.Duration {
	return max(0, min(p.opts.Interval/2, p.opts.Interval-p.opts.Timeout))
}

// jitter places a URL within spread by a hash of it, so each server is
// probed at the same point of every round, one interval apart, whichever
// replica probes.
func jitter(u string, spread time.Duration) time.Duration {
	if spread <= 0 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(u))
	return time.Duration(h.Sum64() % uint64(spread))
}

// probe says how the server at u answered a GET of its probe path:
// ProbeOK for a 2xx within the timeout, another Probe outcome otherwise.
func (p *Prober) probe(ctx context.Context, u string) string {
	target, ok := probeURL(u, p.opts.Path)
	if !ok {
		return ProbeBadURL
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return ProbeBadURL
	}
	req.Header.Set("User-Agent", "aiadmin-prober")
	resp, err := p.client.Do(req)
	if err != nil {
		return transportOutcome(err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, p.opts.MaxBodyBytes)); err != nil {
		return transportOutcome(err)
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return ProbeStatus
	}
	return ProbeOK
}

// probeURL appends path to a server URL; only absolute http(s) URLs are
// probed.
func probeURL(server, path string) (string, bool) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false
	}
	u = u.JoinPath(path)
	u.Fragment = ""
	return u.String(), true
}

// nextHealth is the verdict after one probe, given the stored one. The first
// probe of an unknown server decides it; after that the thresholds apply.
// Each counter restarts at the outcome that breaks its run.
func nextHealth(prev fleet.ServerHealth, ok bool, nowMs int64, unhealthyAfter, healthyAfter int) fleet.ServerHealth {
	h := fleet.ServerHealth{LastCheckMs: nowMs, LastFailureMs: prev.LastFailureMs}
	if ok {
		h.ConsecutiveSuccesses = prev.ConsecutiveSuccesses + 1
	} else {
		h.ConsecutiveFailures = prev.ConsecutiveFailures + 1
		h.LastFailureMs = nowMs
	}
	var healthy bool
	switch {
	case prev.Healthy == nil:
		healthy = ok
	case *prev.Healthy:
		healthy = h.ConsecutiveFailures < int64(unhealthyAfter)
	default:
		healthy = h.ConsecutiveSuccesses >= int64(healthyAfter)
	}
	h.Healthy = &healthy
	return h
}
