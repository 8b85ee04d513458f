package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/valkey-io/valkey-go"
	"go.uber.org/zap"

	"github.com/threatwinds/aiadmin/clients/auth"
	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
	"github.com/threatwinds/aiadmin/gen/adminclient"
	"github.com/threatwinds/aiadmin/server/contracttest"
	"github.com/threatwinds/aiadmin/server/httpapi"
	"github.com/threatwinds/aiadmin/server/pool"
)

// lateServerList lets a test build the pool once newEnv has started Valkey:
// newEnv builds the handlers, and the pool needs the server's address.
type lateServerList struct {
	list atomic.Pointer[pool.ServerList]
}

func (l *lateServerList) ListServers(ctx context.Context, offset, limit int64) ([]pool.ServerStatus, int64, error) {
	return l.list.Load().ListServers(ctx, offset, limit)
}

func (l *lateServerList) Servers(ctx context.Context) ([]fleet.Server, error) {
	return l.list.Load().Servers(ctx)
}

// poolCtx returns a context that ends with the test or after a minute.
func poolCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// poolClient connects to the Valkey at addr until the test ends.
func poolClient(t *testing.T, addr string) valkey.Client {
	t.Helper()
	c, err := fleet.Connect(poolCtx(t), fleet.ConnectOptions{Addrs: []string{addr}, CommandTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestContractServersAndRefresh drives ListServers and RefreshRegistry
// through the generated client, with the replica's tables following the
// refresh channel.
func TestContractServersAndRefresh(t *testing.T) {
	late := &lateServerList{}
	env := newEnv(t, func(o *envOptions) {
		o.handlers = func(h *httpapi.Handlers, _ *fleet.Store) { h.Servers = late }
	})
	ctx := poolCtx(t)
	tables := pool.NewTables(poolClient(t, env.valkey.Addr()), env.store, pool.TablesOptions{ReloadInterval: time.Hour})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = tables.Run(runCtx) }()
	defer func() { stop(); <-done }()
	late.list.Store(pool.NewServerList(tables, env.store))
	poolWaitFor(t, 5*time.Second, "tables loaded", func() bool { return tables.Snapshot().Loaded() })
	up, down := true, false
	reg := []struct {
		provider, url string
		models        []string
		health        *fleet.ServerHealth
	}{
		// Never probed: reads as unhealthy with zeros.
		{"speaches", "http://speech-1:8000/v1", []string{"whisper-large-v3"}, nil},
		{"vllm", "https://pod-2.proxy.runpod.net/v1", []string{"qwen3-27b"},
			&fleet.ServerHealth{Healthy: &down, ConsecutiveFailures: 3, LastCheckMs: 1_700_000_003_000, LastFailureMs: 1_700_000_003_000}},
		{"vllm", "https://pod-1.proxy.runpod.net/v1", []string{"qwen3-27b", "qwen3-35b-a3b"},
			&fleet.ServerHealth{Healthy: &up, ConsecutiveSuccesses: 12, LastCheckMs: 1_700_000_002_000, LastFailureMs: 1_699_999_000_000}},
		{"sglang", "https://pod-3.proxy.runpod.net/v1", nil,
			// Probed once and failed while it was unknown: unhealthy.
			&fleet.ServerHealth{Healthy: &down, ConsecutiveFailures: 1, LastCheckMs: 1_700_000_001_000, LastFailureMs: 1_700_000_001_000}},
		{"vllm", "https://pod-4.proxy.runpod.net/v1", []string{"qwen3-27b"},
			// Stored as unknown: reads as unhealthy with zeros.
			&fleet.ServerHealth{}},
	}

	t.Run("refresh triggers a reload on the replica", func(t *testing.T) {
		for _, r := range reg {
			if err := env.store.RegisterServer(ctx, r.provider, r.url, r.models); err != nil {
				t.Fatal(err)
			}
			if r.health != nil {
				if err := env.store.RecordHealth(ctx, r.url, *r.health); err != nil {
					t.Fatal(err)
				}
			}
		}
		if tables.Snapshot().Len() != 0 {
			t.Fatal("the tables reloaded before the refresh")
		}
		resp, err := env.admin.RefreshRegistryWithResponse(ctx)
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body)
		}
		if resp.JSON200.Status != adminclient.Triggered {
			t.Errorf("status %q", resp.JSON200.Status)
		}
		poolWaitFor(t, 10*time.Second, "tables reloaded after the refresh", func() bool {
			return tables.Snapshot().Len() == len(reg)
		})
	})

	pod := func(provider adminclient.ServerProvider, url string, models ...string) adminclient.Server {
		if models == nil {
			models = []string{}
		}
		return adminclient.Server{Provider: provider, Url: url, Models: models}
	}
	pod1 := pod("vllm", "https://pod-1.proxy.runpod.net/v1", "qwen3-27b", "qwen3-35b-a3b")
	pod1.Healthy, pod1.ConsecutiveSuccesses, pod1.LastCheckMs, pod1.LastFailureMs = true, 12, 1_700_000_002_000, 1_699_999_000_000
	pod2 := pod("vllm", "https://pod-2.proxy.runpod.net/v1", "qwen3-27b")
	pod2.ConsecutiveFailures, pod2.LastCheckMs, pod2.LastFailureMs = 3, 1_700_000_003_000, 1_700_000_003_000
	pod4 := pod("vllm", "https://pod-4.proxy.runpod.net/v1", "qwen3-27b")
	pod3 := pod("sglang", "https://pod-3.proxy.runpod.net/v1")
	pod3.ConsecutiveFailures, pod3.LastCheckMs, pod3.LastFailureMs = 1, 1_700_000_001_000, 1_700_000_001_000
	speech := pod("speaches", "http://speech-1:8000/v1", "whisper-large-v3")
	all := []adminclient.Server{pod1, pod2, pod4, pod3, speech}

	t.Run("pages in provider then url order", func(t *testing.T) {
		pages := []struct {
			page, limit int64
			want        []adminclient.Server
		}{
			{1, 2, all[0:2]},
			{2, 2, all[2:4]},
			{3, 2, all[4:]},
			{4, 2, []adminclient.Server{}},
			{1, 100, all},
		}
		for _, p := range pages {
			resp, err := env.admin.ListServersWithResponse(ctx, &adminclient.ListServersParams{Page: ptr(p.page), Limit: ptr(p.limit)})
			if err != nil || resp.JSON200 == nil {
				t.Fatalf("page %d: %v %d %s", p.page, err, resp.StatusCode(), resp.Body)
			}
			want := adminclient.ServerList{Servers: p.want, Page: p.page, Limit: p.limit, Total: int64(len(all))}
			if d := cmp.Diff(want, *resp.JSON200); d != "" {
				t.Errorf("page %d limit %d (-want +got):\n%s", p.page, p.limit, d)
			}
		}
	})

	t.Run("defaults, empty lists as []", func(t *testing.T) {
		resp, body := env.do(t, http.MethodGet, "/api/ai/v1/admin/servers?page=9", authHeader(), "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if got, want := string(bytes.TrimSpace(body)), `{"limit":10,"page":9,"servers":[],"total":5}`; got != want {
			t.Errorf("body = %s, want %s", got, want)
		}
		resp, body = env.do(t, http.MethodGet, "/api/ai/v1/admin/servers?limit=1&page=4", authHeader(), "")
		if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"models":[]`)) || !bytes.Contains(body, []byte(`"healthy":false`)) {
			t.Errorf("a server without models: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("bad page and credentials", func(t *testing.T) {
		for _, q := range []string{"page=0", "limit=0", "limit=1001", "page=x"} {
			resp, body := env.do(t, http.MethodGet, "/api/ai/v1/admin/servers?"+q, authHeader(), "")
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: %d %s", q, resp.StatusCode, body)
			}
		}
		if resp, err := env.anon.ListServersWithResponse(ctx, nil); err != nil || resp.StatusCode() != http.StatusUnauthorized {
			t.Errorf("anonymous: %v %d", err, resp.StatusCode())
		}
		if resp, err := env.roleless.RefreshRegistryWithResponse(ctx); err != nil || resp.StatusCode() != http.StatusForbidden {
			t.Errorf("without the role: %v %d", err, resp.StatusCode())
		}
	})
}

// TestContractServersAndRefreshValkeyDown: with Valkey stopped, a refresh
// cannot be triggered (500) and the health of a page cannot be read (503),
// both in the error format.
func TestContractServersAndRefreshValkeyDown(t *testing.T) {
	late := &lateServerList{}
	env := newEnv(t, func(o *envOptions) {
		o.handlers = func(h *httpapi.Handlers, _ *fleet.Store) { h.Servers = late }
	})
	ctx := poolCtx(t)
	if err := env.store.RegisterServer(ctx, "vllm", "https://pod-1.proxy.runpod.net/v1", []string{"m"}); err != nil {
		t.Fatal(err)
	}
	tables := pool.NewTables(poolClient(t, env.valkey.Addr()), env.store, pool.TablesOptions{})
	if err := tables.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	late.list.Store(pool.NewServerList(tables, env.store))
	env.valkey.Stop()

	// env's own transport treats a 500 as a failure of the test; this one
	// only checks the contract.
	tr := &contracttest.Transport{Spec: contracttest.Spec(t)}
	c, err := adminclient.NewClientWithResponses(env.url,
		adminclient.WithHTTPClient(&http.Client{Transport: tr, Timeout: 30 * time.Second}),
		adminclient.WithRequestEditorFn(bearer(adminToken)))
	if err != nil {
		t.Fatal(err)
	}
	refresh, err := c.RefreshRegistryWithResponse(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if refresh.JSON500 == nil || refresh.JSON500.Error != "registry refresh failed" ||
		refresh.HTTPResponse.Header.Get("x-error") != "registry refresh failed" || refresh.HTTPResponse.Header.Get("x-error-id") == "" {
		t.Errorf("refresh with Valkey down: %d %v %s", refresh.StatusCode(), refresh.HTTPResponse.Header, refresh.Body)
	}
	list, err := c.ListServersWithResponse(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if list.JSON503 == nil || list.JSON503.Error != "valkey unavailable" || list.HTTPResponse.Header.Get("x-error-id") == "" {
		t.Errorf("list with Valkey down: %d %s", list.StatusCode(), list.Body)
	}
	for _, r := range tr.Results() {
		if r.Err != nil {
			t.Errorf("contract violated: %v", r.Err)
		}
	}
}

// poolReplica is one aiadmin replica for the multi-replica test: its own Valkey
// client, tables, prober and HTTP server, on a shared Valkey.
type poolReplica struct {
	name   string
	store  *fleet.Store
	tables *pool.Tables
	prober *pool.Prober
	url    string
	tr     *contracttest.Transport
	admin  *adminclient.ClientWithResponses
	// kill stops the replica as a crash would: the lease is left in place.
	kill func()
}

func startPoolReplica(t *testing.T, name, valkeyAddr string, probe pool.ProberOptions) *poolReplica {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	client, err := fleet.Connect(ctx, fleet.ConnectOptions{Addrs: []string{valkeyAddr}, CommandTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := &poolReplica{name: name, store: fleet.New(client, fleet.Options{})}
	r.tables = pool.NewTables(client, r.store, pool.TablesOptions{ReloadInterval: time.Hour})
	probe.Holder = name
	probe.KeepLeaseOnStop = true
	r.prober = pool.NewProber(r.tables, r.store, probe)

	authn, err := auth.NewFileAuthenticator([]auth.FileEntry{
		{UserID: "usr_ops", Roles: []string{"user", auth.AdminRole}, BearerSHA256: auth.HashSecret(adminToken)},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := &httpapi.Handlers{Refresher: r.store, Registry: r.store, Servers: pool.NewServerList(r.tables, r.store), Log: zap.NewNop()}
	e, err := httpapi.NewHTTPHandler(httpapi.HTTPOptions{Logger: zap.NewNop(), Authenticator: authn, API: h})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	r.url = srv.URL
	r.tr = &contracttest.Transport{Spec: contracttest.Spec(t)}
	r.admin, err = adminclient.NewClientWithResponses(srv.URL,
		adminclient.WithHTTPClient(&http.Client{Transport: r.tr, Timeout: 30 * time.Second}),
		adminclient.WithRequestEditorFn(bearer(adminToken)))
	if err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	wg.Go(func() { _ = r.tables.Run(ctx) })
	wg.Go(func() { _ = r.prober.Run(ctx) })
	var once sync.Once
	r.kill = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			srv.Close()
			client.Close()
		})
	}
	t.Cleanup(func() {
		r.kill()
		for _, res := range r.tr.Results() {
			if res.Err != nil {
				t.Errorf("replica %s: contract violated: %v", name, res.Err)
			}
		}
	})
	return r
}

// page fetches one /servers page as raw bytes.
func (r *poolReplica) page(t *testing.T, query string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, r.url+"/api/ai/v1/admin/servers?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := (&http.Client{Transport: r.tr, Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("replica %s: GET /servers?%s: %d %v %s", r.name, query, resp.StatusCode, err, body)
	}
	return body
}

// TestTwoReplicasShareRefreshAndProbing runs two replicas on one Valkey with
// the production lease timing: a refresh sent to one is acted on by the
// other, both answer the same /servers page byte for byte, only one probes,
// and killing it hands probing to the other within 15 s.
func TestTwoReplicasShareRefreshAndProbing(t *testing.T) {
	vk := valkeytest.StartServer(t)
	setupClient := poolClient(t, vk.Addr())
	setup := fleet.New(setupClient, fleet.Options{})
	ctx := poolCtx(t)
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"object":"list","data":[]}`))
	}))
	defer healthy.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer failing.Close()
	if err := setup.RegisterServer(ctx, "vllm", healthy.URL+"/v1", []string{"qwen"}); err != nil {
		t.Fatal(err)
	}
	if err := setup.RegisterServer(ctx, "sglang", failing.URL+"/v1", []string{"qwen"}); err != nil {
		t.Fatal(err)
	}

	probe := pool.ProberOptions{Interval: time.Second, Timeout: 300 * time.Millisecond}
	a := startPoolReplica(t, "replica-a", vk.Addr(), probe)
	poolWaitFor(t, 5*time.Second, "a leading", a.prober.Leading)
	b := startPoolReplica(t, "replica-b", vk.Addr(), probe)
	poolWaitFor(t, 5*time.Second, "both tables loaded", func() bool {
		return a.tables.Snapshot().Len() == 2 && b.tables.Snapshot().Len() == 2
	})
	// Both subscribed, so B learns of the next registration only from the
	// refresh message.
	poolWaitFor(t, 5*time.Second, "both subscribed", func() bool {
		res, err := setupClient.Do(ctx, setupClient.B().PubsubNumsub().Channel(fleet.RefreshChannel()).Build()).ToArray()
		if err != nil || len(res) != 2 {
			return false
		}
		n, err := res[1].AsInt64()
		return err == nil && n == 2
	})

	// A server registered and a refresh sent to A: B lists it.
	added := healthy.URL + "/v2"
	if err := setup.RegisterServer(ctx, "speaches", added, []string{"whisper"}); err != nil {
		t.Fatal(err)
	}
	resp, err := a.admin.RefreshRegistryWithResponse(ctx)
	if err != nil || resp.JSON200 == nil {
		t.Fatalf("refresh through A: %v %d %s", err, resp.StatusCode(), resp.Body)
	}
	poolWaitFor(t, 10*time.Second, "B lists the server refreshed through A", func() bool {
		return bytes.Contains(b.page(t, "limit=100"), []byte(`"url":"`+added+`"`))
	})

	// Both answer the same page identically once the leader has probed. The
	// leader writes during the first part of each interval: B's answer is
	// compared with A's answers just before and just after it, until all
	// three fall between two rounds' writes.
	poolWaitFor(t, 10*time.Second, "a's first round", func() bool { return a.prober.Rounds() >= 1 })
	poolWaitFor(t, 5*time.Second, "a's tables include the new server", func() bool { return a.tables.Snapshot().Len() == 3 })
	for _, q := range []string{"limit=100", "page=2&limit=1"} {
		poolWaitFor(t, 10*time.Second, "A and B answer ?"+q+" identically", func() bool {
			before, fromB, after := a.page(t, q), b.page(t, q), a.page(t, q)
			return bytes.Equal(before, after) && bytes.Equal(before, fromB)
		})
	}
	full := a.page(t, "limit=100")
	for _, want := range []string{`"healthy":true`, `"healthy":false`, `"consecutive_failures":0`, `"consecutive_successes":0`} {
		if !bytes.Contains(full, []byte(want)) {
			t.Errorf("the page shows no %s: %s", want, full)
		}
	}
	if b.prober.Leading() || b.prober.Rounds() != 0 {
		t.Errorf("b probed while a held the lease")
	}

	// Kill the leader; the other takes over and probes.
	before, err := setup.HealthMany(ctx, []string{healthy.URL + "/v1"})
	if err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	a.kill()
	poolWaitFor(t, 15*time.Second, "b holds the lease and probes", func() bool {
		holder, err := setup.LeaseHolder(ctx, pool.LeaseName)
		if err != nil || holder != "replica-b" {
			return false
		}
		h, err := setup.HealthMany(ctx, []string{healthy.URL + "/v1"})
		return err == nil && h[0].LastCheckMs > before[0].LastCheckMs && h[0].ConsecutiveSuccesses > before[0].ConsecutiveSuccesses
	})
	t.Logf("probing handed over %s after the leader died (lease TTL %s, renewed every %s)",
		time.Since(killed).Round(100*time.Millisecond), pool.DefaultLeaseTTL, pool.DefaultLeaseRenewEvery)
}

// poolWaitFor polls cond every 50ms until it holds or timeout passes.
func poolWaitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
