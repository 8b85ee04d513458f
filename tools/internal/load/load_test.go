package load

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestStopLetsRequestsInFlightFinish runs workers against a slow loopback
// server and stops them while every one waits for an answer: each of those
// answers is recorded complete, and no request starts after Stop.
func TestStopLetsRequestsInFlightFinish(t *testing.T) {
	var inFlight, served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		time.Sleep(100 * time.Millisecond)
		served.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()

	const workers = 4
	l := Start(Options{Workers: workers, Next: func(w, n int) Request {
		return Request{Op: "GET /slow", Method: http.MethodGet, URL: srv.URL}
	}})
	deadline := time.Now().Add(10 * time.Second)
	for inFlight.Load() < workers+1 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d requests reached the server", inFlight.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	l.Stop()
	stopped := time.Now()
	rs := l.Recorder().Results()
	if int64(len(rs)) != served.Load() {
		t.Errorf("%d results recorded, %d served", len(rs), served.Load())
	}
	for _, r := range rs {
		if !r.OK() || r.Latency < 100*time.Millisecond {
			t.Errorf("result %s, want a complete 200 after at least 100ms", r)
		}
		if r.Start.After(stopped) {
			t.Errorf("a request started after Stop returned: %s", r)
		}
	}
	if got := l.NewConnections(); got != workers {
		t.Errorf("%d connections opened, want one per worker (%d)", got, workers)
	}
}

// TestDoReadsTheErrorFormat checks that an error answer's message, detail
// and failed_at are recorded, with x-error as the fallback, and that a
// connection refused is recorded as no answer.
func TestDoReadsTheErrorFormat(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/restart":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte(`{"status":"failed","pod_id":"p1","failed_at":"stop","error":"runpod API error","detail":"RunPod answered 500"}`))
		case "/plain":
			w.Header().Set("x-error", "valkey unavailable")
			w.Header().Set("x-data-age", "7")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not json"))
		}
	}))
	c := NewClient(1, 5*time.Second)
	ctx := context.Background()

	r := Do(ctx, c, Request{Op: "restart", Method: http.MethodPost, URL: srv.URL + "/restart"})
	if r.Status != 502 || r.Error != "runpod API error" || r.Detail != "RunPod answered 500" || r.FailedAt != "stop" {
		t.Errorf("restart recorded as %+v", r)
	}
	r = Do(ctx, c, Request{Op: "plain", Method: http.MethodGet, URL: srv.URL + "/plain"})
	if r.Key() != "503 valkey unavailable" || r.DataAge != "7" {
		t.Errorf("plain error recorded as %+v", r)
	}
	srv.Close()
	r = Do(ctx, c, Request{Op: "gone", Method: http.MethodGet, URL: srv.URL + "/plain"})
	if r.Key() != "no answer" || r.Err == "" || r.OK() {
		t.Errorf("a closed server recorded as %+v", r)
	}
}

// TestOwnConnectionsKeepsOnePerWorker checks that with OwnConnections every
// worker opens a connection of its own, even against a server that answers
// at once (where workers would otherwise share whichever is idle), and that
// Stop closes them.
func TestOwnConnectionsKeepsOnePerWorker(t *testing.T) {
	var mu sync.Mutex
	peers := map[string]bool{}
	var open atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		peers[r.RemoteAddr] = true
		mu.Unlock()
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	srv.Start()
	defer srv.Close()

	const workers = 6
	l := Start(Options{Workers: workers, OwnConnections: true, Next: func(w, n int) Request {
		return Request{Op: "GET /", Method: http.MethodGet, URL: srv.URL}
	}})
	deadline := time.Now().Add(10 * time.Second)
	for len(l.Recorder().Results()) < 50*workers && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	l.Stop()
	mu.Lock()
	distinct := len(peers)
	mu.Unlock()
	// A worker's transport may dial once more when its next request comes
	// before the last answer's connection is back in its pool.
	if distinct < workers || distinct > 2*workers || int64(distinct) != l.NewConnections() {
		t.Errorf("%d connections seen by the server, %d opened by the load; want one or two a worker (%d workers)", distinct, l.NewConnections(), workers)
	}
	for open.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := open.Load(); n != 0 {
		t.Errorf("%d connections still open after Stop", n)
	}
}

// TestFailurePauseSlowsWorkersFacingAGoneServer checks that a worker waits
// FailurePause after a request that got no answer instead of retrying at
// once.
func TestFailurePauseSlowsWorkersFacingAGoneServer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	l := Start(Options{Workers: 2, FailurePause: 100 * time.Millisecond, Next: func(w, n int) Request {
		return Request{Op: "GET /", Method: http.MethodGet, URL: url}
	}})
	time.Sleep(450 * time.Millisecond)
	l.Stop()
	rs := l.Recorder().Results()
	// Five tries each at most in 450 ms, one every 100 ms.
	if len(rs) == 0 || len(rs) > 10 {
		t.Errorf("%d requests in 450ms with a pause of 100ms after each failure, want 1 to 10", len(rs))
	}
	for _, r := range rs {
		if r.Key() != "no answer" {
			t.Errorf("a gone server answered: %s", r)
		}
	}
}
