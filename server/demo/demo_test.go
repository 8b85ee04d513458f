package demo

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap/zaptest"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/embedded"
	"github.com/threatwinds/aiadmin/clients/runpod"
	"github.com/threatwinds/aiadmin/clients/runpod/standin"
)

// startStore starts an embedded store and returns a Store on it; both stop
// when the test ends.
func startStore(t *testing.T) *fleet.Store {
	t.Helper()
	srv, err := embedded.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := fleet.Connect(ctx, fleet.ConnectOptions{Addrs: []string{srv.Addr()}, Embedded: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return fleet.New(c, fleet.Options{})
}

// newHTTPClient returns a client that keeps no idle connections, so that it
// leaves no goroutine behind, and gives up after timeout.
func newHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
}

// get fetches u and decodes a JSON answer into out, when out is not nil.
func get(t *testing.T, c *http.Client, u string, out any) (int, error) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, err
		}
	}
	return resp.StatusCode, nil
}

func modelIDs(l modelList) []string {
	ids := []string{}
	for _, m := range l.Data {
		ids = append(ids, m.ID)
	}
	return ids
}

func TestDemo(t *testing.T) {
	store := startStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if leaked := demoGoroutines(); len(leaked) > 0 {
		t.Fatalf("demo goroutines running before Start:\n%s", strings.Join(leaked, "\n\n"))
	}

	d, err := Start(ctx, Options{Store: store, Logger: zaptest.NewLogger(t), RequestsPerSecond: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	startedMs := time.Now().UnixMilli()
	metricsAtStart, err := store.AffinityMetrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	servers, err := store.Servers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hc := newHTTPClient(5 * time.Second)
	base := strings.TrimSuffix(d.PodURLTemplate(), "/{id}/v1")

	t.Run("registry holds a few hundred backends of the main model", func(t *testing.T) {
		_, total, err := store.RegistryPage(ctx, modelQwen27B, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if total < 300 {
			t.Errorf("registry of %s has %d URLs, want at least 300", modelQwen27B, total)
		}
		providers := map[string]bool{}
		for _, s := range servers {
			providers[s.Provider] = true
			if !strings.HasPrefix(s.URL, base+"/") {
				t.Errorf("backend %s is not on the demo's loopback listener %s", s.URL, base)
			}
		}
		if diff := cmp.Diff(map[string]bool{"vllm": true, "sglang": true, "speaches": true}, providers); diff != "" {
			t.Errorf("providers (-want +got):\n%s", diff)
		}
	})

	t.Run("stand-ins answer as configured", func(t *testing.T) {
		tests := []struct {
			name, path string
			want       int
			wantBody   any
		}{
			{"healthy model list", "/vllm-qwen3-6-27b-fp8-001/v1/models", http.StatusOK, []string{modelQwen27B}},
			{"two models", "/speaches-whisper-large-v3-001/v1/models", http.StatusOK, []string{modelWhisper, modelKokoro}},
			{"health below the base URL", "/vllm-qwen3-6-27b-fp8-001/v1/health", http.StatusOK, map[string]string{"status": "ok"}},
			{"health at the root", "/sglang-qwen3-6-35b-a3b-001/health", http.StatusOK, map[string]string{"status": "ok"}},
			{"failing", "/vllm-qwen3-6-27b-fp8-007/v1/models", http.StatusServiceUnavailable, nil},
			{"failing health", "/sglang-qwen3-6-35b-a3b-005/health", http.StatusServiceUnavailable, nil},
			{"unknown server", "/no-such-server/v1/models", http.StatusNotFound, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var body json.RawMessage
				status, err := get(t, hc, base+tt.path, &body)
				if err != nil {
					t.Fatal(err)
				}
				if status != tt.want {
					t.Fatalf("status = %d, want %d", status, tt.want)
				}
				switch want := tt.wantBody.(type) {
				case []string:
					var l modelList
					if err := json.Unmarshal(body, &l); err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(want, modelIDs(l)); diff != "" {
						t.Errorf("models (-want +got):\n%s", diff)
					}
				case map[string]string:
					var got map[string]string
					if err := json.Unmarshal(body, &got); err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("body (-want +got):\n%s", diff)
					}
				}
			})
		}

		t.Run("slow outlasts a probe timeout", func(t *testing.T) {
			begin := time.Now()
			_, err := get(t, newHTTPClient(300*time.Millisecond), base+"/vllm-qwen3-6-27b-fp8-013/v1/models", nil)
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("GET a slow server: err = %v, want a timeout", err)
			}
			if took := time.Since(begin); took > 3*time.Second {
				t.Errorf("the client's timeout took %v to end the request", took)
			}
		})
	})

	t.Run("every registered backend answers its models as configured", func(t *testing.T) {
		if len(servers) < 300 {
			t.Fatalf("%d registered servers, want at least 300", len(servers))
		}
		short := newHTTPClient(400 * time.Millisecond)
		var mu sync.Mutex
		seen := map[mode]int{}
		sem := make(chan struct{}, 16)
		var wg sync.WaitGroup
		for _, srv := range servers {
			s, ok := d.fleet.byURL[srv.URL]
			if !ok {
				t.Errorf("registered %s is no stand-in", srv.URL)
				continue
			}
			want := slices.Sorted(slices.Values(s.models))
			if diff := cmp.Diff(want, srv.Models); diff != "" {
				t.Errorf("%s: registered models (-stand-in +registry):\n%s", srv.URL, diff)
			}
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				before := d.fleet.state(s, time.Now())
				var l modelList
				status, err := get(t, short, srv.URL+"/models", &l)
				if after := d.fleet.state(s, time.Now()); after != before {
					return // flapped during the request
				}
				mu.Lock()
				seen[before]++
				mu.Unlock()
				switch before {
				case modeHealthy:
					if err != nil || status != http.StatusOK {
						t.Errorf("%s (%v): status %d, err %v; want 200", srv.URL, s.mode, status, err)
					} else if diff := cmp.Diff(s.models, modelIDs(l)); diff != "" {
						t.Errorf("%s: models (-want +got):\n%s", srv.URL, diff)
					}
				case modeFailing:
					if status != http.StatusServiceUnavailable {
						t.Errorf("%s (%v): status %d, err %v; want 503", srv.URL, s.mode, status, err)
					}
				case modeSlow:
					var ne net.Error
					if !errors.As(err, &ne) || !ne.Timeout() {
						t.Errorf("%s (slow): status %d, err %v; want a timeout", srv.URL, status, err)
					}
				}
			})
		}
		wg.Wait()
		for _, m := range []mode{modeHealthy, modeFailing, modeSlow} {
			if seen[m] == 0 {
				t.Errorf("no registered server was %v", m)
			}
		}
		flapping := 0
		for _, s := range d.fleet.servers {
			if s.registered && s.mode == modeFlapping {
				flapping++
			}
		}
		if flapping == 0 {
			t.Error("no registered server flaps")
		}
	})

	t.Run("RunPod stand-in lists pods that lead to living stand-ins", func(t *testing.T) {
		rp, err := runpod.New(runpod.Options{
			URL: d.RunPodURL(), APIKey: d.RunPodAPIKey(), Timeout: 5 * time.Second,
			HTTPClient: newHTTPClient(0), MaxRetries: -1,
		})
		if err != nil {
			t.Fatal(err)
		}
		pods, err := rp.ListPods(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(pods) != DefaultPods+2 {
			t.Fatalf("%d pods, want %d fleet pods and two others", len(pods), DefaultPods)
		}
		var fleetURLs []string
		var running runpod.Pod
		for _, p := range pods {
			if !strings.HasPrefix(p.Name, d.PodPrefix()) {
				continue
			}
			u := strings.ReplaceAll(d.PodURLTemplate(), "{id}", p.ID)
			fleetURLs = append(fleetURLs, u)
			status, err := get(t, hc, u+"/models", nil)
			if err != nil {
				t.Fatalf("GET %s/models: %v", u, err)
			}
			if want := http.StatusOK; p.DesiredStatus == standin.StatusExited {
				if status != http.StatusServiceUnavailable {
					t.Errorf("exited pod %s: status %d, want 503", p.Name, status)
				}
			} else if s := d.fleet.byURL[u]; s.mode == modeHealthy && status != want {
				t.Errorf("running pod %s: status %d, want %d", p.Name, status, want)
			}
			if p.Name == d.PodPrefix()+kinds[0].name+"-1" {
				running = p
			}
		}
		if len(fleetURLs) != DefaultPods {
			t.Errorf("%d fleet pods, want %d", len(fleetURLs), DefaultPods)
		}
		models, err := store.ModelsForURLs(ctx, fleetURLs)
		if err != nil {
			t.Fatal(err)
		}
		registered := 0
		for _, ms := range models {
			if len(ms) > 0 {
				registered++
			}
		}
		if registered < DefaultPods/2 || registered == len(fleetURLs) {
			t.Errorf("%d of %d fleet pods are registered, want most but not all", registered, len(fleetURLs))
		}

		if running.ID == "" {
			t.Fatal("no first replica of the main model among the pods")
		}
		u := strings.ReplaceAll(d.PodURLTemplate(), "{id}", running.ID)
		got, err := store.ModelsForURLs(ctx, []string{u})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([][]string{{modelQwen27B}}, got); diff != "" {
			t.Errorf("models of pod %s (-want +got):\n%s", running.Name, diff)
		}
		// Stopping the pod on the RunPod stand-in takes its server down.
		if err := rp.StopPod(ctx, running.ID); err != nil {
			t.Fatal(err)
		}
		if status, err := get(t, hc, u+"/models", nil); err != nil || status != http.StatusServiceUnavailable {
			t.Errorf("stopped pod: status %d, err %v; want 503", status, err)
		}

		bad, err := runpod.New(runpod.Options{URL: d.RunPodURL(), APIKey: "wrong", HTTPClient: newHTTPClient(0), MaxRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bad.ListPods(ctx); err == nil {
			t.Error("the RunPod stand-in accepted a wrong API key")
		}
	})

	t.Run("seeded affinity of the demo user", func(t *testing.T) {
		cleared, err := store.ClearAffinity(ctx, DemoUser, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cleared != int64(len(demoUserModels)) {
			t.Errorf("cleared %d entries of %s, want %d", cleared, DemoUser, len(demoUserModels))
		}
	})

	t.Run("traffic moves counters and demand", func(t *testing.T) {
		// Reading the demand of every backend is too much for one poll;
		// the pods' servers take a good share of the traffic.
		var urls []string
		for _, s := range d.fleet.servers {
			if s.podID != "" && s.registered {
				urls = append(urls, s.url)
			}
		}
		lookups := func(ms []fleet.ProviderAffinity) (n int64) {
			for _, m := range ms {
				n += m.Hits + m.Misses
			}
			return n
		}
		var countersMoved, used, inflight bool
		deadline := time.Now().Add(15 * time.Second)
		for !(countersMoved && used && inflight) && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
			ms, err := store.AffinityMetrics(ctx)
			if err != nil {
				t.Fatal(err)
			}
			countersMoved = countersMoved || lookups(ms) > lookups(metricsAtStart)
			ds, err := store.DemandMany(ctx, urls)
			if err != nil {
				t.Fatal(err)
			}
			for _, dm := range ds {
				used = used || dm.LastUseMs >= startedMs
				inflight = inflight || dm.Inflight > 0
			}
		}
		if !countersMoved || !used || !inflight {
			t.Errorf("after simulating: counters moved %v, a backend used since start %v, a request in flight %v; want all true",
				countersMoved, used, inflight)
		}
	})

	t.Run("a drained server gets no new request while traffic goes on", func(t *testing.T) {
		// A healthy server of the main model, with every user's session of
		// that model pinned to it: were the drain ignored, most of the
		// model's requests would go there. (The pods of the main model are
		// stopped or flapping by now.)
		var srv *standIn
		for _, s := range d.fleet.backends[modelQwen27B] {
			if s.podID == "" && s.mode == modeHealthy {
				srv = s
				break
			}
		}
		if srv == nil {
			t.Fatal("no healthy server of the main model")
		}
		drainedURL := srv.url
		for _, u := range d.sim.users {
			if err := store.PinSession(ctx, fleet.ProviderVLLM, u, modelQwen27B, drainedURL); err != nil {
				t.Fatal(err)
			}
		}
		fallbacks := func() int64 {
			ms, err := store.AffinityMetrics(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return ms[0].Fallbacks // vllm
		}
		if err := store.Drain(ctx, drainedURL, "demo test"); err != nil {
			t.Fatal(err)
		}
		awaitDrained := func(want bool) {
			t.Helper()
			deadline := time.Now().Add(10 * time.Second)
			for d.sim.r.aff.Drained(drainedURL) != want {
				if time.Now().After(deadline) {
					t.Fatalf("the demo router did not see %s drained = %v within 10 s", drainedURL, want)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		awaitDrained(true)
		// A request routed just before the reload may still start.
		time.Sleep(300 * time.Millisecond)
		before, err := store.Demand(ctx, drainedURL)
		if err != nil {
			t.Fatal(err)
		}
		startedBefore, fallbacksBefore := d.sim.started.Load(), fallbacks()
		// Every request open at the drain ends within maxDuration.
		time.Sleep(maxDuration + 500*time.Millisecond)
		after, err := store.Demand(ctx, drainedURL)
		if err != nil {
			t.Fatal(err)
		}
		if after.LastUseMs != before.LastUseMs || after.Inflight > before.Inflight {
			t.Errorf("drained %s: last use %d -> %d, in flight %d -> %d; want no new request",
				drainedURL, before.LastUseMs, after.LastUseMs, before.Inflight, after.Inflight)
		}
		if n := fallbacks(); n <= fallbacksBefore {
			t.Errorf("vllm fallbacks %d -> %d while sessions pinned to drained %s were routed", fallbacksBefore, n, drainedURL)
		}
		if started := d.sim.started.Load(); started <= startedBefore {
			t.Errorf("the simulator started no request while %s was drained (%d -> %d)", drainedURL, startedBefore, started)
		}
		if err := store.Undrain(ctx, drainedURL); err != nil {
			t.Fatal(err)
		}
		awaitDrained(false)
	})

	d.Close()
	d.Close() // twice is harmless

	t.Run("Close stops everything", func(t *testing.T) {
		for _, u := range []string{base, d.RunPodURL()} {
			pu, err := url.Parse(u)
			if err != nil {
				t.Fatal(err)
			}
			if c, err := net.DialTimeout("tcp", pu.Host, time.Second); err == nil {
				c.Close()
				t.Errorf("%s still accepts connections after Close", pu.Host)
			}
		}
		deadline := time.Now().Add(5 * time.Second)
		leaked := demoGoroutines()
		for len(leaked) > 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			leaked = demoGoroutines()
		}
		for _, g := range leaked {
			t.Errorf("goroutine still running after Close:\n%s", g)
		}
	})
}

// demoGoroutines returns the stacks of the goroutines that belong to a demo:
// its simulator, its listeners and the requests they serve. The store's
// client and server, and the tests themselves, are not counted.
func demoGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "demo.Test") {
			continue
		}
		if strings.Contains(g, "aiadmin/server/demo.") || strings.Contains(g, "standin.") ||
			strings.Contains(g, "net/http.(*conn).serve") || strings.Contains(g, "net/http.(*Server).Serve") {
			out = append(out, g)
		}
	}
	return out
}

// fakePods is a podSource holding fixed pods.
type fakePods map[string]standin.Pod

func (f fakePods) Pod(id string) (standin.Pod, bool) {
	p, ok := f[id]
	return p, ok
}

func TestStandInState(t *testing.T) {
	now := time.Date(2026, 6, 25, 10, 0, 0, 0, time.UTC)
	pods := fakePods{
		"running":  {ID: "running", DesiredStatus: standin.StatusRunning, LastStartedAt: now.Add(-3 * time.Hour).Format(time.RFC3339)},
		"exited":   {ID: "exited", DesiredStatus: standin.StatusExited},
		"resumed":  {ID: "resumed", DesiredStatus: standin.StatusRunning, LastStartedAt: now.Add(-time.Second).Format(resumedLayout)},
		"warmedUp": {ID: "warmedUp", DesiredStatus: standin.StatusRunning, LastStartedAt: now.Add(-bootTime - time.Second).Format(resumedLayout)},
	}
	f := newInferenceFleet("http://127.0.0.1:1", pods)
	flapping := &standIn{name: "flapping", mode: modeFlapping}
	f.add(flapping)

	tests := []struct {
		name string
		s    *standIn
		at   time.Time
		want mode
	}{
		{"healthy", &standIn{mode: modeHealthy}, now, modeHealthy},
		{"failing", &standIn{mode: modeFailing}, now, modeFailing},
		{"slow", &standIn{mode: modeSlow}, now, modeSlow},
		{"running pod", &standIn{podID: "running"}, now, modeHealthy},
		{"exited pod", &standIn{podID: "exited"}, now, modeFailing},
		{"pod unknown to RunPod", &standIn{podID: "gone"}, now, modeFailing},
		{"pod booting after a resume", &standIn{podID: "resumed"}, now, modeFailing},
		{"pod booted after a resume", &standIn{podID: "warmedUp"}, now, modeHealthy},
		{"flapping running pod follows its cycle", &standIn{podID: "running", mode: modeFlapping}, now, f.state(flapping, now)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := f.state(tt.s, tt.at); got != tt.want {
				t.Errorf("state = %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("flapping alternates every period", func(t *testing.T) {
		var states []mode
		for i := range 4 {
			states = append(states, f.state(flapping, now.Add(time.Duration(i)*flapPeriod)))
		}
		for i := 1; i < len(states); i++ {
			if states[i] == states[i-1] {
				t.Fatalf("states over four periods: %v, want alternating", states)
			}
		}
	})
}

func TestStartRejectsBadOptions(t *testing.T) {
	store := startStore(t)
	tests := []struct {
		name string
		o    Options
	}{
		{"no store", Options{}},
		{"negative pods", Options{Store: store, Pods: -1}},
		{"too many pods", Options{Store: store, Pods: MaxPods + 1}},
		{"traffic too heavy", Options{Store: store, RequestsPerSecond: MaxRate + 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d, err := Start(context.Background(), tt.o); err == nil {
				d.Close()
				t.Error("Start accepted the options")
			}
		})
	}
}
