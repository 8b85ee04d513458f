package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/threatwinds/aiadmin/clients/auth"
	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
	"github.com/threatwinds/aiadmin/clients/runpod/standin"
	"github.com/threatwinds/aiadmin/gen/adminclient"
	"github.com/threatwinds/aiadmin/server"
	"github.com/threatwinds/aiadmin/server/contracttest"
)

// The credentials every test replica accepts.
const (
	adminToken  = "tok-dashboard-admin-5d1f0c9e7a"
	adminKey    = "k_dashboard_ops"
	adminSecret = "sec-dashboard-9a7e31c4b2"
	// viewerToken is valid but lacks the ai_admin role.
	viewerToken = "tok-dashboard-viewer-31b0d8e2"
)

// hostile is markup an outsider could put in a pod name, a user id or a
// drain reason; the dashboard must show it as text and run none of it.
const hostile = `<img src=x onerror=alert(1)>`

// writeCredentials writes the credentials file of the test replicas.
func writeCredentials(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "credentials.yaml")
	content := fmt.Sprintf(`credentials:
  - user_id: usr_ops
    roles: [%[1]s]
    bearer_sha256: %[2]s
  - user_id: usr_ops_keys
    roles: [%[1]s]
    api_key: %[3]s
    api_secret_sha256: %[4]s
  - user_id: usr_viewer
    roles: [viewer]
    bearer_sha256: %[5]s
`, auth.AdminRole, auth.HashSecret(adminToken), adminKey, auth.HashSecret(adminSecret), auth.HashSecret(viewerToken))
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// lockedBuffer collects log output from concurrent writers.
type lockedBuffer = contracttest.LockedBuffer

// replica is a running aiadmin and a client of its API.
type replica struct {
	app    *server.App
	base   string
	client *adminclient.ClientWithResponses
}

// startReplica runs an aiadmin replica, as the binary would with args,
// until the test ends.
func startReplica(t *testing.T, args []string, env map[string]string) *replica {
	t.Helper()
	args = append([]string{"--listen", "127.0.0.1:0", "--auth-file", writeCredentials(t)}, args...)
	cfg, err := server.ParseConfig(args, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	// Errors reach the test's output; every line is kept to check that no
	// credential reached the log.
	logs := &lockedBuffer{}
	log := zap.New(zapcore.NewTee(
		zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel)).Core(),
		zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(logs), zap.DebugLevel),
	))
	ctx, cancel := context.WithCancel(context.Background())
	app, err := server.NewApp(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("replica stopped: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("the replica did not stop within 30 s")
		}
		for _, secret := range []string{adminToken, adminSecret, viewerToken} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("a credential reached the log")
			}
		}
	})
	base := "http://" + app.Addr()
	client, err := adminclient.NewClientWithResponses(base, adminclient.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+adminToken)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	return &replica{app: app, base: base, client: client}
}

// startDemo runs a replica as `make run` does: the embedded store and the
// living demo fleet.
func startDemo(t *testing.T) *replica {
	t.Helper()
	return startReplica(t, nil, nil)
}

// quietFleet is a replica on a real Valkey-compatible server whose fleet
// changes only when the test changes it: no traffic, and probes that find
// every server as it was. Every number the dashboard shows can then be
// compared exactly with what the API answers; only the probe counters and
// times move, once every probe interval.
type quietFleet struct {
	*replica
	valkey *valkeytest.Server
	runpod *standin.Server
	// pods are the RunPod stand-in's pods; hostilePod's name holds markup.
	pods       []standin.Pod
	hostilePod standin.Pod
	urlOf      func(podID string) string
	// drained is the URL drained at the start, with a hostile reason.
	drained string
}

// quietModels are the models of the quiet fleet's registered servers.
var quietModels = []string{"qwen3-6-27b", "qwen3-6-35b-a3b", "whisper-large-v3", "qwen3-embedding-8b", "qwen3-6-235b-a22b"}

// startQuietFleet starts the quiet fleet and writes its state through the
// router-side writers of package fleet.
func startQuietFleet(t *testing.T) *quietFleet {
	t.Helper()
	vk := valkeytest.StartServer(t)

	// Stand-in inference servers: every path ending in /models answers 200,
	// except below /down-*, which answers 503.
	inference := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/down-") || !strings.HasSuffix(r.URL.Path, "/models") {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"object":"list","data":[]}`))
	}))
	t.Cleanup(inference.Close)
	urlOf := func(name string) string { return inference.URL + "/" + name + "/v1" }

	const key = "rk-dashboard-quiet"
	pods := standin.DemoPods(6, "aiapi-dev-")
	hostilePod := standin.Pod{
		ID: "xss0hostile0pod", Name: "aiapi-dev-" + hostile + "-1", DesiredStatus: standin.StatusRunning,
		CostPerHr: 1.23, GPUCount: 1, PodType: standin.TypeReserved, GPUTypeID: "NVIDIA L4",
		GPUDisplayName: "L4", Location: "RO", DataCenterID: "EU-RO-1",
		LastStatusChange: "Rented by User", LastStartedAt: time.Now().UTC().Add(-time.Hour).Format(time.RFC3339),
	}
	pods = append(pods, hostilePod)
	rp := standin.NewServer(key, pods...)
	rpURL := rp.Start(t)

	r := startReplica(t, []string{
		"--valkey", vk.Addr(), "--runpod-url", rpURL, "--pod-prefix", "aiapi-dev-",
		"--pod-url-template", inference.URL + "/{id}/v1", "--probe-interval", "3s",
	}, map[string]string{"RUNPOD_API_KEY": key})
	q := &quietFleet{replica: r, valkey: vk, runpod: rp, pods: pods, hostilePod: hostilePod, urlOf: urlOf}
	q.seed(t)
	return q
}

// seed registers servers, starts requests, counts affinity outcomes, pins
// sessions and drains one server, then waits until every server was probed.
func (q *quietFleet) seed(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s := q.app.Store
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// DemoPods(6): vllm 27b, sglang 35b, speaches whisper, vllm embedding,
	// infinity reranker (EXITED, not registered), vllm 235b.
	pod := func(i int) string { return q.urlOf(q.pods[i].ID) }
	must(s.RegisterServer(ctx, "vllm", pod(0), []string{quietModels[0]}))
	must(s.RegisterServer(ctx, "sglang", pod(1), []string{quietModels[1]}))
	must(s.RegisterServer(ctx, "speaches", pod(2), []string{quietModels[2]}))
	must(s.RegisterServer(ctx, "vllm", pod(3), []string{quietModels[3]}))
	must(s.RegisterServer(ctx, "vllm", pod(5), []string{quietModels[4]}))
	must(s.RegisterServer(ctx, "vllm", q.urlOf(q.hostilePod.ID), []string{quietModels[0]}))
	must(s.RegisterServer(ctx, "sglang", q.urlOf("down-1"), []string{quietModels[1]}))
	// Enough servers of one model for the registry to have pages.
	for i := range 30 {
		must(s.RegisterServer(ctx, "vllm", q.urlOf(fmt.Sprintf("embed-%02d", i)), []string{quietModels[3]}))
	}

	for range 3 {
		_, err := s.StartRequest(ctx, pod(0), quietModels[0])
		must(err)
	}
	_, err := s.StartRequest(ctx, pod(1), quietModels[1])
	must(err)
	for range 2 {
		l, err := s.StartRequest(ctx, pod(3), quietModels[3])
		must(err)
		must(s.FinishRequest(ctx, l))
	}
	for _, o := range []struct {
		provider string
		outcome  fleet.Outcome
		n        int
	}{{"vllm", fleet.OutcomeHit, 7}, {"vllm", fleet.OutcomeMiss, 2}, {"vllm", fleet.OutcomeFallback, 1}, {"sglang", fleet.OutcomeHit, 3}, {"sglang", fleet.OutcomeMiss, 1}} {
		for range o.n {
			must(s.RecordOutcome(ctx, o.provider, o.outcome))
		}
	}
	must(s.PinSession(ctx, "vllm", "usr_alice", quietModels[0], pod(0)))
	must(s.PinSession(ctx, "sglang", "usr_alice", quietModels[1], pod(1)))
	must(s.PinSession(ctx, "vllm", hostile, quietModels[0], q.urlOf(q.hostilePod.ID)))
	q.drained = pod(5)
	must(s.Drain(ctx, q.drained, hostile+" kernel upgrade"))
	must(s.PublishRefresh(ctx))
	q.waitProbed(t)
}

// waitProbed waits until the replica lists every registered server with a
// first probe behind it.
func (q *quietFleet) waitProbed(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var state string
	for {
		limit := int64(100)
		resp, err := q.client.ListServersWithResponse(t.Context(), &adminclient.ListServersParams{Limit: &limit})
		if err == nil && resp.JSON200 != nil && resp.JSON200.Total == 37 {
			probed := 0
			for _, s := range resp.JSON200.Servers {
				if s.LastCheckMs != 0 {
					probed++
				}
			}
			if probed == 37 {
				return
			}
			state = fmt.Sprintf("%d of %d servers probed", probed, resp.JSON200.Total)
		} else if err == nil {
			state = fmt.Sprintf("status %d: %s", resp.StatusCode(), resp.Body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the quiet fleet's servers were not all probed within 30 s: %v %s", err, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
