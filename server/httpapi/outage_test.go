package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestValkeyOutage stops the Valkey server while requests run: every answer
// is a 200 or the documented error in the error format, none hangs, and the
// first request after Valkey returns succeeds without a restart.
func TestValkeyOutage(t *testing.T) {
	env := newEnv(t)
	ctx := context.Background()
	if err := env.store.RegisterServer(ctx, "vllm", "https://pod-1.proxy.runpod.net/v1", []string{"m"}); err != nil {
		t.Fatal(err)
	}
	type op struct {
		method, path, body string
		// downStatus and downError are the documented answer while Valkey is down.
		downStatus int
		downError  string
	}
	ops := []op{
		{"GET", "/api/ai/v1/admin/affinity", "", 503, "valkey unavailable"},
		{"POST", "/api/ai/v1/admin/affinity/clear", `{"user_id": "usr_abc123"}`, 503, "valkey unavailable"},
		{"GET", "/api/ai/v1/admin/registry/m?limit=5", "", 503, "valkey error"},
		{"GET", "/api/ai/v1/admin/demand/https%3A%2F%2Fpod-1.proxy.runpod.net%2Fv1", "", 503, "valkey unavailable"},
		{"POST", "/api/ai/v1/admin/registry/refresh", "", 500, "registry refresh failed"},
	}
	call := func(o op) (int, string, time.Duration) {
		start := time.Now()
		resp, body := env.do(t, o.method, o.path, jsonHeader(), o.body)
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		return resp.StatusCode, e.Error, time.Since(start)
	}
	for _, o := range ops {
		if code, _, _ := call(o); code != http.StatusOK {
			t.Fatalf("%s %s before the outage: %d", o.method, o.path, code)
		}
	}

	// Requests run while the server goes away.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	type answer struct {
		op   op
		code int
		err  string
	}
	answers := make(chan answer, 1000)
	for _, o := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				select {
				case <-stop:
					return
				default:
				}
				code, msg, _ := call(o)
				answers <- answer{o, code, msg}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	env.valkey.Stop()
	for _, o := range ops {
		code, msg, took := call(o)
		if code != o.downStatus || msg != o.downError {
			t.Errorf("%s %s while down: %d %q, want %d %q", o.method, o.path, code, msg, o.downStatus, o.downError)
		}
		// The http client's own timeout (30 s) would fail a hang; this bound
		// is the store's timeouts with a wide margin.
		if took > 15*time.Second {
			t.Errorf("%s %s took %v while down", o.method, o.path, took)
		}
	}
	close(stop)
	wg.Wait()
	close(answers)
	n := 0
	for a := range answers {
		n++
		if a.code != http.StatusOK && (a.code != a.op.downStatus || a.err != a.op.downError) {
			t.Errorf("%s %s during the outage: %d %q", a.op.method, a.op.path, a.code, a.err)
		}
	}
	if n == 0 {
		t.Fatal("no request ran during the outage")
	}

	env.valkey.Start()
	for _, o := range ops {
		if code, msg, _ := call(o); code != http.StatusOK {
			t.Errorf("%s %s after Valkey returned: %d %q", o.method, o.path, code, msg)
		}
	}
}
