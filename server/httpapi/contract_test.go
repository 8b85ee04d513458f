package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/gen/adminclient"
)

func ptr[T any](v T) *T { return &v }

// TestContractFleetStateOperations drives the four fleet-state operations
// through the generated client, with data written by the router-side writers,
// on a standalone server and on a 3-master cluster.
func TestContractFleetStateOperations(t *testing.T) {
	for _, cluster := range []bool{false, true} {
		name := "standalone"
		if cluster {
			name = "cluster"
		}
		t.Run(name, func(t *testing.T) {
			now := time.Now()
			env := newEnv(t, func(o *envOptions) {
				o.now = func() time.Time { return now }
				o.cluster = cluster
			})
			fleetStateContract(t, env, now)
		})
	}
}

func fleetStateContract(t *testing.T, env *testEnv, now time.Time) {
	ctx := context.Background()
	const model = "threatwinds-qwen3-6-27b"
	pod1 := "https://pod-1.proxy.runpod.net/v1"
	for i, u := range []string{pod1, "https://pod-2.proxy.runpod.net/v1", "https://pod-3.proxy.runpod.net/v1"} {
		models := []string{model}
		if i == 0 {
			models = append(models, "threatwinds-qwen3-6-35b-a3b")
		}
		if err := env.store.RegisterServer(ctx, "vllm", u, models); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.store.PinSession(ctx, "vllm", "usr_abc123", model, pod1); err != nil {
		t.Fatal(err)
	}
	if err := env.store.PinSession(ctx, "vllm", "usr_abc123", "threatwinds-qwen3-6-35b-a3b", pod1); err != nil {
		t.Fatal(err)
	}
	for _, o := range []struct {
		provider string
		outcome  fleet.Outcome
	}{{"vllm", fleet.OutcomeHit}, {"vllm", fleet.OutcomeMiss}, {"sglang", fleet.OutcomeFallback}} {
		if err := env.store.RecordOutcome(ctx, o.provider, o.outcome); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []string{model, model, "threatwinds-qwen3-6-35b-a3b"} {
		if _, err := env.store.StartRequest(ctx, pod1, m); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("affinity metrics", func(t *testing.T) {
		for name, c := range map[string]*adminclient.ClientWithResponses{"bearer": env.admin, "key pair": env.bot} {
			resp, err := c.GetAffinityMetricsWithResponse(ctx)
			if err != nil || resp.JSON200 == nil {
				t.Fatalf("%s: %v %d %s", name, err, resp.StatusCode(), resp.Body)
			}
			want := []adminclient.ProviderAffinity{
				{Name: "vllm", SessionHitCount: 1, SessionMissCount: 1, FallbackCount: 0, TtlMinutes: 30},
				{Name: "sglang", FallbackCount: 1, TtlMinutes: 30},
				{Name: "speaches", TtlMinutes: 30},
			}
			if d := cmp.Diff(want, resp.JSON200.Providers); d != "" {
				t.Errorf("%s: providers (-want +got):\n%s", name, d)
			}
		}
	})

	t.Run("registry pages", func(t *testing.T) {
		resp, err := env.admin.GetRegistryWithResponse(ctx, model, &adminclient.GetRegistryParams{Page: ptr(int64(1)), Limit: ptr(int64(2))})
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body)
		}
		want := adminclient.Registry{ModelId: model, Urls: []string{pod1, "https://pod-2.proxy.runpod.net/v1"}, Page: 1, Limit: 2, Total: 3}
		if d := cmp.Diff(want, *resp.JSON200); d != "" {
			t.Errorf("page 1 (-want +got):\n%s", d)
		}
		resp, err = env.admin.GetRegistryWithResponse(ctx, model, &adminclient.GetRegistryParams{Page: ptr(int64(2)), Limit: ptr(int64(2))})
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("%v %d", err, resp.StatusCode())
		}
		if d := cmp.Diff([]string{"https://pod-3.proxy.runpod.net/v1"}, resp.JSON200.Urls); d != "" {
			t.Errorf("page 2 (-want +got):\n%s", d)
		}
	})

	t.Run("registry defaults and empty model", func(t *testing.T) {
		resp, body := env.do(t, http.MethodGet, "/api/ai/v1/admin/registry/unknown-model", authHeader(), "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if got, want := string(body), `{"limit":10,"model_id":"unknown-model","page":1,"total":0,"urls":[]}`; got != want+"\n" && got != want {
			t.Errorf("body = %s, want %s", got, want)
		}
	})

	t.Run("registry of a model named refresh", func(t *testing.T) {
		resp, err := env.admin.GetRegistryWithResponse(ctx, "refresh", nil)
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body)
		}
		if resp.JSON200.ModelId != "refresh" || resp.JSON200.Total != 0 {
			t.Errorf("got %+v", resp.JSON200)
		}
	})

	t.Run("demand with an encoded url", func(t *testing.T) {
		resp, err := env.admin.GetPodDemandWithResponse(ctx, pod1)
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body)
		}
		want := adminclient.PodDemand{
			Url: pod1, Inflight: 3, LastUseMs: now.UnixMilli(), IdleSeconds: 0,
			Models: []adminclient.ModelDemand{
				{ModelId: model, Inflight: 2, Rate5m: 2},
				{ModelId: "threatwinds-qwen3-6-35b-a3b", Inflight: 1, Rate5m: 1},
			},
		}
		if d := cmp.Diff(want, *resp.JSON200); d != "" {
			t.Errorf("demand (-want +got):\n%s", d)
		}
		// The documented curl form: every reserved character escaped.
		raw, body := env.do(t, http.MethodGet, "/api/ai/v1/admin/demand/"+url.QueryEscape(pod1), authHeader(), "")
		if raw.StatusCode != http.StatusOK || !strings.Contains(string(body), `"url":"`+pod1+`"`) || !strings.Contains(string(body), `"inflight":3`) {
			t.Errorf("escaped form: %d %s", raw.StatusCode, body)
		}
	})

	t.Run("demand of an unknown url", func(t *testing.T) {
		resp, err := env.admin.GetPodDemandWithResponse(ctx, "https://nowhere.proxy.runpod.net/v1")
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("%v %d", err, resp.StatusCode())
		}
		want := adminclient.PodDemand{Url: "https://nowhere.proxy.runpod.net/v1", Models: []adminclient.ModelDemand{}}
		if d := cmp.Diff(want, *resp.JSON200); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
		if !strings.Contains(string(resp.Body), `"models":[]`) {
			t.Errorf("models must be [], got %s", resp.Body)
		}
	})

	t.Run("clear affinity for one model, then all", func(t *testing.T) {
		resp, err := env.admin.ClearAffinityWithResponse(ctx, adminclient.ClearAffinityJSONRequestBody{UserId: "usr_abc123", ModelId: ptr(model)})
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body)
		}
		if d := cmp.Diff(adminclient.ClearAffinityResult{UserId: "usr_abc123", ModelId: ptr(model), Cleared: 1}, *resp.JSON200); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
		resp, err = env.admin.ClearAffinityWithResponse(ctx, adminclient.ClearAffinityJSONRequestBody{UserId: "usr_abc123"})
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("%v %d", err, resp.StatusCode())
		}
		if d := cmp.Diff(adminclient.ClearAffinityResult{UserId: "usr_abc123", Cleared: 1}, *resp.JSON200); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
		if strings.Contains(string(resp.Body), "model_id") {
			t.Errorf("model_id must be absent when the clear was not scoped: %s", resp.Body)
		}
		// model_id: null is the documented way to clear everything.
		raw, body := env.do(t, http.MethodPost, "/api/ai/v1/admin/affinity/clear", jsonHeader(), `{"user_id": "usr_abc123", "model_id": null}`)
		if raw.StatusCode != http.StatusOK || !strings.Contains(string(body), `"cleared":0`) {
			t.Errorf("null model_id: %d %s", raw.StatusCode, body)
		}
	})

	t.Run("refresh registry", func(t *testing.T) {
		resp, err := env.bot.RefreshRegistryWithResponse(ctx)
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body)
		}
		if resp.JSON200.Status != adminclient.Triggered {
			t.Errorf("status = %q", resp.JSON200.Status)
		}
	})

	t.Run("forbidden without the role, unauthorized without credentials", func(t *testing.T) {
		resp, err := env.roleless.GetAffinityMetricsWithResponse(ctx)
		if err != nil || resp.JSON403 == nil {
			t.Fatalf("%v %d", err, resp.StatusCode())
		}
		resp, err = env.anon.GetAffinityMetricsWithResponse(ctx)
		if err != nil || resp.JSON401 == nil {
			t.Fatalf("%v %d", err, resp.StatusCode())
		}
	})
}

func authHeader() http.Header {
	return http.Header{"Authorization": {"Bearer " + adminToken}}
}

func jsonHeader() http.Header {
	h := authHeader()
	h.Set("Content-Type", "application/json")
	return h
}

func with(h http.Header, kv ...string) http.Header {
	h = h.Clone()
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// TestContractMalformedRequests sends requests that break the contract; each
// must answer its 4xx in the error format, with both headers, and never 5xx.
func TestContractMalformedRequests(t *testing.T) {
	env := newEnv(t)
	const (
		pods     = "/api/ai/v1/admin/pods"
		servers  = "/api/ai/v1/admin/servers"
		registry = "/api/ai/v1/admin/registry/threatwinds-qwen3-6-27b"
		clear    = "/api/ai/v1/admin/affinity/clear"
		affinity = "/api/ai/v1/admin/affinity"
		demand   = "/api/ai/v1/admin/demand/"
	)
	cases := []struct {
		name, method, path string
		header             http.Header
		body               string
		want               int
		wantError          string
	}{
		{"page zero", "GET", registry + "?page=0", authHeader(), "", 400, "invalid query parameter page"},
		{"page negative", "GET", registry + "?page=-3", authHeader(), "", 400, "invalid query parameter page"},
		{"page not a number", "GET", registry + "?page=abc", authHeader(), "", 400, "invalid query parameter page"},
		{"page float", "GET", registry + "?page=1.5", authHeader(), "", 400, "invalid query parameter page"},
		{"page overflow", "GET", registry + "?page=99999999999999999999999", authHeader(), "", 400, "invalid query parameter page"},
		{"page empty", "GET", registry + "?page=", authHeader(), "", 400, "invalid query parameter page"},
		{"limit zero", "GET", registry + "?limit=0", authHeader(), "", 400, "invalid query parameter limit"},
		{"limit over max", "GET", registry + "?limit=101", authHeader(), "", 400, "invalid query parameter limit"},
		{"limit huge", "GET", registry + "?limit=1000000", authHeader(), "", 400, "invalid query parameter limit"},
		{"limit text", "GET", registry + "?limit=ten", authHeader(), "", 400, "invalid query parameter limit"},
		{"servers limit over max", "GET", servers + "?limit=500", authHeader(), "", 400, "invalid query parameter limit"},
		{"pods page zero", "GET", pods + "?page=0", authHeader(), "", 400, "invalid query parameter page"},
		{"pods limit text", "GET", pods + "?limit=%00", authHeader(), "", 400, "invalid query parameter limit"},
		{"clear without body", "POST", clear, jsonHeader(), "", 400, "invalid request body"},
		{"clear with invalid json", "POST", clear, jsonHeader(), `{"user_id": `, 400, "invalid request body"},
		{"clear with an array", "POST", clear, jsonHeader(), `["usr_abc123"]`, 400, "invalid request body"},
		{"clear without user_id", "POST", clear, jsonHeader(), `{"model_id": "m"}`, 400, "invalid request body"},
		{"clear with numeric user_id", "POST", clear, jsonHeader(), `{"user_id": 42}`, 400, "invalid request body"},
		{"clear with empty user_id", "POST", clear, jsonHeader(), `{"user_id": ""}`, 400, "invalid request body"},
		{"clear with a control character in user_id", "POST", clear, jsonHeader(), `{"user_id": "u\r\nX-Injected: 1"}`, 400, "invalid request body"},
		{"clear with NUL in model_id", "POST", clear, jsonHeader(), `{"user_id": "u", "model_id": "m\u0000"}`, 400, "invalid request body"},
		{"restart with an empty pod id", "POST", "/api/ai/v1/admin/pods//restart", authHeader(), "", 422, "invalid pod id"},
		{"clear in UTF-16", "POST", clear, with(authHeader(), "Content-Type", "application/json; charset=utf-16"), `{"user_id": "u"}`, 400, "invalid request body"},
		{"clear with a null body", "POST", clear, jsonHeader(), `null`, 400, "invalid request body"},
		{"clear with numeric model_id", "POST", clear, jsonHeader(), `{"user_id": "u", "model_id": 7}`, 400, "invalid request body"},
		{"clear with text content type", "POST", clear, with(authHeader(), "Content-Type", "text/plain"), `{"user_id": "u"}`, 400, "invalid request body"},
		{"clear with no content type", "POST", clear, authHeader(), `{"user_id": "u"}`, 400, "invalid request body"},
		{"clear with a body over 1 MiB", "POST", clear, jsonHeader(), `{"user_id": "` + strings.Repeat("a", 2<<20) + `"}`, 413, "request body too large"},
		{"demand of a relative path", "GET", demand + "pod-1", authHeader(), "", 400, "invalid path parameter podUrl"},
		{"demand of a double-encoded url", "GET", demand + "https%253A%252F%252Fpod-1.proxy.runpod.net%252Fv1", authHeader(), "", 400, "invalid path parameter podUrl"},
		{"demand of a ftp url", "GET", demand + url.PathEscape("ftp://pod-1/v1"), authHeader(), "", 400, "invalid path parameter podUrl"},
		{"no credentials", "GET", affinity, nil, "", 401, "missing credentials"},
		{"wrong bearer", "GET", affinity, http.Header{"Authorization": {"Bearer nope"}}, "", 401, "invalid credentials"},
		{"basic instead of bearer", "GET", affinity, http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}, "", 401, "malformed authorization header"},
		{"bearer without token", "GET", affinity, http.Header{"Authorization": {"Bearer "}}, "", 401, "malformed authorization header"},
		{"two authorization headers", "GET", affinity, http.Header{"Authorization": {"Bearer " + adminToken, "Bearer x"}}, "", 401, "duplicate credential headers"},
		{"api key without secret", "GET", affinity, http.Header{"Api-Key": {botKey}}, "", 401, "incomplete key pair"},
		{"api secret without key", "GET", affinity, http.Header{"Api-Secret": {botSecret}}, "", 401, "incomplete key pair"},
		{"wrong api secret", "GET", affinity, http.Header{"Api-Key": {botKey}, "Api-Secret": {"wrong"}}, "", 401, "invalid credentials"},
		{"bearer and key pair together", "GET", affinity, http.Header{"Authorization": {"Bearer " + adminToken}, "Api-Key": {botKey}, "Api-Secret": {botSecret}}, "", 401, "ambiguous credentials"},
		{"valid token without the role", "GET", affinity, http.Header{"Authorization": {"Bearer " + rolelessToken}}, "", 403, "insufficient permissions"},
		{"role-less caller with bad query still 403", "GET", registry + "?page=abc", http.Header{"Authorization": {"Bearer " + rolelessToken}}, "", 403, "insufficient permissions"},
		{"unknown route", "GET", "/api/ai/v1/admin/nothing-here", authHeader(), "", 404, "route not found"},
		{"wrong method", "DELETE", pods, authHeader(), "", 405, "method not allowed"},
		{"refresh with GET is a model lookup, POST to a model is 405", "POST", registry, authHeader(), "", 405, "method not allowed"},
	}
	if len(cases) < 30 {
		t.Fatalf("only %d malformed cases", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := env.do(t, tc.method, tc.path, tc.header, tc.body)
			if resp.StatusCode != tc.want {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tc.want, body)
			}
			var e struct {
				Error  string `json:"error"`
				Detail string `json:"detail"`
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body is not JSON: %q", body)
			}
			if e.Error != tc.wantError {
				t.Errorf("error = %q, want %q", e.Error, tc.wantError)
			}
			if resp.Header.Get("x-error") != e.Error || resp.Header.Get("x-error-id") == "" {
				t.Errorf("headers: x-error %q x-error-id %q", resp.Header.Get("x-error"), resp.Header.Get("x-error-id"))
			}
			if strings.Contains(string(body), "99999999999999999999999") || strings.Contains(string(body), "abc") && tc.name == "page not a number" {
				t.Errorf("the answer echoes the input: %s", body)
			}
		})
	}
	// Every x-error-id is unique and appears in the log line of its request.
	seen := map[string]bool{}
	for _, tc := range cases[:3] {
		resp, _ := env.do(t, tc.method, tc.path, tc.header, tc.body)
		id := resp.Header.Get("x-error-id")
		if seen[id] {
			t.Errorf("x-error-id %s repeated", id)
		}
		seen[id] = true
		if !strings.Contains(env.logs.String(), `"error_id":"`+id+`"`) {
			t.Errorf("x-error-id %s is not in the log", id)
		}
	}
}
