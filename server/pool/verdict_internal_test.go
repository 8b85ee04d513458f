package pool

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/clients/fleet"
)

func TestNextHealth(t *testing.T) {
	yes, no := true, false
	const now = int64(1_700_000_000_000)
	tests := []struct {
		name string
		prev fleet.ServerHealth
		ok   bool
		want fleet.ServerHealth
	}{
		{"unknown, success: healthy at once",
			fleet.ServerHealth{}, true,
			fleet.ServerHealth{Healthy: &yes, ConsecutiveSuccesses: 1, LastCheckMs: now}},
		{"unknown, failure: unhealthy at once",
			fleet.ServerHealth{}, false,
			fleet.ServerHealth{Healthy: &no, ConsecutiveFailures: 1, LastCheckMs: now, LastFailureMs: now}},
		{"healthy, second failure: still healthy",
			fleet.ServerHealth{Healthy: &yes, ConsecutiveFailures: 1, LastCheckMs: 5, LastFailureMs: 5}, false,
			fleet.ServerHealth{Healthy: &yes, ConsecutiveFailures: 2, LastCheckMs: now, LastFailureMs: now}},
		{"healthy, third failure: unhealthy",
			fleet.ServerHealth{Healthy: &yes, ConsecutiveFailures: 2, LastCheckMs: 5, LastFailureMs: 5}, false,
			fleet.ServerHealth{Healthy: &no, ConsecutiveFailures: 3, LastCheckMs: now, LastFailureMs: now}},
		{"healthy, success: failures restart, last failure kept",
			fleet.ServerHealth{Healthy: &yes, ConsecutiveFailures: 2, LastCheckMs: 5, LastFailureMs: 5}, true,
			fleet.ServerHealth{Healthy: &yes, ConsecutiveSuccesses: 1, LastCheckMs: now, LastFailureMs: 5}},
		{"unhealthy, first success: still unhealthy",
			fleet.ServerHealth{Healthy: &no, ConsecutiveFailures: 7, LastCheckMs: 5, LastFailureMs: 5}, true,
			fleet.ServerHealth{Healthy: &no, ConsecutiveSuccesses: 1, LastCheckMs: now, LastFailureMs: 5}},
		{"unhealthy, second success: healthy",
			fleet.ServerHealth{Healthy: &no, ConsecutiveSuccesses: 1, LastCheckMs: 5, LastFailureMs: 4}, true,
			fleet.ServerHealth{Healthy: &yes, ConsecutiveSuccesses: 2, LastCheckMs: now, LastFailureMs: 4}},
		{"unhealthy, failure after a success: successes restart",
			fleet.ServerHealth{Healthy: &no, ConsecutiveSuccesses: 1, LastCheckMs: 5, LastFailureMs: 4}, false,
			fleet.ServerHealth{Healthy: &no, ConsecutiveFailures: 1, LastCheckMs: now, LastFailureMs: now}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := nextHealth(tt.prev, tt.ok, now, 3, 2)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("nextHealth (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJitterStaysWithinSpread(t *testing.T) {
	const spread = 5 * time.Second
	var lo, hi time.Duration = spread, 0
	for i := range 2000 {
		u := "https://pod-" + string(rune('a'+i%26)) + time.Duration(i).String() + ".proxy.runpod.net/v1"
		d := jitter(u, spread)
		if d < 0 || d >= spread {
			t.Fatalf("jitter(%q) = %s, outside [0, %s)", u, d, spread)
		}
		if d != jitter(u, spread) {
			t.Fatalf("jitter(%q) is not stable", u)
		}
		lo, hi = min(lo, d), max(hi, d)
	}
	// Spread out, not bunched: 2,000 URLs cover most of the window.
	if hi-lo < spread*9/10 {
		t.Errorf("2000 URLs span only %s..%s of %s", lo, hi, spread)
	}
	if jitter("x", 0) != 0 {
		t.Error("no spread must mean no offset")
	}
}

func TestProbeURL(t *testing.T) {
	tests := []struct {
		server, path, want string
		ok                 bool
	}{
		{"https://pod-1.proxy.runpod.net/v1", "/models", "https://pod-1.proxy.runpod.net/v1/models", true},
		{"https://pod-1.proxy.runpod.net/v1/", "/health", "https://pod-1.proxy.runpod.net/v1/health", true},
		{"http://127.0.0.1:8000", "/models", "http://127.0.0.1:8000/models", true},
		{"http://127.0.0.1:8000/v1#frag", "/models", "http://127.0.0.1:8000/v1/models", true},
		{"ftp://host/v1", "/models", "", false},
		{"/relative/v1", "/models", "", false},
		{"http:///nohost", "/models", "", false},
		{"::not a url", "/models", "", false},
	}
	for _, tt := range tests {
		got, ok := probeURL(tt.server, tt.path)
		if got != tt.want || ok != tt.ok {
			t.Errorf("probeURL(%q, %q) = %q, %v; want %q, %v", tt.server, tt.path, got, ok, tt.want, tt.ok)
		}
	}
}
