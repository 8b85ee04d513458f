package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/clients/clocktest"
	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/runpod"
	"github.com/threatwinds/aiadmin/clients/runpod/standin"
	"github.com/threatwinds/aiadmin/gen/adminclient"
	"github.com/threatwinds/aiadmin/server/httpapi"
	"github.com/threatwinds/aiadmin/server/pods"
	"github.com/threatwinds/aiadmin/server/pool"
	"github.com/threatwinds/aiadmin/server/summary"
)

// TestContractDrainAndUndrain drives the drain operations through the
// generated client: a drain shows in /servers with its reason, is
// idempotent, is undone by undrain, is audited, and refuses an unknown
// server or a malformed body.
func TestContractDrainAndUndrain(t *testing.T) {
	const a, b = "https://a.pods.example/v1", "https://b.pods.example/v1"
	late := &lateServerList{}
	env := newEnv(t, func(o *envOptions) {
		o.handlers = func(h *httpapi.Handlers, _ *fleet.Store) { h.Servers = late }
	})
	tables := pool.NewTables(poolClient(t, env.valkey.Addr()), env.store, pool.TablesOptions{ReloadInterval: time.Hour})
	late.list.Store(pool.NewServerList(tables, env.store))
	ctx := context.Background()
	for _, u := range []string{a, b} {
		if err := env.store.RegisterServer(ctx, "vllm", u, []string{"m"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tables.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	draining := func() map[string]string {
		t.Helper()
		resp, err := env.admin.ListServersWithResponse(ctx, nil)
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body)
		}
		out := map[string]string{}
		for _, s := range resp.JSON200.Servers {
			if s.Draining {
				out[s.Url] = s.DrainReason
			} else if s.DrainReason != "" {
				t.Errorf("%s is not draining but has reason %q", s.Url, s.DrainReason)
			}
		}
		return out
	}

	reason := "driver update"
	for range 2 { // idempotent
		resp, err := env.admin.DrainServerWithResponse(ctx, adminclient.DrainRequest{Url: a, Reason: &reason})
		if err != nil || resp.JSON200 == nil || resp.JSON200.Url != a || !resp.JSON200.Draining {
			t.Fatalf("drain: %v %d %s", err, resp.StatusCode(), resp.Body)
		}
	}
	if d := cmp.Diff(map[string]string{a: reason}, draining()); d != "" {
		t.Errorf("draining after the drain (-want +got):\n%s", d)
	}
	for range 2 {
		resp, err := env.bot.UndrainServerWithResponse(ctx, adminclient.UndrainRequest{Url: a})
		if err != nil || resp.JSON200 == nil || resp.JSON200.Draining {
			t.Fatalf("undrain: %v %d %s", err, resp.StatusCode(), resp.Body)
		}
	}
	if d := cmp.Diff(map[string]string{}, draining()); d != "" {
		t.Errorf("draining after the undrain (-want +got):\n%s", d)
	}

	t.Run("unknown server is 404", func(t *testing.T) {
		for _, path := range []string{"/api/ai/v1/admin/servers/drain", "/api/ai/v1/admin/servers/undrain"} {
			resp, body := env.do(t, http.MethodPost, path, jsonHeader(), `{"url":"https://nowhere.example/v1"}`)
			if resp.StatusCode != http.StatusNotFound || string(body) != `{"error":"server not found"}`+"\n" {
				t.Errorf("%s: %d %s", path, resp.StatusCode, body)
			}
		}
	})
	t.Run("malformed bodies are 400", func(t *testing.T) {
		for _, body := range []string{
			``, `{}`, `{"url": ""}`, `{"url": "ftp://a.pods.example/v1"}`, `{"url": "a.pods.example"}`,
			`{"url": "` + a + `", "reason": "` + strings.Repeat("r", 257) + `"}`,
			`{"url": "` + a + `", "reason": "line\nbreak"}`, `{"url": "` + a + `", "why": "x"}`,
			`{"url": "` + a + `", "URL": "` + b + `"}`, `[]`,
		} {
			resp, got := env.do(t, http.MethodPost, "/api/ai/v1/admin/servers/drain", jsonHeader(), body)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%q: %d %s, want 400", body, resp.StatusCode, got)
			}
		}
		if d := draining(); len(d) != 0 {
			t.Errorf("a refused drain drained %v", d)
		}
	})
	t.Run("audited", func(t *testing.T) {
		resp, err := env.admin.ListAuditWithResponse(ctx, &adminclient.ListAuditParams{})
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body)
		}
		var got []string
		for _, e := range resp.JSON200.Entries {
			got = append(got, e.UserId+" "+e.Action+" "+e.Target+" "+e.Outcome)
		}
		want := []string{
			"usr_ops server.undrain https://nowhere.example/v1 failed: server not found",
			"usr_ops server.drain https://nowhere.example/v1 failed: server not found",
			"usr_bot server.undrain " + a + " undrained", "usr_bot server.undrain " + a + " undrained",
			"usr_ops server.drain " + a + " drained", "usr_ops server.drain " + a + " drained",
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("audit trail (-want +got):\n%s", d)
		}
	})
}

// TestContractUserSessions checks a user's live pins: ordered by provider
// then model, expired ones left out, an unknown user empty.
func TestContractUserSessions(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 6, 25, 10, 0, 0, 0, time.UTC))
	env := newEnv(t, func(o *envOptions) { o.now = clock.Now })
	ctx := context.Background()
	pins := []struct{ provider, model, url string }{
		{"vllm", "qwen-b", "https://v2.example/v1"},
		{"vllm", "qwen-a", "https://v1.example/v1"},
		{"sglang", "qwen-a", "https://s1.example/v1"},
		{"speaches", "whisper", "https://w1.example/v1"},
	}
	for _, p := range pins {
		if err := env.store.PinSession(ctx, p.provider, "usr_abc123", p.model, p.url); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.store.PinSession(ctx, "vllm", "usr_other", "qwen-a", "https://v9.example/v1"); err != nil {
		t.Fatal(err)
	}
	get := func(user string) adminclient.UserSessions {
		t.Helper()
		resp, err := env.admin.GetUserSessionsWithResponse(ctx, user)
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body)
		}
		return *resp.JSON200
	}
	expiry := clock.Now().Add(30 * time.Minute)
	want := adminclient.UserSessions{UserId: "usr_abc123", Sessions: []adminclient.Session{
		{Provider: "sglang", ModelId: "qwen-a", Url: "https://s1.example/v1", ExpiresAt: expiry},
		{Provider: "speaches", ModelId: "whisper", Url: "https://w1.example/v1", ExpiresAt: expiry},
		{Provider: "vllm", ModelId: "qwen-a", Url: "https://v1.example/v1", ExpiresAt: expiry},
		{Provider: "vllm", ModelId: "qwen-b", Url: "https://v2.example/v1", ExpiresAt: expiry},
	}}
	if d := cmp.Diff(want, get("usr_abc123")); d != "" {
		t.Errorf("sessions (-want +got):\n%s", d)
	}
	if got := get("usr_nobody"); got.UserId != "usr_nobody" || got.Sessions == nil || len(got.Sessions) != 0 {
		t.Errorf("unknown user: %+v, want an empty list", got)
	}
	// One pin renewed later outlives the others.
	clock.Advance(20 * time.Minute)
	if err := env.store.PinSession(ctx, "vllm", "usr_abc123", "qwen-b", "https://v2.example/v1"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(15 * time.Minute)
	want.Sessions = []adminclient.Session{{Provider: "vllm", ModelId: "qwen-b", Url: "https://v2.example/v1", ExpiresAt: expiry.Add(20 * time.Minute)}}
	if d := cmp.Diff(want, get("usr_abc123")); d != "" {
		t.Errorf("sessions after expiry (-want +got):\n%s", d)
	}
	for _, bad := range []string{"%20%20", "a%2Fb", "a%00b", strings.Repeat("u", 257)} {
		resp, body := env.do(t, http.MethodGet, "/api/ai/v1/admin/affinity/users/"+bad, authHeader(), "")
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("user %q: %d %s, want 400", bad, resp.StatusCode, body)
		}
	}
}

// TestContractAuditPaging pages through 1,000 entries with before and next:
// each is seen once, newest first, whatever the page size; malformed bounds
// and limits are 400.
func TestContractAuditPaging(t *testing.T) {
	env := newEnv(t)
	ctx := context.Background()
	const n = 1000
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		e := fleet.AuditEntry{Time: base.Add(time.Duration(i) * time.Second), UserID: "usr_ops", Action: "pod.restart",
			Target: fmt.Sprintf("pod%04d", i), Outcome: "initiated"}
		if err := env.store.AppendAudit(ctx, e, 100_000); err != nil {
			t.Fatal(err)
		}
	}
	for _, limit := range []int64{7, 50, 200} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			var targets []string
			before, pages := "", 0
			for {
				params := &adminclient.ListAuditParams{Limit: &limit}
				if before != "" {
					params.Before = &before
				}
				resp, err := env.admin.ListAuditWithResponse(ctx, params)
				if err != nil || resp.JSON200 == nil {
					t.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body)
				}
				pages++
				for _, e := range resp.JSON200.Entries {
					targets = append(targets, e.Target)
				}
				if int64(len(resp.JSON200.Entries)) > limit {
					t.Fatalf("page of %d entries, limit %d", len(resp.JSON200.Entries), limit)
				}
				if before = resp.JSON200.Next; before == "" {
					break
				}
			}
			if len(targets) != n {
				t.Fatalf("%d entries seen, want %d", len(targets), n)
			}
			for i, target := range targets {
				if want := fmt.Sprintf("pod%04d", n-1-i); target != want {
					t.Fatalf("entry %d is %s, want %s (newest first, each once)", i, target, want)
				}
			}
			if want := (n + int(limit) - 1) / int(limit); pages != want {
				t.Errorf("%d pages, want %d", pages, want)
			}
		})
	}
	for _, q := range []string{"before=abc", "before=1-2-3", "before=-1-0", "before=99999999999999999999-0",
		"limit=0", "limit=201", "limit=x", "limit=5&limit=6"} {
		resp, body := env.do(t, http.MethodGet, "/api/ai/v1/admin/audit?"+q, authHeader(), "")
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", q, resp.StatusCode, body)
		}
	}
}

// TestContractFleetSummary checks every figure of the summary against a
// fleet built for it: pods by status and cost, idle pods, servers per
// provider by health and drain, and the load; and that callers within the
// pod cache's TTL share one computation.
func TestContractFleetSummary(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 6, 25, 10, 0, 0, 0, time.UTC))
	standIn := standin.NewServer(runpodKey,
		standin.Pod{ID: "run1", Name: "aiapi-dev-vllm-a-1", DesiredStatus: "RUNNING", CostPerHr: 0.44, GPUCount: 1, MachineID: "m"},
		standin.Pod{ID: "run2", Name: "aiapi-dev-vllm-a-2", DesiredStatus: "RUNNING", CostPerHr: 1.10, GPUCount: 1, MachineID: "m"},
		standin.Pod{ID: "run3", Name: "aiapi-dev-sglang-b-1", DesiredStatus: "RUNNING", CostPerHr: 2.00, GPUCount: 2, MachineID: "m"},
		standin.Pod{ID: "exit1", Name: "aiapi-dev-vllm-a-3", DesiredStatus: "EXITED", CostPerHr: 0.44, GPUCount: 1, MachineID: "m"},
		standin.Pod{ID: "other1", Name: "someone-else-1", DesiredStatus: "RUNNING", CostPerHr: 9.99, GPUCount: 1, MachineID: "m"},
	)
	rp, err := runpod.New(runpod.Options{URL: standIn.Start(t), APIKey: runpodKey, Timeout: 10 * time.Second, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	late := &lateServerList{}
	var summarizer *summary.Summarizer
	env := newEnv(t, func(o *envOptions) {
		o.now = clock.Now
		o.handlers = func(h *httpapi.Handlers, st *fleet.Store) {
			catalog := pods.New(rp, st, pods.Options{Prefix: fleetPrefix, CacheTTL: 5 * time.Second, Now: clock.Now})
			h.Pods = catalog
			h.Servers = late
			summarizer = summary.New(catalog, late, st, summary.Options{TTL: 5 * time.Second, Now: clock.Now})
			h.Summary = summarizer
		}
	})
	tables := pool.NewTables(poolClient(t, env.valkey.Addr()), env.store, pool.TablesOptions{ReloadInterval: time.Hour})
	late.list.Store(pool.NewServerList(tables, env.store))
	ctx := context.Background()
	up, down := true, false
	servers := []struct {
		provider, url string
		healthy       *bool
		drained       bool
	}{
		{"vllm", podBackendURL("run1"), &up, false},
		{"vllm", podBackendURL("run2"), &up, true},
		{"vllm", "https://v-extra.example/v1", &down, false},
		{"sglang", podBackendURL("run3"), nil, true},
	}
	for _, s := range servers {
		if err := env.store.RegisterServer(ctx, s.provider, s.url, []string{"m"}); err != nil {
			t.Fatal(err)
		}
		if s.healthy != nil {
			if err := env.store.RecordHealth(ctx, s.url, fleet.ServerHealth{Healthy: s.healthy, LastCheckMs: clock.Now().UnixMilli()}); err != nil {
				t.Fatal(err)
			}
		}
		if s.drained {
			if err := env.store.Drain(ctx, s.url, "test"); err != nil {
				t.Fatal(err)
			}
		}
	}
	// run1 served 20 minutes ago (idle), run2 a minute ago with 2 still in
	// flight (busy), run3 never (idle); the extra server has 1 in flight.
	start := func(url string, n int, finish bool) {
		for range n {
			l, err := env.store.StartRequest(ctx, url, "m")
			if err != nil {
				t.Fatal(err)
			}
			if finish {
				if err := env.store.FinishRequest(ctx, l); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	clock.Advance(-20 * time.Minute)
	start(podBackendURL("run1"), 3, true)
	clock.Advance(19 * time.Minute)
	start(podBackendURL("run2"), 2, false)
	start("https://v-extra.example/v1", 1, false)
	clock.Advance(time.Minute)

	get := func() adminclient.FleetSummary {
		t.Helper()
		resp, err := env.admin.GetFleetSummaryWithResponse(ctx)
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body)
		}
		return *resp.JSON200
	}
	want := adminclient.FleetSummary{
		Pods:      adminclient.PodCounts{Total: 4, ByStatus: map[string]int64{"RUNNING": 3, "EXITED": 1}},
		CostPerHr: 0.44 + 1.10 + 2.00,
		Idle:      adminclient.IdlePods{Pods: 2, CostPerHr: 0.44 + 2.00, IdleAfterMinutes: 15},
		Providers: []adminclient.ProviderServers{
			{Name: "vllm", Servers: 3, Healthy: 2, Unhealthy: 1, Draining: 1},
			{Name: "sglang", Servers: 1, Healthy: 0, Unhealthy: 1, Draining: 1},
			{Name: "speaches"},
		},
		Inflight:   3,
		Requests5m: 3,
	}
	// A pod shows the drain of its backend URL, in the list and alone.
	for id, want := range map[string]bool{"run1": false, "run2": true, "run3": true} {
		resp, err := env.admin.GetPodWithResponse(ctx, id)
		if err != nil || resp.JSON200 == nil || resp.JSON200.Draining != want {
			t.Errorf("pod %s: %v %s, want draining %v", id, err, resp.Body, want)
		}
	}
	if resp, err := env.admin.ListPodsWithResponse(ctx, nil); err != nil || resp.JSON200 == nil {
		t.Fatalf("list: %v", err)
	} else {
		for _, p := range resp.JSON200.Pods {
			if want := p.Id == "run2" || p.Id == "run3"; p.Draining != want {
				t.Errorf("listed pod %s draining %v, want %v", p.Id, p.Draining, want)
			}
		}
	}
	approx := cmp.Comparer(func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 })
	if d := cmp.Diff(want, get(), approx); d != "" {
		t.Errorf("summary (-want +got):\n%s", d)
	}

	// Within the TTL every caller gets the computed summary: a new request
	// is not seen, and RunPod is not asked again.
	lists := standIn.Calls(standin.OpMyself)
	start(podBackendURL("run1"), 1, false)
	clock.Advance(4 * time.Second)
	if got := get(); got.Inflight != 3 {
		t.Errorf("inflight within the TTL = %d, want the shared 3", got.Inflight)
	}
	clock.Advance(2 * time.Second)
	got := get()
	if got.Inflight != 4 || got.Idle.Pods != 1 {
		t.Errorf("after the TTL: inflight %d, idle pods %d; want 4 and 1", got.Inflight, got.Idle.Pods)
	}
	if n := standIn.Calls(standin.OpMyself) - lists; n != 1 {
		t.Errorf("%d RunPod lists for two summaries across one TTL, want 1", n)
	}
}
