package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/valkey-io/valkey-go"

	"github.com/threatwinds/aiadmin/clients/fleet"
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
		{"GET", "/api/ai/v1/admin/registry/m?limit=5", "", 503, "valkey unavailable"},
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

// TestStoreRefusalIsValkeyError checks the other kind of store failure: the
// store answers, with an error (here WRONGTYPE: the model's registry key
// holds a string), and the answer is 503 "valkey error" saying the store
// refused, without the store's own text.
func TestStoreRefusalIsValkeyError(t *testing.T) {
	env := newEnv(t)
	c := testValkeyClient(t, env.valkey.Addr())
	if err := c.Do(t.Context(), c.B().Set().Key(fleet.RegistryModelKey("broken")).Value("not a sorted set").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	resp, body := env.do(t, http.MethodGet, "/api/ai/v1/admin/registry/broken", jsonHeader(), "")
	if resp.StatusCode != http.StatusServiceUnavailable ||
		string(body) != `{"detail":"the store refused the command","error":"valkey error"}`+"\n" {
		t.Errorf("answer %d %s, want 503 valkey error", resp.StatusCode, body)
	}
	if resp.Header.Get("x-error-id") == "" {
		t.Error("no x-error-id")
	}
}

// testValkeyClient connects a test's own client to the Valkey at addr.
func testValkeyClient(t *testing.T, addr string) valkey.Client {
	t.Helper()
	c, err := fleet.Connect(t.Context(), fleet.ConnectOptions{Addrs: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}
