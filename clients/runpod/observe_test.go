package runpod_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/clients/runpod"
	"github.com/threatwinds/aiadmin/clients/runpod/standin"
)

// callLog records what Options.Observe receives.
type callLog struct {
	mu    sync.Mutex
	calls []runpod.Call
}

func (l *callLog) observe(c runpod.Call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
}

// take returns the operation and outcome of each call since the last take,
// and checks that each has a duration.
func (l *callLog) take(t *testing.T) [][2]string {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out [][2]string
	for _, c := range l.calls {
		if c.Duration <= 0 {
			t.Errorf("%s %s: duration %s", c.Operation, c.Outcome, c.Duration)
		}
		out = append(out, [2]string{c.Operation, c.Outcome})
	}
	l.calls = nil
	return out
}

// TestObserveReportsEveryCall: each call against the stand-in is reported
// once, retries included in it, with the outcome its error names.
func TestObserveReportsEveryCall(t *testing.T) {
	var log callLog
	srv, c := setup(t, func(o *runpod.Options) { o.Observe = log.observe; o.Timeout = 300 * time.Millisecond })
	ctx := t.Context()
	cases := []struct {
		name string
		do   func()
		want [2]string
	}{
		{"a list", func() { _, _ = c.ListPods(ctx) }, [2]string{runpod.OpListPods, runpod.OutcomeOK}},
		{"a pod", func() { _, _ = c.GetPod(ctx, wantRunning.ID) }, [2]string{runpod.OpGetPod, runpod.OutcomeOK}},
		{"an unknown pod", func() { _, _ = c.GetPod(ctx, "nosuchpod00000") }, [2]string{runpod.OpGetPod, runpod.OutcomeNotFound}},
		{"a stop", func() { _ = c.StopPod(ctx, wantRunning.ID) }, [2]string{runpod.OpStopPod, runpod.OutcomeOK}},
		{"a resume", func() { _ = c.ResumePod(ctx, wantExited.ID, 1) }, [2]string{runpod.OpResumePod, runpod.OutcomeOK}},
		{"a refused stop", func() { _ = c.StopPod(ctx, "nosuchpod00000") }, [2]string{runpod.OpStopPod, runpod.OutcomeRefused}},
		{"a bid refused", func() { _ = c.BidResumePod(ctx, "nosuchpod00000", 1, 0.5) }, [2]string{runpod.OpBidResumePod, runpod.OutcomeRefused}},
		{"throttled after the retries", func() {
			srv.FailNext(standin.OpMyself, 3, http.StatusTooManyRequests)
			_, _ = c.ListPods(ctx)
		}, [2]string{runpod.OpListPods, runpod.OutcomeThrottled}},
		{"a 502", func() {
			srv.FailNext(standin.OpPodStop, 1, http.StatusBadGateway)
			_ = c.StopPod(ctx, wantRunning.ID)
		}, [2]string{runpod.OpStopPod, runpod.OutcomeServerError}},
		{"a malformed answer", func() {
			srv.FaultNext(standin.OpPod, 1, standin.Fault{Malformed: true})
			_, _ = c.GetPod(ctx, wantRunning.ID)
		}, [2]string{runpod.OpGetPod, runpod.OutcomeBadAnswer}},
		{"no answer in time", func() {
			srv.FaultNext(standin.OpMyself, 1, standin.Fault{Delay: 5 * time.Second})
			_, _ = c.ListPods(ctx)
		}, [2]string{runpod.OpListPods, runpod.OutcomeTimeout}},
		{"a caller that gave up", func() {
			gone, cancel := context.WithCancel(ctx)
			cancel()
			_, _ = c.ListPods(gone)
		}, [2]string{runpod.OpListPods, runpod.OutcomeCanceled}},
	}
	for _, tc := range cases {
		tc.do()
		if diff := cmp.Diff([][2]string{tc.want}, log.take(t)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}

	// Refused before anything is sent: no call.
	_ = c.ResumePod(ctx, wantExited.ID, 0)
	if got := log.take(t); len(got) != 0 {
		t.Errorf("a resume of 0 GPUs was reported: %v", got)
	}
}

func TestObserveWrongKeyAndUnreachable(t *testing.T) {
	var log callLog
	_, c := setup(t, func(o *runpod.Options) { o.Observe = log.observe; o.APIKey = "rpa_WRONG" })
	_, _ = c.ListPods(t.Context())

	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL + "/graphql"
	dead.Close()
	unreachable, err := runpod.New(runpod.Options{URL: url, APIKey: testKey, Observe: log.observe})
	if err != nil {
		t.Fatal(err)
	}
	_ = unreachable.StopPod(t.Context(), wantRunning.ID)
	want := [][2]string{{runpod.OpListPods, runpod.OutcomeHTTPError}, {runpod.OpStopPod, runpod.OutcomeUnreachable}}
	if diff := cmp.Diff(want, log.take(t)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
