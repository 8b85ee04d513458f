package runpod_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/clients/runpod"
	"github.com/threatwinds/aiadmin/clients/runpod/standin"
)

// testKey looks like a RunPod key so that a leak would be easy to spot.
const testKey = "rpa_T3STK3Y0NLYF0RTH3ST4ND1N0000000000000"

// Pods as the stand-in holds them, times in raw RunPod renderings.
var (
	rawRunning = standin.Pod{
		ID:               "inzk6tzuz833h5",
		Name:             "aiapi-dev-vllm-qwen3-6-27b-fp8-1",
		DesiredStatus:    "RUNNING",
		CostPerHr:        2.69,
		GPUCount:         1,
		PodType:          "RESERVED",
		LastStatusChange: "Rented by User: Tue Jun 25 2024 10:00:00 GMT+0200 (Central European Summer Time)",
		LastStartedAt:    "2024-06-25 08:00:05.123 +0000 UTC",
		UptimeSeconds:    3600,
		MachineID:        "x9d2kq7m4p1z",
		GPUDisplayName:   "H100 SXM",
		GPUTypeID:        "NVIDIA H100 80GB HBM3",
		Location:         "RO",
		DataCenterID:     "EU-RO-1",
	}
	rawExited = standin.Pod{
		ID:               "q8w7e6r5t4y3u2",
		Name:             "aiapi-dev-speaches-whisper-large-v3-1",
		DesiredStatus:    "EXITED",
		CostPerHr:        0.86,
		GPUCount:         1,
		LastStatusChange: "Exited by User",
		LastStartedAt:    "1719302400000",
		MachineID:        "a1b2c3d4e5f6",
		GPUDisplayName:   "L40S",
		GPUTypeID:        "NVIDIA L40S",
		Location:         "US",
		DataCenterID:     "US-TX-3",
	}
	rawPacific = standin.Pod{
		ID:               "7h3n9c2v5b8m1k",
		Name:             "aiapi-dev-vllm-qwen3-6-235b-a22b-fp8-1",
		DesiredStatus:    "RUNNING",
		CostPerHr:        14.36,
		GPUCount:         4,
		PodType:          "RESERVED",
		LastStatusChange: "Rented by User: Mon Jun 24 2024 23:30:00 GMT-0700 (Pacific Daylight Time)",
		LastStartedAt:    "not a time",
		UptimeSeconds:    120,
		MachineID:        "z8y7x6w5v4u3",
		GPUDisplayName:   "H200",
		GPUTypeID:        "NVIDIA H200",
		Location:         "CA",
		DataCenterID:     "CA-MTL-1",
	}
)

// The same pods as the client returns them.
var (
	wantRunning = runpod.Pod{
		ID:               "inzk6tzuz833h5",
		Name:             "aiapi-dev-vllm-qwen3-6-27b-fp8-1",
		DesiredStatus:    "RUNNING",
		CostPerHr:        2.69,
		GPUCount:         1,
		PodType:          "RESERVED",
		LastStatusChange: "2024-06-25T08:00:00Z",
		LastStartedAt:    "2024-06-25T08:00:05Z",
		UptimeSeconds:    3600,
		MachineID:        "x9d2kq7m4p1z",
		GPUDisplayName:   "H100 SXM",
		GPUTypeID:        "NVIDIA H100 80GB HBM3",
		Location:         "RO",
		DataCenterID:     "EU-RO-1",
	}
	wantExited = runpod.Pod{
		ID:             "q8w7e6r5t4y3u2",
		Name:           "aiapi-dev-speaches-whisper-large-v3-1",
		DesiredStatus:  "EXITED",
		CostPerHr:      0.86,
		GPUCount:       1,
		LastStartedAt:  "2024-06-25T08:00:00Z",
		MachineID:      "a1b2c3d4e5f6",
		GPUDisplayName: "L40S",
		GPUTypeID:      "NVIDIA L40S",
		Location:       "US",
		DataCenterID:   "US-TX-3",
	}
	wantPacific = runpod.Pod{
		ID:               "7h3n9c2v5b8m1k",
		Name:             "aiapi-dev-vllm-qwen3-6-235b-a22b-fp8-1",
		DesiredStatus:    "RUNNING",
		CostPerHr:        14.36,
		GPUCount:         4,
		PodType:          "RESERVED",
		LastStatusChange: "2024-06-25T06:30:00Z",
		UptimeSeconds:    120,
		MachineID:        "z8y7x6w5v4u3",
		GPUDisplayName:   "H200",
		GPUTypeID:        "NVIDIA H200",
		Location:         "CA",
		DataCenterID:     "CA-MTL-1",
	}
)

// setup starts a stand-in holding the three pods above and a client for it
// with quick backoff; adjust may change the client's options.
func setup(t *testing.T, adjust func(*runpod.Options)) (*standin.Server, *runpod.Client) {
	t.Helper()
	srv := standin.NewServer(testKey, rawRunning, rawExited, rawPacific)
	opts := runpod.Options{URL: srv.Start(t), APIKey: testKey, Timeout: 5 * time.Second, Backoff: time.Millisecond}
	if adjust != nil {
		adjust(&opts)
	}
	c, err := runpod.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return srv, c
}

func assertCalls(t *testing.T, srv *standin.Server, op string, want int) {
	t.Helper()
	if got := srv.Calls(op); got != want {
		t.Errorf("Calls(%q) = %d, want %d", op, got, want)
	}
}

func assertUpstream(t *testing.T, err error, wantIn string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", wantIn)
	}
	if !errors.Is(err, runpod.ErrUpstream) {
		t.Errorf("error %q does not match ErrUpstream", err)
	}
	if !strings.Contains(err.Error(), wantIn) {
		t.Errorf("error %q does not contain %q", err, wantIn)
	}
}

func TestListPods(t *testing.T) {
	srv, c := setup(t, nil)
	got, err := c.ListPods(t.Context())
	if err != nil {
		t.Fatalf("ListPods: %v", err)
	}
	if diff := cmp.Diff([]runpod.Pod{wantRunning, wantExited, wantPacific}, got); diff != "" {
		t.Errorf("ListPods (-want +got):\n%s", diff)
	}
	assertCalls(t, srv, standin.OpMyself, 1)
}

func TestListPodsEmptyAccount(t *testing.T) {
	srv := standin.NewServer(testKey)
	c, err := runpod.New(runpod.Options{URL: srv.Start(t), APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.ListPods(t.Context())
	if err != nil {
		t.Fatalf("ListPods: %v", err)
	}
	if got == nil || len(got) != 0 {
		t.Errorf("ListPods = %#v, want an empty non-nil list", got)
	}
}

func TestGetPod(t *testing.T) {
	srv, c := setup(t, nil)
	for _, want := range []runpod.Pod{wantRunning, wantExited, wantPacific} {
		got, err := c.GetPod(t.Context(), want.ID)
		if err != nil {
			t.Fatalf("GetPod(%s): %v", want.ID, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GetPod(%s) (-want +got):\n%s", want.ID, diff)
		}
	}
	assertCalls(t, srv, standin.OpPod, 3)
}

func TestGetPodUnknown(t *testing.T) {
	srv, c := setup(t, nil)
	_, err := c.GetPod(t.Context(), "nosuchpod00000")
	if !errors.Is(err, runpod.ErrPodNotFound) {
		t.Fatalf("GetPod(unknown) = %v, want ErrPodNotFound", err)
	}
	if errors.Is(err, runpod.ErrUpstream) {
		t.Errorf("an unknown pod is not an upstream failure: %v", err)
	}
	if want := "runpod: getting pod nosuchpod00000: pod not found"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	assertCalls(t, srv, standin.OpPod, 1)
}

func TestStopAndResumePod(t *testing.T) {
	srv, c := setup(t, nil)
	stoppedAt := time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC)
	srv.SetClock(func() time.Time { return stoppedAt })

	if err := c.StopPod(t.Context(), wantRunning.ID); err != nil {
		t.Fatalf("StopPod: %v", err)
	}
	if p, _ := srv.Pod(wantRunning.ID); p.DesiredStatus != "EXITED" {
		t.Errorf("after StopPod the stand-in holds %s, want EXITED", p.DesiredStatus)
	}
	got, err := c.GetPod(t.Context(), wantRunning.ID)
	if err != nil {
		t.Fatalf("GetPod: %v", err)
	}
	if diff := cmp.Diff([2]string{"EXITED", "2024-07-01T12:00:00Z"}, [2]string{got.DesiredStatus, got.LastStatusChange}); diff != "" {
		t.Errorf("stopped pod status and change time (-want +got):\n%s", diff)
	}

	resumedAt := stoppedAt.Add(90 * time.Minute)
	srv.SetClock(func() time.Time { return resumedAt })
	if err := c.ResumePod(t.Context(), wantRunning.ID, got.GPUCount); err != nil {
		t.Fatalf("ResumePod: %v", err)
	}
	got, err = c.GetPod(t.Context(), wantRunning.ID)
	if err != nil {
		t.Fatalf("GetPod: %v", err)
	}
	want := [3]string{"RUNNING", "2024-07-01T13:30:00Z", "2024-07-01T13:30:00Z"}
	if diff := cmp.Diff(want, [3]string{got.DesiredStatus, got.LastStatusChange, got.LastStartedAt}); diff != "" {
		t.Errorf("resumed pod status, change and start times (-want +got):\n%s", diff)
	}
	assertCalls(t, srv, standin.OpPodStop, 1)
	assertCalls(t, srv, standin.OpPodResume, 1)
}

func TestMutationsOfUnknownPod(t *testing.T) {
	srv, c := setup(t, nil)
	assertUpstream(t, c.StopPod(t.Context(), "nosuchpod00000"),
		"runpod: stopping pod nosuchpod00000: graphql error: pod not found")
	assertUpstream(t, c.ResumePod(t.Context(), "nosuchpod00000", 1),
		"runpod: resuming pod nosuchpod00000: graphql error: pod not found")
	assertCalls(t, srv, standin.OpPodStop, 1)
	assertCalls(t, srv, standin.OpPodResume, 1)
}

func TestResumePodRefusesNoGPUs(t *testing.T) {
	srv, c := setup(t, nil)
	err := c.ResumePod(t.Context(), wantExited.ID, 0)
	if err == nil || errors.Is(err, runpod.ErrUpstream) {
		t.Errorf("ResumePod with 0 GPUs = %v, want a local error", err)
	}
	if n := srv.Requests(); n != 0 {
		t.Errorf("%d requests reached RunPod, want 0", n)
	}
}

func TestGraphQLErrorIsAnError(t *testing.T) {
	srv, c := setup(t, nil)
	srv.FaultNext(standin.OpMyself, 1, standin.Fault{GraphQLError: "Something went wrong. Please try again later"})
	_, err := c.ListPods(t.Context())
	assertUpstream(t, err, "runpod: listing pods: graphql error: Something went wrong. Please try again later")
	assertCalls(t, srv, standin.OpMyself, 1) // a GraphQL error is an answer: not retried

	srv.FaultNext(standin.OpPod, 1, standin.Fault{GraphQLError: "internal"})
	_, err = c.GetPod(t.Context(), wantRunning.ID)
	assertUpstream(t, err, "runpod: getting pod inzk6tzuz833h5: graphql error: internal")
	if errors.Is(err, runpod.ErrPodNotFound) {
		t.Errorf("a GraphQL error on pod must not read as not found: %v", err)
	}
}

func TestWrongKeyIsRefused(t *testing.T) {
	srv, c := setup(t, func(o *runpod.Options) { o.APIKey = "rpa_WRONG" })
	_, err := c.ListPods(t.Context())
	assertUpstream(t, err, "runpod: listing pods: http 401")
	if n := srv.Requests(); n != 1 {
		t.Errorf("%d requests, want 1: a 401 is not retried", n)
	}
	assertCalls(t, srv, standin.OpMyself, 0)
}

func TestReadsRetryThrottlingAndServerErrors(t *testing.T) {
	tests := []struct {
		name   string
		op     string
		status int
		fails  int
		read   func(context.Context, *runpod.Client) error
	}{
		{"list after a 429", standin.OpMyself, http.StatusTooManyRequests, 1, listPods},
		{"list after a 500 and a 502", standin.OpMyself, http.StatusInternalServerError, 2, listPods},
		{"get after a 503", standin.OpPod, http.StatusServiceUnavailable, 1, getPod},
		{"get after two 429", standin.OpPod, http.StatusTooManyRequests, 2, getPod},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := setup(t, nil)
			srv.FailNext(tt.op, tt.fails, tt.status)
			if err := tt.read(t.Context(), c); err != nil {
				t.Fatalf("read after %d x %d: %v", tt.fails, tt.status, err)
			}
			assertCalls(t, srv, tt.op, tt.fails+1)
		})
	}
}

func listPods(ctx context.Context, c *runpod.Client) error {
	_, err := c.ListPods(ctx)
	return err
}

func getPod(ctx context.Context, c *runpod.Client) error {
	_, err := c.GetPod(ctx, wantRunning.ID)
	return err
}

func TestReadRetriesAreBounded(t *testing.T) {
	tests := []struct {
		name       string
		maxRetries int
		wantCalls  int
	}{
		{"default", 0, 3},
		{"five", 5, 6},
		{"none", -1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := setup(t, func(o *runpod.Options) { o.MaxRetries = tt.maxRetries })
			srv.FailNext(standin.OpMyself, -1, http.StatusInternalServerError)
			_, err := c.ListPods(t.Context())
			assertUpstream(t, err, "runpod: listing pods: http 500")
			if tt.wantCalls > 1 {
				assertUpstream(t, err, fmt.Sprintf("(after %d attempts)", tt.wantCalls))
			}
			assertCalls(t, srv, standin.OpMyself, tt.wantCalls)
		})
	}
}

func TestMutationsAreNeverRetried(t *testing.T) {
	tests := []struct {
		name   string
		op     string
		status int
		call   func(context.Context, *runpod.Client) error
	}{
		{"stop 503", standin.OpPodStop, http.StatusServiceUnavailable, stopPod},
		{"stop 429", standin.OpPodStop, http.StatusTooManyRequests, stopPod},
		{"resume 503", standin.OpPodResume, http.StatusServiceUnavailable, resumePod},
		{"resume 500", standin.OpPodResume, http.StatusInternalServerError, resumePod},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := setup(t, nil)
			srv.FailNext(tt.op, 1, tt.status)
			err := tt.call(t.Context(), c)
			assertUpstream(t, err, fmt.Sprintf("http %d", tt.status))
			if strings.Contains(err.Error(), "attempts") {
				t.Errorf("error %q speaks of attempts", err)
			}
			assertCalls(t, srv, tt.op, 1)
		})
	}
}

func stopPod(ctx context.Context, c *runpod.Client) error { return c.StopPod(ctx, wantRunning.ID) }

func resumePod(ctx context.Context, c *runpod.Client) error {
	return c.ResumePod(ctx, wantExited.ID, wantExited.GPUCount)
}

func TestMalformedAnswerIsAnError(t *testing.T) {
	srv, c := setup(t, nil)
	srv.FaultNext(standin.OpMyself, 1, standin.Fault{Malformed: true})
	_, err := c.ListPods(t.Context())
	assertUpstream(t, err, "runpod: listing pods: malformed answer")
	assertCalls(t, srv, standin.OpMyself, 1)

	srv.FaultNext(standin.OpPodStop, 1, standin.Fault{Malformed: true})
	assertUpstream(t, c.StopPod(t.Context(), wantRunning.ID), "runpod: stopping pod inzk6tzuz833h5: malformed answer")
}

func TestSlowAnswerTimesOut(t *testing.T) {
	const timeout = 200 * time.Millisecond
	srv, c := setup(t, func(o *runpod.Options) { o.Timeout = timeout })
	srv.FaultNext(standin.OpMyself, 1, standin.Fault{Delay: 10 * time.Second})

	start := time.Now()
	_, err := c.ListPods(t.Context())
	elapsed := time.Since(start)
	assertUpstream(t, err, "runpod: listing pods: no answer")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %q does not match context.DeadlineExceeded", err)
	}
	// Generous: the point is that the call does not wait for the answer.
	if elapsed > 5*time.Second {
		t.Errorf("call took %s with a %s timeout", elapsed, timeout)
	}
	assertCalls(t, srv, standin.OpMyself, 1)
}

func TestBackoffHonoursCallerDeadline(t *testing.T) {
	srv, c := setup(t, func(o *runpod.Options) { o.Backoff = time.Minute })
	srv.FailNext(standin.OpMyself, -1, http.StatusServiceUnavailable)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()

	start := time.Now()
	_, err := c.ListPods(ctx)
	assertUpstream(t, err, "runpod: listing pods: http 503; no further attempt")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %q does not match context.DeadlineExceeded", err)
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("call took %s: the backoff ignored the deadline", elapsed)
	}
	assertCalls(t, srv, standin.OpMyself, 1)
}

func TestTransportErrors(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL + "/graphql"
	dead.Close()
	c, err := runpod.New(runpod.Options{URL: url, APIKey: testKey, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// Reads retry on 429 and 5xx only: a transport error is reported at once.
	_, err = c.ListPods(t.Context())
	assertUpstream(t, err, "runpod: listing pods: sending request:")
	if strings.Contains(err.Error(), "attempts") {
		t.Errorf("a read was retried after a transport error: %v", err)
	}
	err = c.StopPod(t.Context(), wantRunning.ID)
	assertUpstream(t, err, "runpod: stopping pod inzk6tzuz833h5: sending request:")
	if strings.Contains(err.Error(), "attempts") {
		t.Errorf("a mutation was retried: %v", err)
	}
}

func TestNewValidatesOptions(t *testing.T) {
	tests := []struct {
		name string
		opts runpod.Options
	}{
		{"no key", runpod.Options{}},
		{"relative url", runpod.Options{APIKey: testKey, URL: "/graphql"}},
		{"ftp url", runpod.Options{APIKey: testKey, URL: "ftp://api.runpod.io/graphql"}},
		{"key in query", runpod.Options{APIKey: testKey, URL: "https://api.runpod.io/graphql?api_key=" + testKey}},
		{"user info", runpod.Options{APIKey: testKey, URL: "https://u:" + testKey + "@api.runpod.io/graphql"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runpod.New(tt.opts)
			if err == nil {
				t.Fatal("New accepted the options")
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("error %q holds the api key", err)
			}
		})
	}
	if _, err := runpod.New(runpod.Options{APIKey: testKey}); err != nil {
		t.Errorf("New with only a key: %v", err)
	}
}

// TestAPIKeyNeverInErrors provokes every failure mode and checks that no
// error message, however printed, holds the key, even when RunPod's own
// message quotes it.
func TestAPIKeyNeverInErrors(t *testing.T) {
	srv, c := setup(t, func(o *runpod.Options) { o.Timeout = 300 * time.Millisecond })
	ctx := t.Context()
	var errs []error
	collect := func(err error) {
		if err == nil {
			t.Errorf("call %d did not fail", len(errs)+1)
			return
		}
		errs = append(errs, err)
	}
	list := func() { _, err := c.ListPods(ctx); collect(err) }
	get := func(id string) { _, err := c.GetPod(ctx, id); collect(err) }

	for _, status := range []int{http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusServiceUnavailable} {
		srv.FailNext(standin.OpMyself, 3, status)
		list()
		srv.FailNext(standin.OpPodStop, 1, status)
		collect(c.StopPod(ctx, wantRunning.ID))
	}
	srv.FaultNext(standin.OpMyself, 1, standin.Fault{GraphQLError: "invalid api key " + testKey})
	list()
	srv.FaultNext(standin.OpPodResume, 1, standin.Fault{GraphQLError: "key " + testKey + " may not resume"})
	collect(c.ResumePod(ctx, wantExited.ID, 1))
	srv.FaultNext(standin.OpMyself, 1, standin.Fault{Malformed: true})
	list()
	srv.FaultNext(standin.OpPod, 1, standin.Fault{Delay: 5 * time.Second})
	get(wantRunning.ID)
	get("nosuchpod00000")
	get(testKey) // a caller passing the key as an id
	collect(c.StopPod(ctx, "nosuchpod00000"))
	collect(c.ResumePod(ctx, wantExited.ID, -1))

	wrong, err := runpod.New(runpod.Options{URL: srv.Start(t), APIKey: testKey + "x"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = wrong.ListPods(ctx)
	collect(err)

	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	unreachable, err := runpod.New(runpod.Options{URL: deadURL, APIKey: testKey, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = unreachable.ListPods(ctx)
	collect(err)

	for _, err := range errs {
		for _, text := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			if strings.Contains(text, testKey) {
				t.Errorf("error holds the api key: %s", text)
			}
		}
		for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
			if strings.Contains(e.Error(), testKey) {
				t.Errorf("wrapped error holds the api key: %s", e)
			}
		}
	}
	if len(errs) < 15 {
		t.Errorf("only %d failures provoked", len(errs))
	}
}

// TestDemoFleetNormalizes checks that every rendering DemoPods uses is one the
// client reads.
func TestDemoFleetNormalizes(t *testing.T) {
	demo := standin.DemoPods(12, "aiapi-dev")
	srv := standin.NewServer(testKey, demo...)
	c, err := runpod.New(runpod.Options{URL: srv.Start(t), APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := c.ListPods(t.Context())
	if err != nil {
		t.Fatalf("ListPods: %v", err)
	}
	if len(pods) != len(demo) {
		t.Fatalf("ListPods returned %d pods, want %d", len(pods), len(demo))
	}
	for i, p := range pods {
		raw := demo[i]
		if p.LastStartedAt == "" {
			t.Errorf("%s: lastStartedAt %q not read", p.Name, raw.LastStartedAt)
		}
		hasTime := strings.Contains(raw.LastStatusChange, ": ")
		if got := p.LastStatusChange != ""; got != hasTime {
			t.Errorf("%s: lastStatusChange %q read as %q", p.Name, raw.LastStatusChange, p.LastStatusChange)
		}
	}
}

// TestBidResumeSpotPod resumes a stopped spot pod with a bid per GPU: the
// stand-in, which refuses podResume for a spot pod as RunPod does, runs it
// again at that price.
func TestBidResumeSpotPod(t *testing.T) {
	srv, c := setup(t, nil)
	spot := standin.Pod{ID: "spot0000000001", Name: "aiapi-dev-sglang-spot-1", DesiredStatus: "EXITED",
		CostPerHr: 0.68, GPUCount: 2, PodType: standin.TypeSpot, MachineID: "m"}
	srv.Add(spot)

	got, err := c.GetPod(t.Context(), spot.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.IsSpot() || got.BidPerGPU() != 0.34 {
		t.Fatalf("spot pod read as spot=%v, bid per gpu %v; want true, 0.34", got.IsSpot(), got.BidPerGPU())
	}
	assertUpstream(t, c.ResumePod(t.Context(), spot.ID, got.GPUCount),
		"runpod: resuming pod spot0000000001: graphql error: pod spot0000000001 is a spot pod: resume it with podBidResume")

	if err := c.BidResumePod(t.Context(), spot.ID, got.GPUCount, got.BidPerGPU()); err != nil {
		t.Fatalf("BidResumePod: %v", err)
	}
	p, _ := srv.Pod(spot.ID)
	if p.DesiredStatus != standin.StatusRunning || p.GPUCount != 2 || p.CostPerHr != 0.68 {
		t.Errorf("after the bid resume the stand-in holds %s, %d gpus, %v/h; want RUNNING, 2, 0.68", p.DesiredStatus, p.GPUCount, p.CostPerHr)
	}
	assertCalls(t, srv, standin.OpPodBidResume, 1)

	// An on-demand pod is not resumed with a bid; a bid that is not positive
	// never leaves the client.
	assertUpstream(t, c.BidResumePod(t.Context(), wantExited.ID, 1, 0.5),
		"graphql error: pod q8w7e6r5t4y3u2 is not a spot pod: resume it with podResume")
	before := srv.Requests()
	for _, bid := range []float64{0, -1, math.NaN()} {
		if err := c.BidResumePod(t.Context(), spot.ID, 2, bid); err == nil || errors.Is(err, runpod.ErrUpstream) {
			t.Errorf("bid %v: %v, want a local error", bid, err)
		}
	}
	if n := srv.Requests() - before; n != 0 {
		t.Errorf("%d requests with a bid that is not positive reached RunPod", n)
	}
}
