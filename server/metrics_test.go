package server_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/threatwinds/aiadmin/clients/auth"
	"github.com/threatwinds/aiadmin/clients/authapi/authapitest"
	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
	"github.com/threatwinds/aiadmin/clients/runpod/standin"
	"github.com/threatwinds/aiadmin/server"
	"github.com/threatwinds/aiadmin/server/contracttest"
)

// TestMetricsOfEveryDependency runs a whole replica against a real Valkey,
// the Auth API and RunPod stand-ins and a real inference server, makes real
// calls through it, and reads each dependency's series move on /metrics.
func TestMetricsOfEveryDependency(t *testing.T) {
	valkeySrv := valkeytest.StartServer(t)
	store := fleet.New(valkeyClient(t, valkeySrv.Addr()), fleet.Options{})
	inference := contracttest.InferenceServer(t, "m")
	if err := store.RegisterServer(t.Context(), fleet.ProviderVLLM, inference, []string{"m"}); err != nil {
		t.Fatal(err)
	}
	authAPI := authapitest.NewServer()
	t.Cleanup(authAPI.Close)
	authAPI.AddSession(adminToken, authapitest.Session{UserID: "usr_ops", Verified: true,
		ExpireAt: time.Now().Add(time.Hour), Roles: []string{auth.AdminRole}})
	const key = "rk-metrics-test"
	runPod := standin.NewServer(key, standin.DemoPods(3, "aiapi-dev-")...)
	rpURL := runPod.Start(t)

	cfg, err := server.ParseConfig([]string{"--listen", "127.0.0.1:0", "--valkey", valkeySrv.Addr(),
		"--auth-mode", "threatwinds", "--auth-url", authAPI.URL(),
		"--runpod-url", rpURL, "--pod-prefix", "aiapi-dev-",
		"--probe-interval", "1s", "--probe-timeout", "500ms", "--auth-failure-limit", "2"},
		func(k string) string {
			if k == "RUNPOD_API_KEY" {
				return key
			}
			return ""
		})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	app, err := server.NewApp(ctx, cfg, zap.NewNop())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	base := "http://" + app.Addr()
	call := func(path, token string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	for i, want := range []int{200, 200} {
		if got := call("/api/ai/v1/admin/pods", adminToken); got != want {
			t.Fatalf("pods %d: %d, want %d", i+1, got, want)
		}
	}
	if got := call("/api/ai/v1/admin/pods/nosuchpod", adminToken); got != http.StatusNotFound {
		t.Fatalf("an unknown pod: %d", got)
	}
	for i, want := range []int{401, 401, 429} {
		if got := call("/api/ai/v1/admin/pods", "tok-wrong-"+strconv.Itoa(i)); got != want {
			t.Fatalf("wrong token %d: %d, want %d", i+1, got, want)
		}
	}
	m := scrapeUntil(t, base, `aiadmin_servers{provider="vllm",state="healthy"}`, "1")
	for series, want := range map[string]string{
		`aiadmin_runpod_calls_total{operation="list_pods",outcome="ok"}`:      "1",
		`aiadmin_runpod_calls_total{operation="get_pod",outcome="not_found"}`: "1",
		`aiadmin_runpod_call_duration_seconds_count{operation="list_pods"}`:   "1",
		`aiadmin_authapi_calls_total{endpoint="session",outcome="valid"}`:     "1",
		`aiadmin_authapi_calls_total{endpoint="session",outcome="invalid"}`:   "2",
		`aiadmin_authapi_call_duration_seconds_count{endpoint="session"}`:     "3",
		`aiadmin_authapi_cache_lookups_total{result="miss"}`:                  "3",
		`aiadmin_authapi_cache_lookups_total{result="hit"}`:                   "2",
		`aiadmin_rate_limited_total{kind="auth_failure"}`:                     "1",
		`aiadmin_servers{provider="vllm",state="unhealthy"}`:                  "0",
		`aiadmin_servers{provider="vllm",state="draining"}`:                   "0",
	} {
		if got := m[series]; got != want {
			t.Errorf("%s = %q, want %q", series, got, want)
		}
	}
	if n, _ := strconv.Atoi(m[`aiadmin_probes_total{outcome="ok"}`]); n < 1 {
		t.Errorf("aiadmin_probes_total{outcome=\"ok\"} = %q, want at least 1", m[`aiadmin_probes_total{outcome="ok"}`])
	}
	if age, err := strconv.ParseFloat(m["aiadmin_pod_list_age_seconds"], 64); err != nil || age < 0 || age > 60 {
		t.Errorf("aiadmin_pod_list_age_seconds = %q, want the seconds since the list", m["aiadmin_pod_list_age_seconds"])
	}

	// HEAD /metrics answers as GET does, without the body.
	resp, err := http.Head(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("HEAD /metrics: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	// Valkey gone: the read fails, and so does each command it sent.
	valkeySrv.Stop()
	if got := call("/api/ai/v1/admin/affinity", adminToken); got != http.StatusServiceUnavailable {
		t.Fatalf("affinity with Valkey down: %d", got)
	}
	m = scrape(t, base)
	if n, _ := strconv.Atoi(m[`aiadmin_valkey_failures_total{command="HGETALL",kind="unreachable"}`]); n < 1 {
		t.Errorf("no unreachable HGETALL counted with Valkey down; valkey series: %v", filter(m, "aiadmin_valkey_failures_total"))
	}
}

// scrape reads base's /metrics into series -> value.
func scrape(t *testing.T, base string) map[string]string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for line := range strings.SplitSeq(string(body), "\n") {
		if i := strings.LastIndexByte(line, ' '); i > 0 && !strings.HasPrefix(line, "#") {
			out[line[:i]] = line[i+1:]
		}
	}
	return out
}

// scrapeUntil scrapes until series has value, for at most 20 s.
func scrapeUntil(t *testing.T, base, series, value string) map[string]string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		m := scrape(t, base)
		if m[series] == value {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %q after 20 s, want %q", series, m[series], value)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func filter(m map[string]string, prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}
