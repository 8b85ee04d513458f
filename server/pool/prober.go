package pool

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/threatwinds/aiadmin/clients/fleet"
)

// Defaults of ProberOptions, used when a field is zero.
const (
	// DefaultProbeInterval is the time between two rounds of probes.
	DefaultProbeInterval = 10 * time.Second
	// DefaultProbeTimeout bounds one probe, from dialing to the end of the
	// body.
	DefaultProbeTimeout = 2 * time.Second
	// DefaultProbePath is probed below each server URL; vLLM, SGLang and
	// speaches all serve it.
	DefaultProbePath = "/models"
	// DefaultProbeConcurrency is how many probes run at once. It lets a round
	// of 2,000 servers, 500 of them never answering (each holding a slot for
	// the whole timeout), finish within the default interval.
	DefaultProbeConcurrency = 256
	// DefaultUnhealthyAfter is how many consecutive failures make a healthy
	// server unhealthy.
	DefaultUnhealthyAfter = 3
	// DefaultHealthyAfter is how many consecutive successes make an
	// unhealthy server healthy again.
	DefaultHealthyAfter = 2
	// DefaultLeaseTTL is how long the prober lease outlives its last
	// renewal: a replica takes over within about this long after the
	// prober's replica dies.
	DefaultLeaseTTL = 5 * time.Second
	// DefaultLeaseRenewEvery is how often the leader renews the lease and a
	// follower tries to take it.
	DefaultLeaseRenewEvery = 1500 * time.Millisecond
	// DefaultMaxProbeBody is how much of a probe's answer is read at most.
	DefaultMaxProbeBody = 64 << 10
	// LeaseName names the prober's leadership lease in the fleet state.
	LeaseName = "prober"
)

// HealthStore keeps the shared health results. *fleet.Store implements it.
type HealthStore interface {
	HealthMany(ctx context.Context, urls []string) ([]fleet.ServerHealth, error)
	RecordHealth(ctx context.Context, url string, h fleet.ServerHealth) error
}

// LeaseStore holds leadership leases. *fleet.Store implements it.
type LeaseStore interface {
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	RenewLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// ProberStore is what the prober needs of the fleet state.
type ProberStore interface {
	HealthStore
	LeaseStore
}

// ProberOptions tunes a Prober; every zero field takes its default.
type ProberOptions struct {
	// Interval is the time between rounds; zero means DefaultProbeInterval.
	Interval time.Duration
	// Timeout bounds one probe; zero means DefaultProbeTimeout.
	Timeout time.Duration
	// Path is appended to each server URL; empty means DefaultProbePath.
	Path string
	// Concurrency bounds the probes in flight; zero means
	// DefaultProbeConcurrency.
	Concurrency int
	// UnhealthyAfter and HealthyAfter are the thresholds of the verdict;
	// zero means DefaultUnhealthyAfter, DefaultHealthyAfter.
	UnhealthyAfter, HealthyAfter int
	// LeaseTTL and LeaseRenewEvery time the prober lease; zero means
	// DefaultLeaseTTL, DefaultLeaseRenewEvery. RenewEvery should be well
	// under a third of the TTL.
	LeaseTTL, LeaseRenewEvery time.Duration
	// Holder identifies this replica in the lease; empty means the host name
	// and a random suffix.
	Holder string
	// MaxBodyBytes bounds what is read of an answer; zero means
	// DefaultMaxProbeBody.
	MaxBodyBytes int64
	// KeepLeaseOnStop leaves the lease in place when Run returns, as a crash
	// would; by default Run releases it so that another replica takes over
	// at once. Tests use it to simulate a crash.
	KeepLeaseOnStop bool
	// Now is the clock of last_check_ms and last_failure_ms; nil means
	// time.Now.
	Now func() time.Time
	// Log receives lease changes and round summaries; nil discards them.
	Log *zap.Logger
}

// Prober is the fleet's single health prober. Every replica runs one; the
// one holding the lease probes every server of the tables each interval and
// writes the verdicts to the fleet state, which every replica serves.
//
// The verdict of a server: unknown until its first probe, which decides it
// (healthy on success, unhealthy on failure). A healthy server becomes
// unhealthy after UnhealthyAfter consecutive failures, an unhealthy one
// healthy after HealthyAfter consecutive successes. A probe is a GET of the
// server URL plus Path, within Timeout, that follows no redirect; it
// succeeds on a 2xx status whose body (read up to MaxBodyBytes) arrives in
// time. A 3xx is a failure.
type Prober struct {
	tables *Tables
	store  ProberStore
	opts   ProberOptions
	client *http.Client

	leading atomic.Bool
	rounds  atomic.Uint64
}

// NewProber returns a prober of the servers in tables that keeps its results
// and its lease in store.
func NewProber(tables *Tables, store ProberStore, o ProberOptions) *Prober {
	if o.Interval <= 0 {
		o.Interval = DefaultProbeInterval
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultProbeTimeout
	}
	o.Timeout = min(o.Timeout, o.Interval)
	if o.Path == "" {
		o.Path = DefaultProbePath
	}
	if !strings.HasPrefix(o.Path, "/") {
		o.Path = "/" + o.Path
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultProbeConcurrency
	}
	if o.UnhealthyAfter <= 0 {
		o.UnhealthyAfter = DefaultUnhealthyAfter
	}
	if o.HealthyAfter <= 0 {
		o.HealthyAfter = DefaultHealthyAfter
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = DefaultLeaseTTL
	}
	if o.LeaseRenewEvery <= 0 {
		o.LeaseRenewEvery = DefaultLeaseRenewEvery
	}
	if o.Holder == "" {
		o.Holder = randomHolder()
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxProbeBody
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	return &Prober{tables: tables, store: store, opts: o, client: probeClient(o)}
}

// probeClient never follows a redirect and never uses a proxy: it contacts
// the registered URLs and nothing else. Connections are kept between rounds,
// so a round does not pay a TLS handshake per server.
func probeClient(o ProberOptions) *http.Client {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   o.Timeout,
		ResponseHeaderTimeout: o.Timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       2*o.Interval + o.Timeout,
		DisableCompression:    true,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// randomHolder names this process in the lease: readable, and unique even
// for two replicas on one host.
func randomHolder() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "aiadmin"
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}

// Holder is this replica's id in the prober lease.
func (p *Prober) Holder() string { return p.opts.Holder }

// Leading reports whether this replica holds the lease and probes.
func (p *Prober) Leading() bool { return p.leading.Load() }

// Rounds counts the rounds this prober has completed.
func (p *Prober) Rounds() uint64 { return p.rounds.Load() }

// CloseIdleConnections closes the probe connections kept between rounds.
// Run does it when it returns; a caller of ProbeOnce alone does it itself.
func (p *Prober) CloseIdleConnections() { p.client.CloseIdleConnections() }

// Run takes part in the lease until ctx ends: it tries to acquire the lease
// every LeaseRenewEvery and, while it holds it, renews it as often and
// probes a round every Interval. It returns once every probe has stopped,
// after releasing the lease (unless KeepLeaseOnStop). Run must return before
// the store's client is closed.
func (p *Prober) Run(ctx context.Context) error {
	defer p.client.CloseIdleConnections()
	var stopRounds context.CancelFunc
	var roundsDone chan struct{}
	stop := func() {
		if stopRounds != nil {
			stopRounds()
			<-roundsDone
			stopRounds = nil
		}
		p.leading.Store(false)
	}
	tick := time.NewTicker(p.opts.LeaseRenewEvery)
	defer tick.Stop()
	for {
		held := p.holdLease(ctx)
		switch {
		case held && stopRounds == nil:
			p.opts.Log.Info("prober lease acquired: probing the fleet", zap.String("holder", p.opts.Holder))
			p.leading.Store(true)
			var rctx context.Context
			rctx, stopRounds = context.WithCancel(ctx)
			roundsDone = make(chan struct{})
			go func() {
				defer close(roundsDone)
				p.probeRounds(rctx)
			}()
		case !held && stopRounds != nil && ctx.Err() == nil:
			p.opts.Log.Warn("prober lease lost: probing stops", zap.String("holder", p.opts.Holder))
			stop()
		}
		select {
		case <-ctx.Done():
			wasLeading := stopRounds != nil
			stop()
			if wasLeading && !p.opts.KeepLeaseOnStop {
				rctx, cancel := context.WithTimeout(context.Background(), p.opts.LeaseRenewEvery)
				if err := p.store.ReleaseLease(rctx, LeaseName, p.opts.Holder); err != nil {
					p.opts.Log.Warn("releasing the prober lease", zap.Error(err))
				}
				cancel()
			}
			return nil
		case <-tick.C:
		}
	}
}

// holdLease acquires the lease, or renews it when leading, and reports
// whether this replica holds it. An error counts as not holding it: a leader
// that cannot renew stops probing rather than risk a second prober. Each
// attempt is bounded by LeaseRenewEvery, so a leader never believes in a
// lease for more than two periods after its last confirmed renewal, well
// within the TTL.
func (p *Prober) holdLease(ctx context.Context) bool {
	lctx, cancel := context.WithTimeout(ctx, p.opts.LeaseRenewEvery)
	defer cancel()
	var held bool
	var err error
	if p.leading.Load() {
		held, err = p.store.RenewLease(lctx, LeaseName, p.opts.Holder, p.opts.LeaseTTL)
	} else {
		held, err = p.store.AcquireLease(lctx, LeaseName, p.opts.Holder, p.opts.LeaseTTL)
	}
	if err != nil && ctx.Err() == nil {
		p.opts.Log.Warn("holding the prober lease", zap.Error(err))
	}
	return err == nil && held
}

// probeRounds probes a round at once, then every Interval, until ctx ends.
// Alongside the rounds, a reload of the tables that brings servers this
// leader has not probed yet (the first load after start-up, a refresh
// announcing new servers) has those probed at once, even while a round runs,
// so no server waits an interval for its first verdict. A server is never
// probed by both at once: a fresh batch covers only servers outside the
// running round, and a round waits for fresh batches to finish before it
// reads the health they write.
func (p *Prober) probeRounds(ctx context.Context) {
	var (
		mu     sync.Mutex // guards probed
		probed = map[string]bool{}
		// Fresh batches hold batches for reading while they probe.
		batches sync.RWMutex
	)
	run := func(urls []string, full bool) {
		r, err := p.probeURLs(ctx, urls, full)
		switch {
		case ctx.Err() != nil:
		case err != nil:
			p.opts.Log.Warn("probe round failed", zap.Error(err))
		default:
			p.opts.Log.Debug("probe round", zap.Bool("full", full), zap.Int("servers", r.Servers), zap.Int("succeeded", r.Succeeded),
				zap.Int("failed", r.Failed), zap.Int("write_errors", r.WriteErrors), zap.Duration("elapsed", r.Elapsed))
		}
	}
	round := func() {
		batches.Lock()
		urls := p.tables.Snapshot().URLs()
		mu.Lock()
		probed = make(map[string]bool, len(urls))
		for _, u := range urls {
			probed[u] = true
		}
		mu.Unlock()
		batches.Unlock()
		run(urls, true)
	}

	var wg sync.WaitGroup
	defer wg.Wait()
	changed := p.tables.Changed()
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
			changed = p.tables.Changed()
			batches.RLock()
			var fresh []string
			mu.Lock()
			for _, u := range p.tables.Snapshot().URLs() {
				if !probed[u] {
					probed[u] = true
					fresh = append(fresh, u)
				}
			}
			mu.Unlock()
			if len(fresh) > 0 {
				run(fresh, false)
			}
			batches.RUnlock()
		}
	})

	tick := time.NewTicker(p.opts.Interval)
	defer tick.Stop()
	round()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			round()
		}
	}
}

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
			ok := p.probe(ctx, urls[i])
			if ctx.Err() != nil {
				return nil
			}
			if ok {
				succeeded.Add(1)
			} else {
				failed.Add(1)
			}
			h := nextHealth(prev[i], ok, p.opts.Now().UnixMilli(), p.opts.UnhealthyAfter, p.opts.HealthyAfter)
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

// probe reports whether the server at u answers a GET of its probe path
// with a 2xx within the timeout.
func (p *Prober) probe(ctx context.Context, u string) bool {
	target, ok := probeURL(u, p.opts.Path)
	if !ok {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return false
	}
	req.Header.Set("User-Agent", "aiadmin-prober")
	resp, err := p.client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, p.opts.MaxBodyBytes)); err != nil {
		return false
	}
	return resp.StatusCode >= 200 && resp.StatusCode < 300
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
