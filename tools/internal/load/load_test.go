package load

import (
	"context"
	"net/http"
	"net/http/httptest"
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
