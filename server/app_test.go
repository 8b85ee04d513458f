package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/threatwinds/aiadmin/clients/runpod/standin"
	"github.com/threatwinds/aiadmin/server"
	"github.com/threatwinds/aiadmin/server/contracttest"
)

// TestAppServesAndShutsDown runs a whole replica on the embedded store with a
// credentials file, checks the unauthenticated endpoints and the metrics, and
// stops it by cancelling its context.
func TestAppServesAndShutsDown(t *testing.T) {
	creds := contracttest.WriteCredentialsFile(t, "usr_ops", adminToken)
	cfg, err := server.ParseConfig([]string{"--listen", "127.0.0.1:0", "--auth-file", creds, "--demo=false"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	log := zap.New(zapcoreFor(logs))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	app, err := server.NewApp(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	base := "http://" + app.Addr()

	get := func(path string, header http.Header) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header = header
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz", nil); code != 200 || !strings.Contains(body, "ok") {
		t.Errorf("/healthz: %d %s", code, body)
	}
	if code, body := get("/readyz", nil); code != 200 || !strings.Contains(body, "ready") {
		t.Errorf("/readyz: %d %s", code, body)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Head(base + path)
		if err != nil {
			t.Fatalf("HEAD %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("HEAD %s: %d, want 200", path, resp.StatusCode)
		}
	}
	if code, body := get("/api/ai/v1/admin/affinity", http.Header{"Authorization": {"Bearer " + adminToken}}); code != 200 {
		t.Errorf("affinity: %d %s", code, body)
	}
	code, metrics := get("/metrics", nil)
	if code != 200 || !strings.Contains(metrics, `aiadmin_http_requests_total{method="GET",route="/api/ai/v1/admin/affinity",status="200"} 1`) ||
		!strings.Contains(metrics, "aiadmin_http_request_duration_seconds_bucket") {
		t.Errorf("/metrics lacks the request count or latency histogram:\n%.2000s", metrics)
	}
	if !strings.Contains(logs.String(), "EMBEDDED IN-MEMORY") {
		t.Error("the embedded store must be announced in the log")
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("the listener still accepts after shutdown")
	}
	if strings.Contains(logs.String(), adminToken) {
		t.Error("the token reached the log")
	}
}

// TestAppShutdownLetsInFlightRequestsFinish cancels a replica while a pod
// list waits on a slow RunPod: the request still gets its full answer, and
// only then does Run return.
func TestAppShutdownLetsInFlightRequestsFinish(t *testing.T) {
	creds := contracttest.WriteCredentialsFile(t, "usr_ops", adminToken)
	const key = "rk-shutdown-test"
	standIn := standin.NewServer(key, standin.DemoPods(3, "aiapi-dev-")...)
	standIn.FaultNext(standin.OpMyself, 1, standin.Fault{Delay: 1500 * time.Millisecond})
	rpURL := standIn.Start(t)
	cfg, err := server.ParseConfig([]string{"--listen", "127.0.0.1:0", "--auth-file", creds, "--demo=false",
		"--runpod-url", rpURL, "--pod-prefix", "aiapi-dev-", "--shutdown-timeout", "10s"},
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
	defer cancel()
	app, err := server.NewApp(ctx, cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()

	type result struct {
		code int
		body string
		err  error
	}
	answer := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, "http://"+app.Addr()+"/api/ai/v1/admin/pods", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answer <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answer <- result{code: resp.StatusCode, body: string(b)}
	}()
	// Shut down once the request is inside the handler, waiting on RunPod.
	deadline := time.Now().Add(10 * time.Second)
	for standIn.Calls(standin.OpMyself) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if standIn.Calls(standin.OpMyself) == 0 {
		t.Fatal("the pod list never reached RunPod")
	}
	cancel()
	r := <-answer
	if r.err != nil || r.code != http.StatusOK || !strings.Contains(r.body, `"total":3`) {
		t.Fatalf("the in-flight request was not allowed to finish: %v %d %s", r.err, r.code, r.body)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after shutdown")
	}
}
