package aiadmin_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/clients/aiadmin"
)

// scripted is a loopback HTTP server that answers the n-th request with the
// n-th answer of its script (the last one repeats) and records when each
// request arrived and with which headers.
type scripted struct {
	srv *httptest.Server

	mu       sync.Mutex
	arrivals []time.Time
	headers  []http.Header
}

// answer is one scripted response.
type answer struct {
	status      int
	retryAfter  string
	contentType string
	body        string
}

func newScripted(t *testing.T, script ...answer) *scripted {
	t.Helper()
	s := &scripted{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		n := len(s.arrivals)
		s.arrivals = append(s.arrivals, time.Now())
		s.headers = append(s.headers, r.Header.Clone())
		s.mu.Unlock()
		a := script[min(n, len(script)-1)]
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		ct := a.contentType
		if ct == "" {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct)
		if a.status >= 400 {
			w.Header().Set("x-error-id", "e1")
		}
		w.WriteHeader(a.status)
		_, _ = w.Write([]byte(a.body))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// seen returns copies of the arrival times and headers recorded so far.
func (s *scripted) seen() ([]time.Time, []http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.arrivals...), append([]http.Header(nil), s.headers...)
}

func (s *scripted) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.arrivals)
}

var (
	unavailable = answer{status: 503, body: `{"error":"valkey unavailable"}`}
	metrics     = answer{status: 200, body: `{"providers":[]}`}
)

func TestReadsRetryOn503AndHonourRetryAfter(t *testing.T) {
	s := newScripted(t,
		answer{status: 503, retryAfter: "1", body: `{"error":"valkey unavailable"}`},
		unavailable,
		metrics)
	c := newClient(t, s.srv.URL, aiadmin.WithRetries(4, 10*time.Millisecond))
	if _, err := c.GetAffinityMetrics(t.Context()); err != nil {
		t.Fatalf("a read that succeeds on the third try failed: %v", err)
	}
	if s.requests() != 3 {
		t.Fatalf("%d requests, want 3", s.requests())
	}
	// A lower bound: the SDK waited at least what Retry-After asked for.
	arrivals, _ := s.seen()
	if gap := arrivals[1].Sub(arrivals[0]); gap < time.Second {
		t.Errorf("the retry came %v after a Retry-After of 1 s", gap)
	}
}

func TestReadsStopAfterTheirAttempts(t *testing.T) {
	s := newScripted(t, unavailable)
	c := newClient(t, s.srv.URL, aiadmin.WithRetries(3, 10*time.Millisecond))
	_, err := c.ListPods(t.Context(), 1, 10)
	if !aiadmin.IsUnavailable(err) {
		t.Errorf("got %v, want the last 503", err)
	}
	if s.requests() != 3 {
		t.Errorf("%d requests, want 3 attempts", s.requests())
	}
}

func TestARetryAfterPastTheDeadlineOrTooLongIsNotAwaited(t *testing.T) {
	for _, tt := range []struct {
		name       string
		retryAfter string
		deadline   time.Duration
	}{
		{"past the context's deadline", "20", 5 * time.Second},
		{"longer than the SDK waits", "120", time.Hour},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newScripted(t, answer{status: 503, retryAfter: tt.retryAfter, body: `{"error":"valkey unavailable"}`})
			c := newClient(t, s.srv.URL, aiadmin.WithRetries(5, 10*time.Millisecond))
			ctx, cancel := context.WithTimeout(t.Context(), tt.deadline)
			defer cancel()
			_, err := c.ListServers(ctx, 1, 10)
			if !aiadmin.IsUnavailable(err) || ctx.Err() != nil {
				t.Errorf("got %v (context: %v), want the 503 at once", err, ctx.Err())
			}
			if s.requests() != 1 {
				t.Errorf("%d requests, want 1", s.requests())
			}
		})
	}
}

func TestTheContextEndsRetries(t *testing.T) {
	s := newScripted(t, unavailable)
	c := newClient(t, s.srv.URL, aiadmin.WithRetries(10, 400*time.Millisecond))
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := c.GetRegistry(ctx, "m", 1, 10)
	if !errors.Is(err, context.DeadlineExceeded) || !aiadmin.IsUnavailable(err) {
		t.Errorf("got %v, want the deadline and the 503 that was being retried", err)
	}
	if s.requests() != 1 {
		t.Errorf("%d requests, want 1 before the deadline", s.requests())
	}
}

func TestWritesAreNeverRetried(t *testing.T) {
	writes := map[string]func(*aiadmin.Client, context.Context) error{
		"RestartPod": func(c *aiadmin.Client, ctx context.Context) error {
			_, err := c.RestartPod(ctx, "abc")
			return err
		},
		"ClearAffinity": func(c *aiadmin.Client, ctx context.Context) error {
			_, err := c.ClearAffinity(ctx, "usr_x", "")
			return err
		},
		"RefreshRegistry": func(c *aiadmin.Client, ctx context.Context) error {
			_, err := c.RefreshRegistry(ctx)
			return err
		},
		"DrainServer": func(c *aiadmin.Client, ctx context.Context) error {
			_, err := c.DrainServer(ctx, "https://a.example/v1", "maintenance")
			return err
		},
		"UndrainServer": func(c *aiadmin.Client, ctx context.Context) error {
			_, err := c.UndrainServer(ctx, "https://a.example/v1")
			return err
		},
	}
	for name, call := range writes {
		t.Run(name, func(t *testing.T) {
			s := newScripted(t, unavailable, metrics)
			c := newClient(t, s.srv.URL, aiadmin.WithRetries(5, 10*time.Millisecond))
			if err := call(c, t.Context()); !aiadmin.IsUnavailable(err) {
				t.Errorf("got %v, want the 503", err)
			}
			if s.requests() != 1 {
				t.Errorf("%d requests, want 1", s.requests())
			}
		})
	}
}

func TestOtherFailuresAreNotRetried(t *testing.T) {
	for _, a := range []answer{
		{status: 500, body: `{"error":"internal error"}`},
		{status: 502, body: `{"error":"runpod API error"}`},
		{status: 200, body: `not json`},
	} {
		s := newScripted(t, a, metrics)
		c := newClient(t, s.srv.URL, aiadmin.WithRetries(5, 10*time.Millisecond))
		_, err := c.GetAffinityMetrics(t.Context())
		if err == nil || s.requests() != 1 {
			t.Errorf("a %d answer gave %v after %d requests, want an error after 1", a.status, err, s.requests())
		}
		if a.status == 200 && !errors.Is(err, aiadmin.ErrBadResponse) {
			t.Errorf("an undecodable 200 gave %v, want ErrBadResponse", err)
		}
	}
}

func TestConnectionErrorsAreRetried(t *testing.T) {
	// A real listener that accepts and hangs up: every attempt fails on the
	// connection, never with an answer.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var accepted atomic.Int64
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			conn.Close()
		}
	}()
	c := newClient(t, "http://"+ln.Addr().String(), aiadmin.WithRetries(3, 10*time.Millisecond))
	_, err = c.ListPods(t.Context(), 0, 0)
	var ae *aiadmin.APIError
	if err == nil || errors.As(err, &ae) {
		t.Fatalf("got %v, want a connection error", err)
	}
	if accepted.Load() != 3 {
		t.Errorf("%d connections, want 3 attempts", accepted.Load())
	}
}

func TestAnswersOutsideTheErrorFormatStillGiveAnAPIError(t *testing.T) {
	for _, tt := range []struct {
		name                 string
		a                    answer
		message, detail, phs string
	}{
		{"a proxy's page", answer{status: 502, contentType: "text/html", body: "<html>upstream down</html>\nsecond line"},
			"bad gateway", "<html>upstream down</html>", ""},
		{"control characters", answer{status: 400, body: "{\"error\":\"bad\\r\\nforged: line\",\"detail\":\"d\\u001b[31m\"}"},
			"badforged: line", "d[31m", ""},
		{"a failed restart", answer{status: 502, body: `{"status":"failed","pod_id":"p1","failed_at":"resume","error":"runpod API error","detail":"no GPUs"}`},
			"runpod API error", "no GPUs", "resume"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newScripted(t, tt.a)
			c := newClient(t, s.srv.URL)
			_, err := c.RestartPod(t.Context(), "p1")
			var ae *aiadmin.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("got %v, want an *APIError", err)
			}
			if ae.Status != tt.a.status || ae.Message != tt.message || ae.Detail != tt.detail || ae.FailedAt != tt.phs || ae.ErrorID != "e1" {
				t.Errorf("got %+v, want %d %q %q %q", ae, tt.a.status, tt.message, tt.detail, tt.phs)
			}
			if strings.ContainsAny(ae.Error(), "\r\n\x1b") {
				t.Errorf("Error() %q holds control characters", ae.Error())
			}
		})
	}
}

func TestEveryRequestCarriesTheUserAgentAndOneCredential(t *testing.T) {
	s := newScripted(t, metrics)
	tok := newClient(t, s.srv.URL, aiadmin.WithToken("tok_1"), aiadmin.WithUserAgent("aiadminctl/1.2"))
	pair := newClient(t, s.srv.URL, aiadmin.WithKeyPair("key_1", "sec_1"))
	if _, err := tok.GetAffinityMetrics(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := pair.GetAffinityMetrics(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, h := s.seen()
	if got, want := h[0].Get("User-Agent"), "aiadminctl/1.2 aiadmin-go/"+aiadmin.Version; got != want {
		t.Errorf("User-Agent %q, want %q", got, want)
	}
	if h[0].Get("Authorization") != "Bearer tok_1" || h[0].Get("api-key") != "" {
		t.Errorf("token request headers: %v", h[0])
	}
	if h[1].Get("api-key") != "key_1" || h[1].Get("api-secret") != "sec_1" || h[1].Get("Authorization") != "" {
		t.Errorf("key pair request headers: %v", h[1])
	}
	if h[1].Get("User-Agent") != "aiadmin-go/"+aiadmin.Version {
		t.Errorf("User-Agent %q", h[1].Get("User-Agent"))
	}
}
