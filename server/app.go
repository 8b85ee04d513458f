package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/valkey-io/valkey-go"
	"go.uber.org/zap"

	"github.com/threatwinds/aiadmin/clients/auth"
	"github.com/threatwinds/aiadmin/clients/authapi"
	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/embedded"
	"github.com/threatwinds/aiadmin/clients/runpod"
	"github.com/threatwinds/aiadmin/server/dashboard"
	"github.com/threatwinds/aiadmin/server/demo"
	"github.com/threatwinds/aiadmin/server/httpapi"
	"github.com/threatwinds/aiadmin/server/metrics"
	"github.com/threatwinds/aiadmin/server/pods"
	"github.com/threatwinds/aiadmin/server/pool"
	"github.com/threatwinds/aiadmin/server/summary"
)

// App is one running aiadmin replica: its parts, built from a Config, and the
// order in which they stop.
type App struct {
	cfg     Config
	log     *zap.Logger
	http    *http.Server
	ln      net.Listener
	closers []func()
	// debug serves pprof on debugLn when --debug-listen is given.
	debug   *http.Server
	debugLn net.Listener
	// workers run beside the HTTP server until Run's context ends.
	workers []func(ctx context.Context) error
	// Store is the fleet state this replica reads and writes.
	Store *fleet.Store
	// metrics is what /metrics serves; deps records the series of the
	// replica's dependencies into it.
	metrics *prometheus.Registry
	deps    *metrics.Dependencies
}

// NewApp builds every part of a replica and binds its listener. Close
// releases what it built, also when Run was never called.
func NewApp(ctx context.Context, cfg Config, log *zap.Logger) (_ *App, err error) {
	a := &App{cfg: cfg, log: log, metrics: prometheus.NewRegistry()}
	a.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.deps = metrics.New(a.metrics, nil)
	defer func() {
		if err != nil {
			a.Close()
		}
	}()

	// Credentials first: a bad --auth-file stops start-up before anything
	// else (the demo fleet, say) has started.
	authn, err := a.authenticator()
	if err != nil {
		return nil, err
	}
	client, err := a.connectValkey(ctx)
	if err != nil {
		return nil, err
	}
	// Every command of this replica, whichever part sends it, counts its
	// failures in aiadmin_valkey_failures_total.
	client = fleet.ObserveFailures(client, a.deps.ValkeyFailure)
	ttls := map[string]time.Duration{}
	for _, p := range fleet.Providers {
		ttls[p] = cfg.AffinityTTL
	}
	for p, d := range cfg.AffinityTTLOverride {
		ttls[p] = d
	}
	a.Store = fleet.New(client, fleet.Options{AffinityTTL: ttls, DefaultAffinityTTL: cfg.AffinityTTL, RequestLease: cfg.RequestLease})

	if cfg.Demo {
		if err := a.startDemo(ctx); err != nil {
			return nil, err
		}
		cfg = a.cfg
	}

	catalog, err := a.pods(cfg)
	if err != nil {
		return nil, err
	}
	// A nil catalog stays a nil interface: the pod operations answer 503
	// and the summary has no pods.
	var podService httpapi.PodService
	var podSource summary.PodSource
	if catalog != nil {
		podService, podSource = catalog, catalog
	}
	tables := pool.NewTables(client, a.Store, pool.TablesOptions{Log: log.Named("tables")})
	prober := pool.NewProber(tables, a.Store, pool.ProberOptions{
		Interval: cfg.ProbeInterval, Timeout: cfg.ProbeTimeout, Path: cfg.ProbePath,
		Concurrency: cfg.ProbeConcurrency, UnhealthyAfter: cfg.UnhealthyAfter,
		HealthyAfter: cfg.HealthyAfter, Log: log.Named("prober"),
		ObserveProbe: a.deps.Probe, ObserveServers: a.deps.Servers,
	})
	a.workers = append(a.workers, tables.Run, prober.Run)
	a.closers = append(a.closers, prober.CloseIdleConnections)

	servers := pool.NewServerList(tables, a.Store)
	summarizer := summary.New(podSource, servers, a.Store, summary.Options{
		IdleAfter: cfg.IdleAfter, TTL: cfg.PodCacheTTL,
		// A summary up to --pod-cache-max-stale old is served while a fresh
		// one is computed, so callers never wait for a large fleet's
		// computation at every expiry.
		MaxStale: cfg.PodCacheMaxStale,
	})
	a.closers = append(a.closers, summarizer.Close)
	h := &httpapi.Handlers{
		Affinity:   a.Store,
		Registry:   a.Store,
		Refresher:  a.Store,
		Demand:     a.Store,
		Pods:       podService,
		Servers:    servers,
		Audit:      httpapi.ValkeyAuditor{Store: a.Store, MaxLen: cfg.AuditStreamLen},
		Drains:     pool.NewDrains(a.Store),
		Sessions:   a.Store,
		AuditTrail: a.Store,
		Summary:    summarizer,
		Log:        log,
	}
	e, err := httpapi.NewHTTPHandler(httpapi.HTTPOptions{
		Logger:        log,
		Authenticator: authn,
		AuthTimeout:   cfg.AuthTimeout,
		API:           h,
		Metrics:       a.metrics,
		RateLimits: httpapi.RateLimits{
			Store: a.Store, Reads: cfg.RateLimit, Writes: cfg.RateLimitWrites,
			AuthFailures: cfg.AuthFailureLimit, TrustedProxies: cfg.TrustedProxyPrefixes(),
		},
		Ready: func(ctx context.Context) error {
			return client.Do(ctx, client.B().Ping().Build()).Error()
		},
	})
	if err != nil {
		return nil, err
	}
	a.ln, err = net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("--listen: %w", err)
	}
	if cfg.DebugListen != "" {
		if a.debug, a.debugLn, err = debugServer(cfg.DebugListen, log); err != nil {
			_ = a.ln.Close()
			return nil, err
		}
		// Close ends Serve; the listener is closed too in case Run never
		// served it.
		a.closers = append(a.closers, func() { _ = a.debug.Close(); _ = a.debugLn.Close() })
	}
	a.http = &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		// Above the 32 KiB that headerLimit answers in the error format, so
		// that limit decides; net/http's own plain 431 is only a backstop.
		MaxHeaderBytes: 1 << 20,
		ErrorLog:       zap.NewStdLog(log.Named("http")),
	}
	return a, nil
}

// startDemo loads the living demo fleet into the embedded store. Without a
// RunPod API key, pods come from the demo's in-process RunPod stand-in, whose
// pods map to the demo's loopback inference servers.
func (a *App) startDemo(ctx context.Context) error {
	d, err := demo.Start(ctx, demo.Options{Store: a.Store, Logger: a.log.Named("demo"), Prefix: a.cfg.PodPrefix})
	if err != nil {
		return fmt.Errorf("starting the demo fleet: %w", err)
	}
	a.closers = append(a.closers, d.Close)
	if a.cfg.RunPodAPIKey == "" {
		a.cfg.RunPodURL, a.cfg.RunPodAPIKey = d.RunPodURL(), d.RunPodAPIKey()
		a.cfg.PodURLTemplate, a.cfg.PodPrefix = d.PodURLTemplate(), d.PodPrefix()
		a.log.Info("no --runpod-api-key: pods come from the demo's in-process RunPod stand-in",
			zap.String("runpod_url", a.cfg.RunPodURL), zap.String("pod_prefix", a.cfg.PodPrefix))
	}
	return nil
}

// pods builds the pod catalog over RunPod. Without an API key it is nil: the
// replica still serves everything else, and the pod operations answer 503.
func (a *App) pods(cfg Config) (*pods.Catalog, error) {
	if cfg.RunPodAPIKey == "" {
		a.log.Warn("no --runpod-api-key: the pod operations answer 503 until one is configured")
		return nil, nil
	}
	// The pod list's age is the time since RunPod last answered a list,
	// which the catalog keeps and serves; should the catalog come to say
	// the age of the list it serves itself, pass it to
	// a.deps.SetPodListAge.
	rp, err := runpod.New(runpod.Options{URL: cfg.RunPodURL, APIKey: cfg.RunPodAPIKey, Timeout: cfg.RunPodTimeout, Observe: a.deps.RunPodCall})
	if err != nil {
		return nil, fmt.Errorf("--runpod-api-key / --runpod-url: %w", err)
	}
	c := pods.New(rp, a.Store, pods.Options{
		Prefix: cfg.PodPrefix, URLTemplate: cfg.PodURLTemplate, CacheTTL: cfg.PodCacheTTL, MaxStale: cfg.PodCacheMaxStale,
		// Restarts of one pod are serialised across replicas by a lease in the
		// shared Valkey, held for the read, stop and resume calls with a margin.
		RestartLocker:   a.Store,
		RestartLeaseTTL: max(pods.DefaultRestartLeaseTTL, 3*cfg.RunPodTimeout+15*time.Second),
	})
	a.closers = append(a.closers, c.Close)
	return c, nil
}

// connectValkey connects to the configured Valkey, or starts the embedded
// in-memory store when none is configured.
func (a *App) connectValkey(ctx context.Context) (valkey.Client, error) {
	tlsConfig, err := valkeyTLSConfig(a.cfg)
	if err != nil {
		return nil, err
	}
	opts := fleet.ConnectOptions{Addrs: a.cfg.Valkey, Username: a.cfg.ValkeyUsername, Password: a.cfg.ValkeyPassword, TLS: tlsConfig}
	if len(a.cfg.Valkey) == 0 {
		srv, err := embedded.Start()
		if err != nil {
			return nil, fmt.Errorf("starting the embedded store: %w", err)
		}
		a.closers = append(a.closers, srv.Close)
		a.log.Warn("no --valkey given: using the EMBEDDED IN-MEMORY store; its data is lost on exit and it is NOT FOR PRODUCTION",
			zap.String("addr", srv.Addr()))
		opts = fleet.ConnectOptions{Addrs: []string{srv.Addr()}, Embedded: true}
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	client, err := fleet.Connect(cctx, opts)
	if err != nil {
		return nil, fmt.Errorf("--valkey: %w", err)
	}
	a.closers = append(a.closers, client.Close)
	return client, nil
}

// valkeyTLSConfig is the TLS configuration of the Valkey connections, or nil
// when cfg connects in plain TCP.
func valkeyTLSConfig(cfg Config) (*tls.Config, error) {
	if !cfg.ValkeyTLS {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.ValkeyTLSServerName}
	if cfg.ValkeyTLSCA != "" {
		pem, err := os.ReadFile(cfg.ValkeyTLSCA)
		if err != nil {
			return nil, fmt.Errorf("--valkey-tls-ca: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--valkey-tls-ca: no PEM certificate in %s", cfg.ValkeyTLSCA)
		}
	}
	return c, nil
}

// authenticator builds the configured way of checking credentials. With no
// credentials file it creates one random demo token and prints it.
func (a *App) authenticator() (auth.Authenticator, error) {
	if a.cfg.AuthMode == AuthModeThreatWinds {
		o := authapi.Options{
			BaseURL: a.cfg.AuthURL, Timeout: a.cfg.AuthTimeout,
			PositiveTTL: a.cfg.AuthCacheTTL, NegativeTTL: a.cfg.AuthNegativeTTL, MaxEntries: a.cfg.AuthCacheSize,
			ObserveCall: a.deps.AuthCall, ObserveCache: a.deps.AuthCache,
		}
		if err := o.Validate(); err != nil {
			return nil, fmt.Errorf("--auth-url: %w", err)
		}
		c := authapi.New(o)
		a.closers = append(a.closers, c.Close)
		a.log.Info("authenticating against the ThreatWinds Auth API", zap.String("auth_url", a.cfg.AuthURL))
		return c, nil
	}
	if a.cfg.AuthFile != "" {
		f, err := auth.LoadFile(a.cfg.AuthFile)
		if err != nil {
			return nil, fmt.Errorf("--auth-file: %w", err)
		}
		return f, nil
	}
	token, err := auth.NewDemoToken()
	if err != nil {
		return nil, err
	}
	f, err := auth.NewFileAuthenticator([]auth.FileEntry{{
		UserID: "usr_demo", Roles: []string{auth.AdminRole}, BearerSHA256: auth.HashSecret(token),
	}})
	if err != nil {
		return nil, err
	}
	// Printed, not logged: the token must not reach log storage.
	fmt.Printf("\nNo --auth-file given: a demo admin credential was created for this run only.\n"+
		"  export TOKEN=%s\n"+
		"  curl -H \"Authorization: Bearer $TOKEN\" http://%s/api/ai/v1/admin/pods\n"+
		"Dashboard: http://%s%s (sign in with the token)\n\n", token, a.cfg.Listen, a.cfg.Listen, dashboard.Path)
	return f, nil
}

// Addr is the address the replica listens on.
func (a *App) Addr() string { return a.ln.Addr().String() }

// Run serves until ctx ends, then stops accepting, lets in-flight requests
// finish within the shutdown timeout, and closes the clients.
func (a *App) Run(ctx context.Context) error {
	defer a.Close()
	wctx, stopWorkers := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// The workers stop before the clients close: the prober releases its
	// lease through the Valkey client.
	defer wg.Wait()
	defer stopWorkers()
	for _, w := range a.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w(wctx); err != nil {
				a.log.Error("background worker stopped", zap.Error(err))
			}
		}()
	}

	if a.debug != nil {
		go func() { _ = a.debug.Serve(a.debugLn) }()
		a.log.Info("serving pprof", zap.String("debug_addr", a.DebugAddr()))
	}
	errc := make(chan error, 1)
	go func() { errc <- a.http.Serve(a.ln) }()
	a.log.Info("serving", zap.String("addr", a.Addr()), zap.String("dashboard", "http://"+a.Addr()+dashboard.Path))
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	a.log.Info("shutting down", zap.Duration("timeout", a.cfg.ShutdownTimeout))
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := a.http.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close releases every part, last built first.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}
