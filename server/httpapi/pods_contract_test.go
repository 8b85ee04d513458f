package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/clients/clocktest"
	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/runpod"
	"github.com/threatwinds/aiadmin/clients/runpod/standin"
	"github.com/threatwinds/aiadmin/gen/adminclient"
	"github.com/threatwinds/aiadmin/server/contracttest"
	"github.com/threatwinds/aiadmin/server/httpapi"
	"github.com/threatwinds/aiadmin/server/pods"
	"github.com/threatwinds/aiadmin/server/summary"
)

const (
	podsPath     = "/api/ai/v1/admin/pods"
	runpodKey    = "rpa_CONTRACTTESTKEY9876"
	fleetPrefix  = "aiapi-dev-"
	fleetPodsLen = 12
)

// podsEnv is a test environment whose RunPod is the stand-in, reached over
// loopback HTTP through an operation recorder.
type podsEnv struct {
	*testEnv
	standIn *standin.Server
	rec     *contracttest.OpRecorder
	catalog *pods.Catalog
	clock   *clocktest.Clock
	// fleet holds the stand-in's fleet pods (those with the prefix) in the
	// order the API must list them: by name, then id.
	fleet []standin.Pod
	// outside holds the stand-in's pods without the prefix.
	outside []standin.Pod
}

func newPodsEnv(t *testing.T) *podsEnv {
	t.Helper()
	pe := &podsEnv{clock: clocktest.New(time.Now().UTC().Truncate(time.Second))}
	demoPods := standin.DemoPods(fleetPodsLen, "aiapi-dev")
	pe.standIn = standin.NewServer(runpodKey, demoPods...)
	var url string
	pe.rec, url = contracttest.StartOpRecorder(t, pe.standIn)
	rp, err := runpod.New(runpod.Options{URL: url, APIKey: runpodKey, Timeout: 10 * time.Second, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	pe.testEnv = newEnv(t, func(o *envOptions) {
		o.now = pe.clock.Now
		o.handlers = func(h *httpapi.Handlers, st *fleet.Store) {
			pe.catalog = pods.New(rp, st, pods.Options{
				Prefix: fleetPrefix, CacheTTL: 5 * time.Second, Now: pe.clock.Now, RestartLocker: st,
			})
			h.Pods = pe.catalog
			h.Summary = summary.New(pe.catalog, st, st, summary.Options{TTL: 5 * time.Second, Now: pe.clock.Now})
		}
	})
	for _, p := range demoPods {
		if strings.HasPrefix(p.Name, fleetPrefix) {
			pe.fleet = append(pe.fleet, p)
		} else {
			pe.outside = append(pe.outside, p)
		}
	}
	slices.SortFunc(pe.fleet, func(a, b standin.Pod) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if len(pe.fleet) != fleetPodsLen || len(pe.outside) == 0 {
		t.Fatalf("demo fleet: %d fleet pods, %d outside", len(pe.fleet), len(pe.outside))
	}
	return pe
}

// restartLeaseHolder is who holds pod id's restart lease; "" when nobody does.
func (pe *podsEnv) restartLeaseHolder(t *testing.T, id string) string {
	t.Helper()
	h, err := pe.store.LeaseHolder(context.Background(), fleet.RestartLeaseName(id))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// podBackendURL is the backend URL the default template gives pod id.
func podBackendURL(id string) string { return "https://" + id + ".proxy.runpod.net/v1" }

// wantPod is the API's view of a stand-in pod with the given fleet state.
func wantPod(p standin.Pod, models []string, healthy *bool, inflight, lastUseMs, idle int64) adminclient.Pod {
	return adminclient.Pod{
		Id: p.ID, Name: p.Name, DesiredStatus: p.DesiredStatus, Kind: pods.Kind(p.Name, fleetPrefix), Url: podBackendURL(p.ID),
		Models: models, Healthy: healthy, Inflight: inflight, LastUseMs: lastUseMs, IdleSeconds: idle,
		LastStatusChange: runpod.NormalizeStatusChange(p.LastStatusChange), CostPerHr: p.CostPerHr,
		DataCenterId: p.DataCenterID, Location: p.Location, GpuTypeId: p.GPUTypeID,
	}
}

// podAuditLine is one audit record as the log holds it.
type podAuditLine struct {
	Msg     string `json:"msg"`
	UserID  string `json:"user_id"`
	Action  string `json:"action"`
	Target  string `json:"target"`
	Outcome string `json:"outcome"`
}

// podRestartAudits returns the audit lines of pod restarts in env's log.
func podRestartAudits(t *testing.T, env *testEnv) []podAuditLine {
	t.Helper()
	var out []podAuditLine
	sc := bufio.NewScanner(strings.NewReader(env.logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l podAuditLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "audit" && l.Action == "pod.restart" {
			out = append(out, l)
		}
	}
	return out
}

// TestContractPods drives the three pod operations end to end: the generated
// client, the real echo server, the stand-in RunPod over HTTP and a real
// Valkey; every answer is validated against the spec by the environment.
func TestContractPods(t *testing.T) {
	pe := newPodsEnv(t)
	ctx := context.Background()
	f := pe.fleet
	nowMs := pe.clock.Now().UnixMilli()
	up, down := true, false

	// f[0]: registered twice, healthy, busy. f[1]: registered, never probed.
	// f[2]: registered, unhealthy. f[3]: in no pool, probed and used.
	for _, r := range []struct {
		provider, url string
		models        []string
	}{
		{"vllm", podBackendURL(f[0].ID), []string{"qwen-27b", "qwen-35b"}},
		{"speaches", podBackendURL(f[0].ID), []string{"whisper"}},
		{"vllm", podBackendURL(f[1].ID), []string{"qwen-27b"}},
		{"sglang", podBackendURL(f[2].ID), []string{}},
	} {
		if err := pe.store.RegisterServer(ctx, r.provider, r.url, r.models); err != nil {
			t.Fatal(err)
		}
	}
	if err := pe.store.RecordHealth(ctx, podBackendURL(f[0].ID), fleet.ServerHealth{Healthy: &up, ConsecutiveSuccesses: 2}); err != nil {
		t.Fatal(err)
	}
	if err := pe.store.RecordHealth(ctx, podBackendURL(f[2].ID), fleet.ServerHealth{Healthy: &down, ConsecutiveFailures: 3}); err != nil {
		t.Fatal(err)
	}
	// A probe result for a URL no pool holds says nothing of a pool.
	if err := pe.store.RecordHealth(ctx, podBackendURL(f[3].ID), fleet.ServerHealth{Healthy: &up}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct{ id, model string }{{f[0].ID, "qwen-27b"}, {f[0].ID, "whisper"}, {f[3].ID, "stray"}} {
		if _, err := pe.store.StartRequest(ctx, podBackendURL(s.id), s.model); err != nil {
			t.Fatal(err)
		}
	}
	// The last use of f[3] was 90 s ago.
	pe.clock.Advance(90 * time.Second)

	t.Run("list enriches the page", func(t *testing.T) {
		resp, err := pe.admin.ListPodsWithResponse(ctx, &adminclient.ListPodsParams{Page: ptr(int64(1)), Limit: ptr(int64(5))})
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body)
		}
		want := adminclient.PodList{Page: 1, Limit: 5, Total: fleetPodsLen, Pods: []adminclient.Pod{
			wantPod(f[0], []string{"qwen-27b", "qwen-35b", "whisper"}, &up, 2, nowMs, 90),
			wantPod(f[1], []string{"qwen-27b"}, &down, 0, 0, 0),
			wantPod(f[2], []string{}, &down, 0, 0, 0),
			wantPod(f[3], []string{}, nil, 1, nowMs, 90),
			wantPod(f[4], []string{}, nil, 0, 0, 0),
		}}
		if d := cmp.Diff(want, *resp.JSON200); d != "" {
			t.Errorf("page 1 (-want +got):\n%s", d)
		}
		for _, s := range []string{`"healthy":null`, `"healthy":false`, `"healthy":true`, `"models":[]`} {
			if !strings.Contains(string(resp.Body), s) {
				t.Errorf("the body lacks %s: %s", s, resp.Body)
			}
		}
	})

	t.Run("pages cover the fleet in order, without outside pods", func(t *testing.T) {
		var got []string
		for page := int64(1); page <= 3; page++ {
			resp, err := pe.bot.ListPodsWithResponse(ctx, &adminclient.ListPodsParams{Page: ptr(page), Limit: ptr(int64(5))})
			if err != nil || resp.JSON200 == nil {
				t.Fatalf("page %d: %v %d", page, err, resp.StatusCode())
			}
			if resp.JSON200.Total != fleetPodsLen || resp.JSON200.Page != page {
				t.Errorf("page %d: total %d, page %d", page, resp.JSON200.Total, resp.JSON200.Page)
			}
			for _, p := range resp.JSON200.Pods {
				got = append(got, p.Name+"/"+p.Id)
				if !strings.HasPrefix(p.Name, fleetPrefix) || strings.HasPrefix(p.Kind, fleetPrefix) || p.Kind == "" {
					t.Errorf("pod %s has kind %q", p.Name, p.Kind)
				}
			}
		}
		var want []string
		for _, p := range f {
			want = append(want, p.Name+"/"+p.ID)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("pods over three pages (-want +got):\n%s", d)
		}
		resp, body := pe.do(t, http.MethodGet, podsPath+"?page=99", authHeader(), "")
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"pods":[]`) || !strings.Contains(string(body), `"total":12`) {
			t.Errorf("past the end: %d %s", resp.StatusCode, body)
		}
		resp, body = pe.do(t, http.MethodGet, podsPath, authHeader(), "")
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"limit":10,"page":1`) {
			t.Errorf("defaults: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("detail adds last_started_at", func(t *testing.T) {
		calls := pe.standIn.Calls(standin.OpPod)
		resp, err := pe.admin.GetPodWithResponse(ctx, f[0].ID)
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body)
		}
		w := wantPod(f[0], []string{"qwen-27b", "qwen-35b", "whisper"}, &up, 2, nowMs, 90)
		want := adminclient.PodDetail{
			Id: w.Id, Name: w.Name, DesiredStatus: w.DesiredStatus, Kind: w.Kind, Url: w.Url, Models: w.Models, Healthy: w.Healthy,
			Inflight: w.Inflight, LastUseMs: w.LastUseMs, IdleSeconds: w.IdleSeconds,
			LastStartedAt: runpod.NormalizeTime(f[0].LastStartedAt), LastStatusChange: w.LastStatusChange,
			CostPerHr: w.CostPerHr, DataCenterId: w.DataCenterId, Location: w.Location, GpuTypeId: w.GpuTypeId,
		}
		if d := cmp.Diff(want, *resp.JSON200); d != "" {
			t.Errorf("detail (-want +got):\n%s", d)
		}
		if want.LastStartedAt == "" {
			t.Errorf("the demo pod has no readable last_started_at")
		}
		if got := pe.standIn.Calls(standin.OpPod); got != calls+1 {
			t.Errorf("detail made %d pod calls, want 1", got-calls)
		}
		resp, err = pe.admin.GetPodWithResponse(ctx, f[4].ID)
		if err != nil || resp.JSON200 == nil || resp.JSON200.Healthy != nil || !strings.Contains(string(resp.Body), `"healthy":null`) {
			t.Errorf("detail of a pod in no pool: %v %s", err, resp.Body)
		}
	})

	t.Run("detail of unknown and outside pods is 404", func(t *testing.T) {
		for _, id := range []string{"doesnotexist42", pe.outside[0].ID} {
			resp, err := pe.admin.GetPodWithResponse(ctx, id)
			if err != nil || resp.JSON404 == nil {
				t.Fatalf("%s: %v %d %s", id, err, resp.StatusCode(), resp.Body)
			}
			if resp.JSON404.Error != "pod not found" || resp.HTTPResponse.Header.Get("x-error") != "pod not found" {
				t.Errorf("%s: %s", id, resp.Body)
			}
		}
	})

	invalidIDs := []string{"abc-def", strings.Repeat("a", 65), "%C3%A9t%C3%A9", "a%20b", "a.b", "a_b", "a%2Fb"}

	t.Run("detail of an invalid id is 422 without an upstream call", func(t *testing.T) {
		before := pe.standIn.Requests()
		for _, id := range invalidIDs {
			resp, body := pe.do(t, http.MethodGet, podsPath+"/"+id, authHeader(), "")
			if resp.StatusCode != http.StatusUnprocessableEntity || string(body) != `{"error":"invalid pod id"}`+"\n" {
				t.Errorf("%s: %d %s", id, resp.StatusCode, body)
			}
		}
		if got := pe.standIn.Requests(); got != before {
			t.Errorf("invalid ids made %d RunPod requests", got-before)
		}
	})

	t.Run("detail when RunPod fails is 502 without the key", func(t *testing.T) {
		// Past --pod-cache-max-stale nothing known of the pod may stand in
		// for RunPod's answer.
		pe.clock.Advance(pods.DefaultMaxStale)
		pe.standIn.FaultNext(standin.OpPod, 1, standin.Fault{GraphQLError: "token " + runpodKey + " is not allowed"})
		resp, err := pe.admin.GetPodWithResponse(ctx, f[0].ID)
		if err != nil || resp.JSON502 == nil {
			t.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body)
		}
		if resp.JSON502.Error != "runpod API error" || resp.JSON502.Detail == nil || *resp.JSON502.Detail != "RunPod refused the request" || strings.Contains(string(resp.Body), "[redacted]") {
			t.Errorf("502 body: %s", resp.Body)
		}
		pe.standIn.FailNext(standin.OpPod, 3, http.StatusServiceUnavailable)
		resp, err = pe.admin.GetPodWithResponse(ctx, f[0].ID)
		if err != nil || resp.JSON502 == nil || resp.JSON502.Detail == nil || *resp.JSON502.Detail != "RunPod answered 503" {
			t.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body)
		}
		if strings.Contains(pe.logs.String(), runpodKey) {
			t.Errorf("the RunPod key reached the log")
		}
	})

	t.Run("restart stops, then resumes with the gpu count", func(t *testing.T) {
		big := f[0]
		for _, p := range f {
			if p.GPUCount > 1 && p.DesiredStatus == standin.StatusRunning {
				big = p
				break
			}
		}
		pe.rec.Reset()
		resp, err := pe.admin.RestartPodWithResponse(ctx, big.ID)
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body)
		}
		if d := cmp.Diff(adminclient.RestartResult{Status: adminclient.Initiated, PodId: big.ID}, *resp.JSON200); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
		want := contracttest.RestartCalls
		if d := cmp.Diff(want, pe.rec.Log()); d != "" {
			t.Errorf("RunPod calls (-want +got):\n%s", d)
		}
		p, _ := pe.standIn.Pod(big.ID)
		if p.DesiredStatus != standin.StatusRunning || p.GPUCount != big.GPUCount || !strings.HasPrefix(p.LastStatusChange, "Resumed") {
			t.Errorf("pod after restart: %+v (had %d gpus)", p, big.GPUCount)
		}
		if !slices.Contains(podRestartAudits(t, pe.testEnv), podAuditLine{Msg: "audit", UserID: "usr_ops", Action: "pod.restart", Target: big.ID, Outcome: "initiated"}) {
			t.Errorf("no audit line for the restart: %+v", podRestartAudits(t, pe.testEnv))
		}
		if h := pe.restartLeaseHolder(t, big.ID); h != "" {
			t.Errorf("restart lease held by %q after the restart, want nobody", h)
		}
	})

	t.Run("restart failures are 502 naming the phase", func(t *testing.T) {
		id := f[1].ID
		cases := []struct {
			name     string
			fault    func()
			failedAt *adminclient.RestartFailureFailedAt
			detail   string
			stops    int
			resumes  int
			outcome  string
		}{
			{"stop", func() {
				pe.standIn.FaultNext(standin.OpPodStop, 1, standin.Fault{GraphQLError: "pod is locked by a migration"})
			}, ptr(adminclient.Stop), "RunPod refused the request", 1, 0, "failed at stop"},
			{"resume", func() {
				pe.standIn.FailNext(standin.OpPodResume, 1, http.StatusInternalServerError)
			}, ptr(adminclient.Resume), "RunPod answered 500", 1, 1, "failed at resume"},
			{"read", func() {
				pe.standIn.FailNext(standin.OpPod, 3, http.StatusBadGateway)
			}, nil, "RunPod answered 502", 0, 0, "failed: reading the pod"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				stops, resumes := pe.standIn.Calls(standin.OpPodStop), pe.standIn.Calls(standin.OpPodResume)
				tc.fault()
				resp, err := pe.bot.RestartPodWithResponse(ctx, id)
				if err != nil || resp.JSON502 == nil {
					t.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body)
				}
				got := *resp.JSON502
				if got.Detail == nil || !strings.Contains(*got.Detail, tc.detail) {
					t.Errorf("detail %v, want it to contain %q", got.Detail, tc.detail)
				}
				got.Detail = nil
				want := adminclient.RestartFailure{Status: adminclient.Failed, PodId: id, Error: "runpod API error", FailedAt: tc.failedAt}
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("(-want +got):\n%s", d)
				}
				if tc.failedAt == nil && strings.Contains(string(resp.Body), "failed_at") {
					t.Errorf("failed_at must be absent: %s", resp.Body)
				}
				if n := pe.standIn.Calls(standin.OpPodStop) - stops; n != tc.stops {
					t.Errorf("%d stops, want %d", n, tc.stops)
				}
				if n := pe.standIn.Calls(standin.OpPodResume) - resumes; n != tc.resumes {
					t.Errorf("%d resumes, want %d", n, tc.resumes)
				}
				if !slices.Contains(podRestartAudits(t, pe.testEnv), podAuditLine{Msg: "audit", UserID: "usr_bot", Action: "pod.restart", Target: id, Outcome: tc.outcome}) {
					t.Errorf("no audit line %q: %+v", tc.outcome, podRestartAudits(t, pe.testEnv))
				}
			})
		}
	})

	t.Run("restart of unknown, outside and invalid pods", func(t *testing.T) {
		stops := pe.standIn.Calls(standin.OpPodStop)
		for _, id := range []string{"doesnotexist42", pe.outside[0].ID} {
			resp, err := pe.admin.RestartPodWithResponse(ctx, id)
			if err != nil || resp.JSON404 == nil || resp.JSON404.Error != "pod not found" {
				t.Fatalf("%s: %v %d %s", id, err, resp.StatusCode(), resp.Body)
			}
		}
		before := pe.standIn.Requests()
		for _, id := range invalidIDs {
			resp, body := pe.do(t, http.MethodPost, podsPath+"/"+id+"/restart", authHeader(), "")
			if resp.StatusCode != http.StatusUnprocessableEntity || string(body) != `{"error":"invalid pod id"}`+"\n" {
				t.Errorf("%s: %d %s", id, resp.StatusCode, body)
			}
		}
		if got := pe.standIn.Requests(); got != before {
			t.Errorf("invalid ids made %d RunPod requests", got-before)
		}
		if got := pe.standIn.Calls(standin.OpPodStop); got != stops {
			t.Errorf("%d pods outside the fleet were stopped", got-stops)
		}
		if !slices.Contains(podRestartAudits(t, pe.testEnv), podAuditLine{Msg: "audit", UserID: "usr_ops", Action: "pod.restart", Target: pe.outside[0].ID, Outcome: "rejected: pod not found"}) {
			t.Errorf("no audit line for the refused restart: %+v", podRestartAudits(t, pe.testEnv))
		}
	})

	t.Run("credentials and role are checked before RunPod", func(t *testing.T) {
		before := pe.standIn.Requests()
		for name, c := range map[string]*adminclient.ClientWithResponses{"anonymous": pe.anon, "role-less": pe.roleless} {
			want := http.StatusUnauthorized
			if name == "role-less" {
				want = http.StatusForbidden
			}
			l, err := c.ListPodsWithResponse(ctx, nil)
			if err != nil || l.StatusCode() != want {
				t.Errorf("%s list: %v %d", name, err, l.StatusCode())
			}
			g, err := c.GetPodWithResponse(ctx, f[0].ID)
			if err != nil || g.StatusCode() != want {
				t.Errorf("%s get: %v %d", name, err, g.StatusCode())
			}
			r, err := c.RestartPodWithResponse(ctx, f[0].ID)
			if err != nil || r.StatusCode() != want {
				t.Errorf("%s restart: %v %d", name, err, r.StatusCode())
			}
			if name == "anonymous" && (l.JSON401 == nil || g.JSON401 == nil || r.JSON401 == nil) {
				t.Errorf("anonymous: the answers are not the documented 401")
			}
			if name == "role-less" && (l.JSON403 == nil || g.JSON403 == nil || r.JSON403 == nil) {
				t.Errorf("role-less: the answers are not the documented 403")
			}
		}
		if got := pe.standIn.Requests(); got != before {
			t.Errorf("refused callers made %d RunPod requests", got-before)
		}
	})
}

// waitUntil polls cond until it holds or the test's patience runs out.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestContractPodListCache checks the list cache over HTTP: concurrent
// requests share one RunPod call, the TTL expires on the injected clock and
// the old list is served with x-data-age while it is refreshed, a RunPod
// outage serves the last list (and the summary from it) with x-data-age
// until --pod-cache-max-stale and is a 502 after it, and a restart
// invalidates the list.
func TestContractPodListCache(t *testing.T) {
	pe := newPodsEnv(t)
	ctx := context.Background()
	myself := func() int { return pe.standIn.Calls(standin.OpMyself) }
	list := func(t *testing.T) *adminclient.ListPodsResponse {
		t.Helper()
		resp, err := pe.admin.ListPodsWithResponse(ctx, nil)
		if err != nil || resp.JSON200 == nil || resp.JSON200.Total != fleetPodsLen {
			t.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body)
		}
		return resp
	}

	t.Run("200 concurrent lists make one RunPod call", func(t *testing.T) {
		// The delay keeps the first call in flight while the others arrive.
		pe.standIn.FaultNext(standin.OpMyself, 1, standin.Fault{Delay: 200 * time.Millisecond})
		const n = 200
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				resp, err := pe.admin.ListPodsWithResponse(ctx, &adminclient.ListPodsParams{Limit: ptr(int64(3))})
				switch {
				case err != nil:
					errs <- err
				case resp.JSON200 == nil || len(resp.JSON200.Pods) != 3:
					errs <- fmt.Errorf("%d %s", resp.StatusCode(), resp.Body)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if got := myself(); got != 1 {
			t.Errorf("%d concurrent lists made %d RunPod calls, want 1", n, got)
		}
	})

	t.Run("200 concurrent detail reads of one pod make one RunPod call", func(t *testing.T) {
		id := pe.fleet[2].ID
		before := pe.standIn.Calls(standin.OpPod)
		pe.standIn.FaultNext(standin.OpPod, 1, standin.Fault{Delay: 200 * time.Millisecond})
		const n = 200
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				resp, err := pe.admin.GetPodWithResponse(ctx, id)
				switch {
				case err != nil:
					errs <- err
				case resp.JSON200 == nil || resp.JSON200.Id != id || resp.HTTPResponse.Header.Values("x-data-age") != nil:
					errs <- fmt.Errorf("%d %v %s", resp.StatusCode(), resp.HTTPResponse.Header, resp.Body)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if got := pe.standIn.Calls(standin.OpPod) - before; got != 1 {
			t.Errorf("%d concurrent detail reads made %d RunPod calls, want 1", n, got)
		}
	})

	t.Run("the TTL expires on the clock", func(t *testing.T) {
		before := myself()
		pe.clock.Advance(4 * time.Second)
		if resp := list(t); resp.HTTPResponse.Header.Values("x-data-age") != nil {
			t.Errorf("within the TTL: x-data-age %q, want none", resp.HTTPResponse.Header.Values("x-data-age"))
		}
		if got := myself() - before; got != 0 {
			t.Errorf("within the TTL: %d RunPod calls, want 0", got)
		}
		pe.clock.Advance(1 * time.Second)
		// The old list is served while one refresh runs in the background.
		if resp := list(t); resp.HTTPResponse.Header.Get("x-data-age") != "5" {
			t.Errorf("at the TTL: x-data-age %q, want 5", resp.HTTPResponse.Header.Get("x-data-age"))
		}
		waitUntil(t, "the refreshed list is served", func() bool {
			return list(t).HTTPResponse.Header.Values("x-data-age") == nil
		})
		if got := myself() - before; got != 1 {
			t.Errorf("after the TTL: %d RunPod calls, want 1", got)
		}
	})

	t.Run("RunPod down: stale with x-data-age, then 502 past the bound", func(t *testing.T) {
		// Past --pod-cache-max-stale the list is fetched while the caller waits.
		pe.clock.Advance(pods.DefaultMaxStale)
		list(t)
		fetched := pe.clock.Now()
		pe.standIn.FailNext(standin.OpMyself, -1, http.StatusServiceUnavailable)
		defer pe.standIn.ClearFaults()
		for _, age := range []string{"5", "30", "59"} {
			sec, _ := strconv.Atoi(age)
			pe.clock.Advance(fetched.Add(time.Duration(sec) * time.Second).Sub(pe.clock.Now()))
			resp := list(t)
			if got := resp.HTTPResponse.Header.Get("x-data-age"); got != age {
				t.Errorf("RunPod down, the list %ss old: x-data-age %q", age, got)
			}
			sum, err := pe.admin.GetFleetSummaryWithResponse(ctx)
			if err != nil || sum.JSON200 == nil || sum.JSON200.Pods.Total != fleetPodsLen {
				t.Fatalf("summary: %v %d %s", err, sum.StatusCode(), sum.Body)
			}
			if got := sum.HTTPResponse.Header.Get("x-data-age"); got != age {
				t.Errorf("RunPod down, the list %ss old: the summary's x-data-age %q", age, got)
			}
		}
		pe.clock.Advance(time.Second)
		resp, err := pe.admin.ListPodsWithResponse(ctx, nil)
		if err != nil || resp.JSON502 == nil || resp.JSON502.Detail == nil || *resp.JSON502.Detail != "RunPod answered 503" {
			t.Fatalf("the list 60s old: %v %d %s, want 502", err, resp.StatusCode(), resp.Body)
		}
		// The summary computed a second ago is shared for its TTL, and says
		// how old its list is now; the next one needs RunPod.
		sum, err := pe.admin.GetFleetSummaryWithResponse(ctx)
		if err != nil || sum.JSON200 == nil || sum.HTTPResponse.Header.Get("x-data-age") != "60" {
			t.Fatalf("the summary of a second ago: %v %d %q, want 200 with x-data-age 60", err, sum.StatusCode(), sum.HTTPResponse.Header.Get("x-data-age"))
		}
		pe.clock.Advance(5 * time.Second)
		sum, err = pe.admin.GetFleetSummaryWithResponse(ctx)
		if err != nil || sum.JSON502 == nil {
			t.Fatalf("the summary with the list 65s old: %v %d %s, want 502", err, sum.StatusCode(), sum.Body)
		}
		pe.standIn.ClearFaults()
		if resp := list(t); resp.HTTPResponse.Header.Values("x-data-age") != nil {
			t.Errorf("RunPod back: x-data-age %q, want none", resp.HTTPResponse.Header.Values("x-data-age"))
		}
	})

	t.Run("a restart invalidates the list", func(t *testing.T) {
		var exited standin.Pod
		for _, p := range pe.fleet {
			if p.DesiredStatus == standin.StatusExited {
				exited = p
				break
			}
		}
		if exited.ID == "" {
			t.Fatal("the demo fleet has no exited pod")
		}
		statusOf := func(resp *adminclient.ListPodsResponse) string {
			for _, p := range resp.JSON200.Pods {
				if p.Id == exited.ID {
					return p.DesiredStatus
				}
			}
			t.Fatalf("pod %s is not on the first page", exited.ID)
			return ""
		}
		list(t)
		before := myself()
		resp, err := pe.admin.ListPodsWithResponse(ctx, &adminclient.ListPodsParams{Limit: ptr(int64(100))})
		if err != nil || resp.JSON200 == nil || statusOf(resp) != standin.StatusExited {
			t.Fatalf("before the restart: %v %s", err, resp.Body)
		}
		if r, err := pe.admin.RestartPodWithResponse(ctx, exited.ID); err != nil || r.JSON200 == nil {
			t.Fatalf("restart: %v %d %s", err, r.StatusCode(), r.Body)
		}
		resp, err = pe.admin.ListPodsWithResponse(ctx, &adminclient.ListPodsParams{Limit: ptr(int64(100))})
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("after the restart: %v", err)
		}
		if got := statusOf(resp); got != standin.StatusRunning {
			t.Errorf("after the restart the list shows %s, want RUNNING", got)
		}
		if got := myself() - before; got != 1 {
			t.Errorf("%d RunPod list calls after the restart, want 1", got)
		}
	})

	t.Run("two concurrent restarts of one pod do not interleave", func(t *testing.T) {
		id := pe.fleet[5].ID
		pe.rec.Reset()
		pe.standIn.FaultNext(standin.OpPodStop, 1, standin.Fault{Delay: 300 * time.Millisecond})
		var wg sync.WaitGroup
		codes := make(chan int, 2)
		for range 2 {
			wg.Go(func() {
				resp, err := pe.admin.RestartPodWithResponse(ctx, id)
				if err != nil {
					t.Error(err)
					return
				}
				codes <- resp.StatusCode()
			})
		}
		wg.Wait()
		close(codes)
		for c := range codes {
			if c != http.StatusOK {
				t.Errorf("restart answered %d", c)
			}
		}
		one := contracttest.RestartCalls
		if d := cmp.Diff(append(slices.Clone(one), one...), pe.rec.Log()); d != "" {
			t.Errorf("RunPod's calls (-want +got):\n%s", d)
		}
		if h := pe.restartLeaseHolder(t, id); h != "" {
			t.Errorf("restart lease held by %q after the restarts, want nobody", h)
		}
	})

	t.Run("RunPod failing is a 502", func(t *testing.T) {
		pe.clock.Advance(time.Minute)
		pe.standIn.FailNext(standin.OpMyself, -1, http.StatusServiceUnavailable)
		defer pe.standIn.ClearFaults()
		resp, err := pe.admin.ListPodsWithResponse(ctx, nil)
		if err != nil || resp.JSON502 == nil {
			t.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body)
		}
		if resp.JSON502.Error != "runpod API error" || resp.JSON502.Detail == nil || *resp.JSON502.Detail != "RunPod answered 503" {
			t.Errorf("502: %s", resp.Body)
		}
	})
}

// TestContractPodsRunPodUnreachable points the catalog at a port nobody
// listens on: every pod operation is a 502, and a restart fails before
// stopping anything.
func TestContractPodsRunPodUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/graphql"
	ln.Close()
	rp, err := runpod.New(runpod.Options{URL: dead, APIKey: runpodKey, Timeout: 5 * time.Second, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	env := newEnv(t, func(o *envOptions) {
		o.handlers = func(h *httpapi.Handlers, st *fleet.Store) {
			h.Pods = pods.New(rp, st, pods.Options{})
		}
	})
	ctx := context.Background()
	l, err := env.admin.ListPodsWithResponse(ctx, nil)
	if err != nil || l.JSON502 == nil || l.JSON502.Detail == nil || *l.JSON502.Detail != "RunPod could not be reached" {
		t.Fatalf("list: %v %d %s", err, l.StatusCode(), l.Body)
	}
	// The answer names no address and no Go error; the log line of the same
	// error id has the cause.
	for _, internal := range []string{"127.0.0.1", ln.Addr().String(), "dial", "connection refused", "runpod:"} {
		if strings.Contains(string(l.Body), internal) || strings.Contains(l.HTTPResponse.Header.Get("x-error"), internal) {
			t.Errorf("the answer leaks %q: %s", internal, l.Body)
		}
	}
	errorID := l.HTTPResponse.Header.Get("x-error-id")
	var logged bool
	for line := range strings.SplitSeq(env.logs.String(), "\n") {
		if errorID != "" && strings.Contains(line, `"error_id":"`+errorID+`"`) {
			// The port was closed, so the dial is refused; on a busy machine
			// another test may take the port meanwhile and hang up instead.
			// Either way the cause is the transport's, in the log only.
			logged = strings.Contains(line, `"cause":"`) && strings.Contains(line, "listing pods: sending request: ") &&
				(strings.Contains(line, "connection refused") || strings.Contains(line, "EOF") || strings.Contains(line, "reset by peer"))
		}
	}
	if !logged {
		t.Errorf("no log line with error id %q names the cause (the failed request to %s):\n%s", errorID, ln.Addr(), env.logs.String())
	}
	g, err := env.admin.GetPodWithResponse(ctx, "abc123")
	if err != nil || g.JSON502 == nil {
		t.Errorf("get: %v %d %s", err, g.StatusCode(), g.Body)
	}
	r, err := env.admin.RestartPodWithResponse(ctx, "abc123")
	if err != nil || r.JSON502 == nil || r.JSON502.FailedAt != nil || r.JSON502.PodId != "abc123" || r.JSON502.Status != adminclient.Failed {
		t.Errorf("restart: %v %d %s", err, r.StatusCode(), r.Body)
	}
}
