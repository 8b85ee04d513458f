// Package demo brings a living fleet to a machine with nothing installed, for
// `make run`: stand-in inference servers on loopback (a few failing, slow or
// flapping on purpose), a RunPod stand-in whose pods are some of those
// servers, fleet state seeded through the router-side writers of package
// fleet, and a small traffic simulator that keeps writing it.
//
// Everything listens on 127.0.0.1 and nothing contacts another host; the
// fleet state goes wherever the given Store points, which should be the
// embedded store: the demo writes hundreds of servers into the registry.
package demo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/runpod/standin"
)

// Defaults and bounds of Options.
const (
	// DefaultPods is how many fleet pods the RunPod stand-in holds.
	DefaultPods = 12
	// MaxPods bounds Options.Pods.
	MaxPods = 1000
	// DefaultPrefix is the name prefix of the demo's fleet pods.
	DefaultPrefix = "aiapi-dev-"
	// DefaultRate is the simulated traffic, in requests per second.
	DefaultRate = 8.0
	// MaxRate bounds Options.RequestsPerSecond: the demo stays gentle.
	MaxRate = 50.0
)

const (
	// seedTimeout bounds writing the seed, whatever Start's context allows.
	seedTimeout = 30 * time.Second
	// stopTimeout bounds each listener's graceful stop.
	stopTimeout = 2 * time.Second
)

// Options configure a demo. Store is required; every other zero field takes
// its default.
type Options struct {
	// Store receives the seed and the simulated traffic.
	Store *fleet.Store
	// Logger receives what the demo started; nil logs nothing.
	Logger *zap.Logger
	// Pods is how many fleet pods the RunPod stand-in holds, beside two pods
	// outside the fleet; 0 means DefaultPods.
	Pods int
	// Prefix is the fleet pods' name prefix; "" means DefaultPrefix. A "-"
	// is added when it lacks one.
	Prefix string
	// RequestsPerSecond is the simulated traffic; 0 means DefaultRate.
	RequestsPerSecond float64
}

// Demo is a running demo fleet. Close stops it.
type Demo struct {
	log      *zap.Logger
	fleet    *inferenceFleet
	runpod   *standin.Server
	apiKey   string
	prefix   string
	template string

	inference *loopbackServer
	graphql   *loopbackServer
	sim       *simulator

	// ctx lives until Close: the simulator runs under it and every request
	// the listeners serve inherits it, so a slow answer ends at Close.
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// Start starts the stand-in inference servers and the RunPod stand-in on
// loopback, seeds the fleet state, and starts the traffic simulator. ctx
// bounds the seeding only; the demo runs until Close.
func Start(ctx context.Context, o Options) (_ *Demo, err error) {
	if o.Store == nil {
		return nil, errors.New("starting the demo: no fleet store")
	}
	if o.Pods < 0 || o.Pods > MaxPods {
		return nil, fmt.Errorf("starting the demo: pods must be between 0 and %d, got %d", MaxPods, o.Pods)
	}
	if o.RequestsPerSecond < 0 || o.RequestsPerSecond > MaxRate {
		return nil, fmt.Errorf("starting the demo: requests per second must be between 0 and %g, got %g", MaxRate, o.RequestsPerSecond)
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Pods == 0 {
		o.Pods = DefaultPods
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if !strings.HasSuffix(o.Prefix, "-") {
		o.Prefix += "-"
	}
	if o.RequestsPerSecond == 0 {
		o.RequestsPerSecond = DefaultRate
	}

	d := &Demo{log: o.Logger, prefix: o.Prefix, apiKey: rand.Text()}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			d.Close()
		}
	}()

	infLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the demo's inference servers: %w", err)
	}
	rpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = infLn.Close()
		return nil, fmt.Errorf("starting the demo's RunPod stand-in: %w", err)
	}
	base := "http://" + infLn.Addr().String()
	d.template = base + "/{id}/v1"

	pods := standin.DemoPods(o.Pods, o.Prefix)
	d.runpod = standin.NewServer(d.apiKey, pods...)
	d.fleet = newInferenceFleet(base, d.runpod)
	addExtraServers(d.fleet)
	outside := addPodServers(d.fleet, pods, o.Prefix)

	// The fleet is complete before either listener serves, so the handlers
	// read it without a lock.
	d.inference = d.serve(infLn, d.fleet.handler(), "demo-inference")
	d.graphql = d.serve(rpLn, d.runpod, "demo-runpod")

	r := &router{store: o.Store, aff: fleet.NewRouter(o.Store), fleet: d.fleet}
	sctx, cancel := context.WithTimeout(ctx, seedTimeout)
	defer cancel()
	if err := r.aff.Reload(sctx); err != nil {
		return nil, fmt.Errorf("starting the demo: %w", err)
	}
	rng := mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64()))
	users := demoUsers(40)
	seedStart := time.Now()
	rep, err := seed(sctx, r, users, rng)
	if err != nil {
		return nil, fmt.Errorf("starting the demo: %w", err)
	}

	d.sim = &simulator{
		r:     r,
		users: users,
		rate:  o.RequestsPerSecond,
		rng:   mrand.New(mrand.NewPCG(rng.Uint64(), rng.Uint64())),
		log:   d.log,
	}
	// Drains come and go while the demo runs: the router reloads its view
	// on every refresh, as the gateway's routers do.
	d.wg.Go(func() {
		r.aff.Watch(d.ctx, fleet.WatchOptions{}, func(err error) {
			d.log.Warn("demo router: reloading drained servers failed", zap.Error(err))
		})
	})
	d.wg.Go(func() { d.sim.run(d.ctx) })

	d.log.Info(fmt.Sprintf("demo fleet: %d stand-in inference servers on %s, RunPod stand-in at %s",
		len(d.fleet.servers), infLn.Addr(), d.RunPodURL()),
		zap.Int("registered", rep.servers),
		zap.Int("pods", len(pods)),
		zap.String("pod_prefix", d.prefix),
		zap.String("pod_url_template", d.template),
		zap.Strings("pods_outside_registry", outside),
		zap.Int("sessions_pinned", rep.pins),
		zap.Int64("seed_requests", rep.requests),
		zap.Duration("seed_took", time.Since(seedStart).Round(time.Millisecond)),
		zap.Float64("traffic_rps", o.RequestsPerSecond))
	return d, nil
}

// RunPodURL is the GraphQL endpoint of the in-process RunPod stand-in.
func (d *Demo) RunPodURL() string { return d.graphql.url + "/graphql" }

// RunPodAPIKey is the random API key the RunPod stand-in accepts. It lives in
// memory only; never log it.
func (d *Demo) RunPodAPIKey() string { return d.apiKey }

// PodURLTemplate is the backend URL of a demo pod, with {id} for the pod id:
// it leads to the pod's stand-in inference server.
func (d *Demo) PodURLTemplate() string { return d.template }

// PodPrefix is the name prefix of the demo's fleet pods, ending in "-".
func (d *Demo) PodPrefix() string { return d.prefix }

// Close stops the simulator, finishing its open requests, then both
// listeners, and returns once every goroutine of the demo has ended. It is
// safe to call twice.
func (d *Demo) Close() {
	d.closeOnce.Do(func() {
		d.cancel()
		d.wg.Wait()
		if d.inference != nil {
			d.inference.close()
		}
		if d.graphql != nil {
			d.graphql.close()
		}
		if d.sim != nil {
			d.log.Info("demo fleet stopped", zap.Int64("simulated_requests", d.sim.started.Load()))
		}
	})
}

// addExtraServers adds the fleet's servers that are not RunPod pods.
func addExtraServers(f *inferenceFleet) {
	for _, k := range kinds {
		for i := 1; i <= k.extra; i++ {
			f.add(&standIn{
				name:       fmt.Sprintf("%s-%03d", k.name, i),
				provider:   k.provider,
				models:     k.models,
				mode:       k.modeOf(i),
				registered: k.provider != "",
			})
		}
	}
}

// replicaSuffix is the replica index that ends a pod's name.
var replicaSuffix = regexp.MustCompile(`-[0-9]+$`)

// addPodServers adds a stand-in for every pod, named by the pod's id, and
// returns the names of the fleet pods left out of the registry. A fleet pod
// is registered under its kind's provider and models; pods of a kind the
// registry does not track are not, nor pods outside the fleet. At least one
// fleet pod stays out of the registry so that "healthy": null shows.
func addPodServers(f *inferenceFleet, pods []standin.Pod, prefix string) []string {
	var outside []string
	var last *standIn
	var lastName string
	seen := map[string]int{}
	for _, p := range pods {
		s := &standIn{name: p.ID, podID: p.ID, models: []string{}}
		rest, inFleet := strings.CutPrefix(p.Name, prefix)
		if k, ok := kindNamed(replicaSuffix.ReplaceAllString(rest, "")); inFleet && ok {
			s.provider, s.models = k.provider, k.models
			s.registered = k.provider != ""
			seen[k.name]++
			// The second replica of the main model flaps, so that a pod's
			// health visibly changes.
			if k.name == kinds[0].name && seen[k.name] == 2 {
				s.mode = modeFlapping
			}
			if s.registered {
				last, lastName = s, p.Name
			} else {
				outside = append(outside, p.Name)
			}
		}
		f.add(s)
	}
	if len(outside) == 0 && last != nil && len(f.backends[last.models[0]]) > 1 {
		last.registered = false
		for _, m := range last.models {
			f.backends[m] = removeServer(f.backends[m], last)
		}
		outside = append(outside, lastName)
	}
	return outside
}

func removeServer(list []*standIn, s *standIn) []*standIn {
	out := list[:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// loopbackServer is one of the demo's HTTP listeners.
type loopbackServer struct {
	url  string
	srv  *http.Server
	done chan struct{}
}

// serve serves h on ln until close, with bounded reads and writes.
func (d *Demo) serve(ln net.Listener, h http.Handler, name string) *loopbackServer {
	s := &loopbackServer{
		url: "http://" + ln.Addr().String(),
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 2 * time.Second,
			ReadTimeout:       5 * time.Second,
			WriteTimeout:      slowAnswer + 5*time.Second,
			IdleTimeout:       30 * time.Second,
			MaxHeaderBytes:    16 << 10,
			BaseContext:       func(net.Listener) context.Context { return d.ctx },
			ErrorLog:          zap.NewStdLog(d.log.Named(name)),
		},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("demo listener stopped", zap.String("listener", name), zap.Error(err))
		}
	}()
	return s
}

// close stops accepting, lets the requests being served end (Close has
// already cancelled their context), and waits for the serving goroutine.
func (s *loopbackServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	_ = s.srv.Close()
	<-s.done
}
