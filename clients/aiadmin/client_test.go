package aiadmin_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/threatwinds/aiadmin/clients/aiadmin"
)

// countingTransport counts the requests it sends over the default transport.
type countingTransport struct{ n atomic.Int64 }

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func newClient(t *testing.T, baseURL string, opts ...aiadmin.Option) *aiadmin.Client {
	t.Helper()
	c, err := aiadmin.New(baseURL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPodsIteratorSeesEachOfAThousandPodsOnce(t *testing.T) {
	ct := &countingTransport{}
	c := newClient(t, big.URL, aiadmin.WithToken(big.Creds.AdminToken), aiadmin.WithHTTPClient(&http.Client{Transport: ct}))
	seen := map[string]int{}
	for pod, err := range c.Pods(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		seen[pod.Id]++
		if !strings.HasPrefix(pod.Name, "big-") {
			t.Errorf("pod %s is named %q, outside the fleet", pod.Id, pod.Name)
		}
	}
	if len(seen) != bigFleet {
		t.Errorf("the walk saw %d distinct pods, want %d", len(seen), bigFleet)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("pod %s seen %d times", id, n)
		}
	}
	if want := int64(bigFleet / aiadmin.PageSize); ct.n.Load() != want {
		t.Errorf("the walk sent %d requests, want %d pages", ct.n.Load(), want)
	}
}

func TestBreakingOutOfAnIteratorFetchesNoMorePages(t *testing.T) {
	ct := &countingTransport{}
	c := newClient(t, big.URL, aiadmin.WithToken(big.Creds.AdminToken), aiadmin.WithHTTPClient(&http.Client{Transport: ct}))
	n := 0
	for _, err := range c.Pods(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == aiadmin.PageSize+50 {
			break
		}
	}
	if ct.n.Load() != 2 {
		t.Errorf("breaking in the second page sent %d requests, want 2", ct.n.Load())
	}
}

func TestAFailedPageYieldsItsErrorOnceAndEndsTheWalk(t *testing.T) {
	c := newClient(t, demo.URL, aiadmin.WithToken(demo.Creds.ViewerToken))
	n := 0
	for _, err := range c.Servers(t.Context()) {
		n++
		if !aiadmin.IsForbidden(err) {
			t.Errorf("a token without ai_admin gave %v, want a 403", err)
		}
	}
	if n != 1 {
		t.Errorf("the walk yielded %d times, want once", n)
	}
}

func TestRefusalsAreAPIErrorsWithStatusMessageDetailAndID(t *testing.T) {
	admin := newClient(t, demo.URL, aiadmin.WithToken(demo.Creds.AdminToken))
	wrong := newClient(t, demo.URL, aiadmin.WithToken("tok_wrong"))
	viewer := newClient(t, demo.URL, aiadmin.WithToken(demo.Creds.ViewerToken))
	tests := []struct {
		name      string
		call      func(context.Context) error
		status    int
		message   string
		detail    bool
		predicate func(error) bool
	}{
		{"unknown pod", func(ctx context.Context) error { _, err := admin.GetPod(ctx, "nosuchpod1"); return err },
			404, "pod not found", false, aiadmin.IsNotFound},
		{"malformed pod id", func(ctx context.Context) error { _, err := admin.GetPod(ctx, "bad-id!"); return err },
			422, "invalid pod id", false, func(error) bool { return true }},
		{"limit out of range", func(ctx context.Context) error { _, err := admin.ListPods(ctx, 1, 101); return err },
			400, "invalid query parameter limit", true, func(error) bool { return true }},
		{"wrong token", func(ctx context.Context) error { _, err := wrong.GetAffinityMetrics(ctx); return err },
			401, "", false, aiadmin.IsUnauthorized},
		{"no ai_admin role", func(ctx context.Context) error { _, err := viewer.RefreshRegistry(ctx); return err },
			403, "insufficient permissions", true, aiadmin.IsForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := fmt.Errorf("wrapped: %w", tt.call(t.Context()))
			var ae *aiadmin.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("got %v, want an *APIError", err)
			}
			if ae.Status != tt.status || (tt.message != "" && ae.Message != tt.message) {
				t.Errorf("got %d %q, want %d %q", ae.Status, ae.Message, tt.status, tt.message)
			}
			if tt.detail && ae.Detail == "" {
				t.Errorf("no detail in %v", ae)
			}
			if ae.ErrorID == "" || !strings.Contains(ae.Error(), ae.ErrorID) || !strings.Contains(ae.Error(), fmt.Sprint(tt.status)) {
				t.Errorf("Error() %q lacks the status or the error id %q", ae.Error(), ae.ErrorID)
			}
			if !tt.predicate(err) {
				t.Errorf("the predicate is false for %v", err)
			}
			if tt.status != 404 && aiadmin.IsNotFound(err) {
				t.Errorf("IsNotFound is true for a %d", tt.status)
			}
		})
	}
}

func TestKeyPairAuthenticates(t *testing.T) {
	c := newClient(t, demo.URL, aiadmin.WithKeyPair(demo.Creds.APIKey, demo.Creds.APISecret))
	if _, err := c.ListServers(t.Context(), 1, 1); err != nil {
		t.Fatal(err)
	}
	bad := newClient(t, demo.URL, aiadmin.WithKeyPair(demo.Creds.APIKey, "sec_wrong"))
	if _, err := bad.ListServers(t.Context(), 1, 1); !aiadmin.IsUnauthorized(err) {
		t.Errorf("a wrong secret gave %v, want a 401", err)
	}
}

func TestNewRefusesWhatCannotWork(t *testing.T) {
	tests := []struct {
		name string
		url  string
		opts []aiadmin.Option
		want string
	}{
		{"empty URL", "", nil, "http:// or https://"},
		{"other scheme", "ftp://example.com", nil, "http:// or https://"},
		{"no host", "http://", nil, "no host"},
		{"credentials in the URL", "https://user:pw@example.com", nil, "user info"},
		{"API prefix included", "https://example.com/api/ai/v1/admin", nil, "host only"},
		{"query", "https://example.com?x=1", nil, "query"},
		{"token and key pair", "https://example.com", []aiadmin.Option{aiadmin.WithToken("t"), aiadmin.WithKeyPair("k", "s")}, "one credential"},
		{"empty token", "https://example.com", []aiadmin.Option{aiadmin.WithToken("")}, "empty"},
		{"half a key pair", "https://example.com", []aiadmin.Option{aiadmin.WithKeyPair("k", "")}, "both"},
		{"zero timeout", "https://example.com", []aiadmin.Option{aiadmin.WithTimeout(0)}, "positive"},
		{"no attempts", "https://example.com", []aiadmin.Option{aiadmin.WithRetries(0, 1)}, "at least one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := aiadmin.New(tt.url, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error saying %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "pw") {
				t.Errorf("the error %q repeats the URL's password", err)
			}
		})
	}
}
