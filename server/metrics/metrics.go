// Package metrics holds the Prometheus series of what a replica depends on:
// RunPod, the ThreatWinds Auth API, the health prober and the servers it
// judges, Valkey, and the age of the pod list. The clients import no
// metrics library: each reports through a callback, and a method of
// Dependencies is that callback. The HTTP series (requests, latency, rate
// limits) live with the HTTP layer, in package httpapi.
package metrics

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valkey-io/valkey-go"

	"github.com/threatwinds/aiadmin/clients/authapi"
	"github.com/threatwinds/aiadmin/clients/runpod"
	"github.com/threatwinds/aiadmin/server/pool"
)

// callBuckets cover calls from a millisecond to a minute (RunPod's list of
// thousands of pods, retries and backoff included).
var callBuckets = prometheus.ExponentialBuckets(0.001, 2.5, 13)

// Kinds of Valkey failure, the kind label of aiadmin_valkey_failures_total.
const (
	ValkeyTimeout     = "timeout"
	ValkeyRefused     = "refused"
	ValkeyUnreachable = "unreachable"
)

// Dependencies records the series of a replica's dependencies. Its methods
// are safe for concurrent use and quick: they are called on the request
// path.
type Dependencies struct {
	runpodCalls    *prometheus.CounterVec
	runpodLatency  *prometheus.HistogramVec
	authCalls      *prometheus.CounterVec
	authLatency    *prometheus.HistogramVec
	authCache      *prometheus.CounterVec
	probes         *prometheus.CounterVec
	probeLatency   prometheus.Histogram
	servers        *prometheus.GaugeVec
	valkeyFailures *prometheus.CounterVec
	podListAgeDesc *prometheus.Desc

	now func() time.Time
	mu  sync.Mutex
	// lastList is when RunPod last answered a list of pods; podListAge,
	// when set, replaces it as the source of the age.
	lastList   time.Time
	podListAge func() (time.Duration, bool)
}

// New registers the series with reg; now is the clock of the pod list's
// age (nil means time.Now).
func New(reg prometheus.Registerer, now func() time.Time) *Dependencies {
	if now == nil {
		now = time.Now
	}
	d := &Dependencies{
		now: now,
		runpodCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aiadmin_runpod_calls_total",
			Help: "RunPod API calls (retries included in one call) by operation and outcome.",
		}, []string{"operation", "outcome"}),
		runpodLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "aiadmin_runpod_call_duration_seconds",
			Help:    "RunPod API call latency, retries and backoff included, by operation.",
			Buckets: callBuckets,
		}, []string{"operation"}),
		authCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aiadmin_authapi_calls_total",
			Help: "ThreatWinds Auth API calls by endpoint (session, keypair) and outcome (valid, invalid, unavailable).",
		}, []string{"endpoint", "outcome"}),
		authLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "aiadmin_authapi_call_duration_seconds",
			Help:    "ThreatWinds Auth API call latency by endpoint.",
			Buckets: callBuckets,
		}, []string{"endpoint"}),
		authCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aiadmin_authapi_cache_lookups_total",
			Help: "Credential checks by what the Auth API cache said: hit (a cached acceptance), refusal (a cached refusal), miss.",
		}, []string{"result"}),
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aiadmin_probes_total",
			Help: "Health probes this replica made, by outcome (ok, status, timeout, unreachable, bad_url).",
		}, []string{"outcome"}),
		probeLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "aiadmin_probe_duration_seconds",
			Help:    "Health probe latency.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 10),
		}),
		servers: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "aiadmin_servers",
			Help: "Servers per provider and state (healthy, unhealthy, draining) after the last probe round; only the replica that probes reports them.",
		}, []string{"provider", "state"}),
		valkeyFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aiadmin_valkey_failures_total",
			Help: "Valkey commands that failed, by command and kind (timeout, refused, unreachable).",
		}, []string{"command", "kind"}),
		podListAgeDesc: prometheus.NewDesc("aiadmin_pod_list_age_seconds",
			"Age of the newest pod list this replica has from RunPod; absent until the first.", nil, nil),
	}
	for _, r := range []authapi.CacheResult{authapi.CacheHit, authapi.CacheRefusal, authapi.CacheMiss} {
		d.authCache.WithLabelValues(string(r))
	}
	for _, o := range []string{pool.ProbeOK, pool.ProbeStatus, pool.ProbeTimeout, pool.ProbeUnreachable, pool.ProbeBadURL} {
		d.probes.WithLabelValues(o)
	}
	reg.MustRegister(d.runpodCalls, d.runpodLatency, d.authCalls, d.authLatency, d.authCache,
		d.probes, d.probeLatency, d.servers, d.valkeyFailures, podListAge{d})
	return d
}

// RunPodCall records one RunPod call; it is runpod.Options.Observe.
func (d *Dependencies) RunPodCall(c runpod.Call) {
	d.runpodCalls.WithLabelValues(c.Operation, c.Outcome).Inc()
	d.runpodLatency.WithLabelValues(c.Operation).Observe(c.Duration.Seconds())
	if c.Operation == runpod.OpListPods && c.Outcome == runpod.OutcomeOK {
		d.mu.Lock()
		d.lastList = d.now()
		d.mu.Unlock()
	}
}

// AuthCall records one Auth API call; it is authapi.Options.ObserveCall.
func (d *Dependencies) AuthCall(c authapi.Call) {
	d.authCalls.WithLabelValues(c.Endpoint, c.Outcome).Inc()
	d.authLatency.WithLabelValues(c.Endpoint).Observe(c.Duration.Seconds())
}

// AuthCache records what the Auth API cache said; it is
// authapi.Options.ObserveCache.
func (d *Dependencies) AuthCache(r authapi.CacheResult) {
	d.authCache.WithLabelValues(string(r)).Inc()
}

// Probe records one health probe; it is pool.ProberOptions.ObserveProbe.
func (d *Dependencies) Probe(outcome string, dur time.Duration) {
	d.probes.WithLabelValues(outcome).Inc()
	d.probeLatency.Observe(dur.Seconds())
}

// Servers replaces the servers per provider and state; nil (this replica
// stopped probing) removes them. It is pool.ProberOptions.ObserveServers.
func (d *Dependencies) Servers(s pool.ServerStates) {
	d.servers.Reset()
	for provider, states := range s {
		for state, n := range states {
			d.servers.WithLabelValues(provider, state).Set(float64(n))
		}
	}
}

// ValkeyFailure records one failed Valkey command; it is the observer of
// fleet.ObserveFailures.
func (d *Dependencies) ValkeyFailure(command string, err error) {
	d.valkeyFailures.WithLabelValues(commandLabel(command), valkeyKind(err)).Inc()
}

// SetPodListAge makes age the source of aiadmin_pod_list_age_seconds: the
// age of the list the pod catalog serves, false while it has none. Until
// it is called, the age is the time since RunPod last answered a list,
// which is the age of the list a catalog that keeps the last answer serves.
func (d *Dependencies) SetPodListAge(age func() (time.Duration, bool)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.podListAge = age
}

func (d *Dependencies) listAge() (time.Duration, bool) {
	d.mu.Lock()
	age, last := d.podListAge, d.lastList
	d.mu.Unlock()
	if age != nil {
		return age()
	}
	if last.IsZero() {
		return 0, false
	}
	return max(d.now().Sub(last), 0), true
}

// podListAge is the collector of aiadmin_pod_list_age_seconds, computed at
// each scrape.
type podListAge struct{ d *Dependencies }

func (c podListAge) Describe(ch chan<- *prometheus.Desc) { ch <- c.d.podListAgeDesc }

func (c podListAge) Collect(ch chan<- prometheus.Metric) {
	if age, ok := c.d.listAge(); ok {
		ch <- prometheus.MustNewConstMetric(c.d.podListAgeDesc, prometheus.GaugeValue, age.Seconds())
	}
}

// valkeyKind says how a Valkey command failed, as the failure mapping of
// the HTTP layer tells "valkey error" from "valkey unavailable".
func valkeyKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return ValkeyTimeout
	}
	if _, ok := valkey.IsValkeyErr(err); ok {
		return ValkeyRefused
	}
	return ValkeyUnreachable
}

// commandLabel keeps the command label to command names: upper-case
// letters and underscores, at most 32 of them, else "other".
func commandLabel(c string) string {
	if c == "" || len(c) > 32 {
		return "other"
	}
	for i := 0; i < len(c); i++ {
		if b := c[i]; !(b >= 'A' && b <= 'Z' || b == '_') {
			return "other"
		}
	}
	return c
}
