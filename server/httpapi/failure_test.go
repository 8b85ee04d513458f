package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/threatwinds/aiadmin/clients/runpod"
	"github.com/threatwinds/aiadmin/gen/adminapi"
	"github.com/threatwinds/aiadmin/server/pods"
)

// renderError gives err the answer the one HTTPErrorHandler gives it.
func renderError(t *testing.T, err error) (int, map[string]any) {
	t.Helper()
	e := echo.New()
	rec := httptest.NewRecorder()
	c := e.NewContext(httptest.NewRequest(http.MethodPost, "/api/ai/v1/admin/pods/x/restart", nil), rec)
	errorHandler(zap.NewNop())(err, c)
	var body map[string]any
	if jerr := json.Unmarshal(rec.Body.Bytes(), &body); jerr != nil {
		t.Fatalf("error body %q: %v", rec.Body.String(), jerr)
	}
	return rec.Code, body
}

// TestEndedWaitsAreNever500 checks the answer of every way a context can end
// while a pod operation waits: a 503 saying what was awaited, never a 500;
// a context that ends during a RunPod call stays that call's 502.
func TestEndedWaitsAreNever500(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		status  int
		message string
	}{
		{"restart waits for this replica's lock",
			fmt.Errorf("waiting for another restart of pod p1 on this replica: %w: %w", pods.ErrRestartInProgress, context.DeadlineExceeded),
			http.StatusServiceUnavailable, "pod restart in progress"},
		{"restart waits for another replica's lease",
			fmt.Errorf("waiting for another replica's restart of pod p1: %w: %w", pods.ErrRestartInProgress, context.Canceled),
			http.StatusServiceUnavailable, "pod restart in progress"},
		{"restart ran out of time before asking for the lease",
			fmt.Errorf("taking the restart lease of pod p1: %w: %w", pods.ErrRequestTimedOut, context.DeadlineExceeded),
			http.StatusServiceUnavailable, "request timed out"},
		{"list waits for the fetch",
			fmt.Errorf("waiting for the pod list: %w: %w", pods.ErrRequestTimedOut, context.DeadlineExceeded),
			http.StatusServiceUnavailable, "request timed out"},
		{"bare deadline", context.DeadlineExceeded, http.StatusServiceUnavailable, "request timed out"},
		{"bare cancellation", fmt.Errorf("reading: %w", context.Canceled), http.StatusServiceUnavailable, "request timed out"},
		{"valkey read ran out of time", fmt.Errorf("%w: %w", pods.ErrFleetState, context.DeadlineExceeded),
			http.StatusServiceUnavailable, "valkey unavailable"},
		{"runpod call ran out of time", &pods.CallError{Call: pods.CallGet, Err: context.DeadlineExceeded},
			http.StatusBadGateway, "runpod API error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ae := failure(tc.err)
			if ae.Status != tc.status || ae.Message != tc.message {
				t.Errorf("failure = %d %q, want %d %q", ae.Status, ae.Message, tc.status, tc.message)
			}
			if !errors.Is(ae, tc.err) {
				t.Errorf("the answer lost its cause %v", tc.err)
			}
		})
	}
}

// TestRunPodDetailsSayWhatFailedWithoutInternals checks that a RunPod
// failure's detail names the kind of failure in the product's words and
// never the address, the client's wording or a Go error.
func TestRunPodDetailsSayWhatFailedWithoutInternals(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 18600}, Err: syscall.ECONNREFUSED}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"unreachable", fmt.Errorf("runpod: listing pods: sending request: dial tcp 127.0.0.1:18600: %w", refused), "RunPod could not be reached"},
		{"throttled", fmt.Errorf("runpod: listing pods: http 429 (after 3 attempts): %w", &runpod.StatusError{Code: 429}), "RunPod answered 429"},
		{"timeout", fmt.Errorf("runpod: reading pod: no answer: %w", context.DeadlineExceeded), "RunPod did not answer in time"},
		{"graphql refusal", fmt.Errorf("runpod: stopping pod: graphql error: pod is locked: %w", runpod.ErrRefused), "RunPod refused the request"},
		{"not resumable", fmt.Errorf("pod p1 reports 0 gpus: %w", pods.ErrNotResumable), "the pod reports nothing to resume it with"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := renderError(t, failure(&pods.CallError{Call: pods.CallList, Err: tc.err}))
			detail, _ := body["detail"].(string)
			if status != http.StatusBadGateway || body["error"] != "runpod API error" || !strings.HasPrefix(detail, tc.want) {
				t.Errorf("answer %d %v, want 502 runpod API error with detail %q", status, body, tc.want)
			}
			for _, leak := range []string{"127.0.0.1", "18600", "dial", "runpod:", "graphql", "locked"} {
				if strings.Contains(detail, leak) {
					t.Errorf("detail %q leaks %q", detail, leak)
				}
			}
		})
	}
}

// refusingPods is a PodService whose restarts fail with err.
type refusingPods struct {
	PodService
	err error
}

func (r refusingPods) Restart(context.Context, string) error { return r.err }

// TestRestartRefusalsAreAnsweredAndAudited checks the answer and the audit
// outcome of restarts that never reach RunPod's stop.
func TestRestartRefusalsAreAnsweredAndAudited(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		body    map[string]any
		outcome string
	}{
		{"another replica holds the lease",
			fmt.Errorf("waiting for another replica's restart of pod busy1: %w: %w", pods.ErrRestartInProgress, context.DeadlineExceeded),
			map[string]any{"error": "pod restart in progress"}, "gave up: another restart of the pod was in progress"},
		{"the store is down",
			fmt.Errorf("%w: taking the restart lease of pod busy1: %w", pods.ErrFleetState, syscall.ECONNREFUSED),
			map[string]any{"error": "valkey unavailable", "detail": "the store could not be reached"}, "failed: valkey unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.InfoLevel)
			h := &Handlers{Pods: refusingPods{err: tc.err}, Log: zap.New(core)}
			resp, err := h.RestartPod(t.Context(), adminapi.RestartPodRequestObject{Id: "busy1"})
			if resp != nil || !errors.Is(err, tc.err) {
				t.Fatalf("RestartPod = %v, %v; want %v", resp, err, tc.err)
			}
			status, body := renderError(t, err)
			if d := cmp.Diff(tc.body, body); d != "" || status != http.StatusServiceUnavailable {
				t.Errorf("answer %d, body (-want +got):\n%s", status, d)
			}
			var outcomes []string
			for _, e := range logs.FilterMessage("audit").All() {
				if e.ContextMap()["action"] == auditPodRestart {
					outcomes = append(outcomes, e.ContextMap()["outcome"].(string))
				}
			}
			if d := cmp.Diff([]string{tc.outcome}, outcomes); d != "" {
				t.Errorf("audit outcomes (-want +got):\n%s", d)
			}
		})
	}
}
