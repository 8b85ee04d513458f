package pool

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

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
	LeaseName = fleet.ProberLeaseName
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

// ProberStore is what the prober needs of the fleet state; it reads the
// drains to report servers by state.
type ProberStore interface {
	HealthStore
	LeaseStore
	Drains(ctx context.Context) (map[string]fleet.Drain, error)
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
	// ObserveProbe, when set, is told the outcome (ProbeOK, ProbeStatus,
	// ...) and duration of every probe, for metrics.
	ObserveProbe func(outcome string, d time.Duration)
	// ObserveServers, when set, is given the servers of each provider by
	// state after every whole round this replica probes, and nil when it
	// stops probing: then another replica's prober reports them.
	ObserveServers func(ServerStates)
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
		if p.leading.Swap(false) && p.opts.ObserveServers != nil {
			p.opts.ObserveServers(nil)
		}
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
