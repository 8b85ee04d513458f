package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestDemandAcceptsTheRawURLForm checks what the spec promises of {podUrl}:
// the URL encoded once and the raw URL with literal slashes reach the same
// pod, while an encoding applied twice, or a URL that is not absolute http,
// is refused with 400.
func TestDemandAcceptsTheRawURLForm(t *testing.T) {
	env := newEnv(t)
	const pod = "https://pod-1.proxy.runpod.net/v1"
	lease, err := env.store.StartRequest(t.Context(), pod, "m")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = env.store.FinishRequest(t.Context(), lease) }()
	tests := []struct {
		name, path string
		status     int
	}{
		{"encoded once", "/api/ai/v1/admin/demand/https%3A%2F%2Fpod-1.proxy.runpod.net%2Fv1", http.StatusOK},
		{"raw", "/api/ai/v1/admin/demand/" + pod, http.StatusOK},
		{"raw with encoded colon", "/api/ai/v1/admin/demand/https%3A//pod-1.proxy.runpod.net/v1", http.StatusOK},
		{"encoded twice", "/api/ai/v1/admin/demand/https%253A%252F%252Fpod-1.proxy.runpod.net%252Fv1", http.StatusBadRequest},
		{"not absolute", "/api/ai/v1/admin/demand/pod-1.proxy.runpod.net%2Fv1", http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := env.do(t, http.MethodGet, tc.path, jsonHeader(), "")
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, tc.status)
			}
			if tc.status != http.StatusOK {
				return
			}
			var d struct {
				URL      string `json:"url"`
				Inflight int64  `json:"inflight"`
			}
			if err := json.Unmarshal(body, &d); err != nil || d.URL != pod || d.Inflight != 1 {
				t.Errorf("demand %s (%v), want %s with 1 in flight", body, err, pod)
			}
		})
	}
}
