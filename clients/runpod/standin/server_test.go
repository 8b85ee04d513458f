package standin_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/clients/runpod/standin"
)

const key = "rpa_STANDINTESTKEY"

var onePod = standin.Pod{
	ID: "inzk6tzuz833h5", Name: "aiapi-dev-vllm-qwen3-6-27b-fp8-1", DesiredStatus: "RUNNING",
	CostPerHr: 2.69, GPUCount: 1, PodType: "RESERVED", MachineID: "x9d2kq7m4p1z",
	LastStatusChange: "Rented by User", GPUTypeID: "NVIDIA H100 80GB HBM3",
}

// post sends one GraphQL request and returns the status and decoded body.
func post(t *testing.T, url, auth, query string, vars map[string]any) (int, map[string]any) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("answer (%d) is not JSON: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

func firstError(body map[string]any) string {
	errs, _ := body["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	e, _ := errs[0].(map[string]any)
	msg, _ := e["message"].(string)
	return msg
}

// TestQueriesAreCheckedAgainstTheSchema shows the stand-in validates queries
// rather than matching them: what RunPod's schema rejects is rejected, and
// nothing runs.
func TestQueriesAreCheckedAgainstTheSchema(t *testing.T) {
	tests := []struct {
		name    string
		query   string
		vars    map[string]any
		wantErr string
		// graphql-go checks variable values while executing, not while
		// validating: a wrong value is a 200 with an error, the operation
		// refused before its resolver runs.
		wantStatus int
	}{
		{"unknown pod field", `query { myself { pods { id bogusField } } }`, nil, `Cannot query field "bogusField" on type "Pod"`, http.StatusBadRequest},
		{"unknown machine field", `query { myself { pods { machine { gpuName } } } }`, nil, `Cannot query field "gpuName" on type "PodMachineInfo"`, http.StatusBadRequest},
		{"unknown root field", `query { pods { id } }`, nil, `Cannot query field "pods" on type "Query"`, http.StatusBadRequest},
		{"missing input", `query { pod { id } }`, nil, `"input"`, http.StatusBadRequest},
		{"wrong variable type", `mutation($podId: String!, $gpuCount: Int!) { podResume(input: {podId: $podId, gpuCount: $gpuCount}) { id } }`,
			map[string]any{"podId": "inzk6tzuz833h5", "gpuCount": "one"}, `into int32`, http.StatusOK},
		{"missing gpu count", `mutation { podResume(input: {podId: "inzk6tzuz833h5"}) { id } }`, nil, `gpuCount`, http.StatusBadRequest},
		{"unknown argument", `query { myself { pods { desiredStatus(x: 1) } } }`, nil, `Unknown argument "x"`, http.StatusBadRequest},
		{"not graphql", `this is not graphql`, nil, `syntax error`, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := standin.NewServer(key, onePod)
			status, body := post(t, srv.Start(t), "Bearer "+key, tt.query, tt.vars)
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d", status, tt.wantStatus)
			}
			if msg := firstError(body); !strings.Contains(msg, tt.wantErr) {
				t.Errorf("error %q does not contain %q", msg, tt.wantErr)
			}
			for _, op := range []string{standin.OpMyself, standin.OpPod, standin.OpPodStop, standin.OpPodResume} {
				if n := srv.Calls(op); n != 0 {
					t.Errorf("%s ran %d times for a rejected query", op, n)
				}
			}
			if p, _ := srv.Pod(onePod.ID); p.DesiredStatus != "RUNNING" {
				t.Errorf("a rejected mutation changed the pod to %s", p.DesiredStatus)
			}
		})
	}
}

func TestServesTheReferenceFields(t *testing.T) {
	srv := standin.NewServer(key, onePod)
	q := `query($podId: String!) { pod(input: {podId: $podId}) {
		id name desiredStatus costPerHr adjustedCostPerHr gpuCount podType lastStatusChange lastStartedAt
		uptimeSeconds machineId
		machine { gpuDisplayName gpuTypeId location dataCenterId podHostId costPerHr }
		runtime { uptimeInSeconds ports { ip isIpPublic privatePort publicPort type } gpus { id gpuUtilPercent memoryUtilPercent } }
	} }`
	status, body := post(t, srv.Start(t), "Bearer "+key, q, map[string]any{"podId": onePod.ID})
	if status != http.StatusOK || firstError(body) != "" {
		t.Fatalf("status %d, error %q", status, firstError(body))
	}
	pod := body["data"].(map[string]any)["pod"].(map[string]any)
	want := map[string]any{
		"id": onePod.ID, "desiredStatus": "RUNNING", "gpuCount": float64(1), "podType": "RESERVED",
		"lastStatusChange": "Rented by User", "lastStartedAt": nil, "machineId": "x9d2kq7m4p1z",
	}
	got := map[string]any{}
	for k := range want {
		got[k] = pod[k]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pod fields (-want +got):\n%s", diff)
	}
	if pod["runtime"] == nil {
		t.Error("a running pod has no runtime")
	}
}

func TestRefusesWithoutTheKey(t *testing.T) {
	srv := standin.NewServer(key, onePod)
	url := srv.Start(t)
	for _, auth := range []string{"", "Bearer wrong", key, "Basic " + key, "Bearer " + key + "x"} {
		status, _ := post(t, url, auth, `query { myself { pods { id } } }`, nil)
		if status != http.StatusUnauthorized {
			t.Errorf("Authorization %q: status %d, want 401", auth, status)
		}
	}
	if n := srv.Calls(standin.OpMyself); n != 0 {
		t.Errorf("myself ran %d times without the key", n)
	}
	if n := srv.Requests(); n != 5 {
		t.Errorf("Requests() = %d, want 5", n)
	}
}

func TestFaultsApplyInOrderThenStop(t *testing.T) {
	srv := standin.NewServer(key, onePod)
	url := srv.Start(t)
	srv.FailNext(standin.OpMyself, 2, http.StatusServiceUnavailable)
	srv.FaultNext(standin.OpMyself, 1, standin.Fault{GraphQLError: "boom"})
	srv.FailNext(standin.OpPod, 1, http.StatusTooManyRequests) // another operation: untouched

	q := `query { myself { pods { id } } }`
	var got []string
	for range 4 {
		status, body := postRaw(t, url, q)
		got = append(got, http.StatusText(status)+"/"+firstError(body))
	}
	want := []string{"Service Unavailable/", "Service Unavailable/", "OK/boom", "OK/"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	if n := srv.Calls(standin.OpMyself); n != 4 {
		t.Errorf("Calls(myself) = %d, want 4", n)
	}

	srv.ClearFaults()
	if status, _ := postRaw(t, url, `query { pod(input: {podId: "x"}) { id } }`); status != http.StatusOK {
		t.Errorf("after ClearFaults: status %d", status)
	}
}

// postRaw posts a query with the key and decodes the body if it is JSON.
func postRaw(t *testing.T, url, query string) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestStopFailsBeforeChangingThePod(t *testing.T) {
	srv := standin.NewServer(key, onePod)
	url := srv.Start(t)
	srv.FailNext(standin.OpPodStop, 1, http.StatusInternalServerError)
	status, _ := postRaw(t, url, `mutation { podStop(input: {podId: "inzk6tzuz833h5"}) { id } }`)
	if status != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", status)
	}
	if p, _ := srv.Pod(onePod.ID); p.DesiredStatus != "RUNNING" {
		t.Errorf("a failed stop changed the pod to %s", p.DesiredStatus)
	}
}

func TestStopWritesAJavaScriptDate(t *testing.T) {
	srv := standin.NewServer(key, onePod)
	srv.SetClock(func() time.Time { return time.Date(2024, 6, 25, 8, 0, 0, 0, time.UTC) })
	status, body := postRaw(t, srv.Start(t), `mutation { podStop(input: {podId: "inzk6tzuz833h5"}) { desiredStatus lastStatusChange } }`)
	if status != http.StatusOK {
		t.Fatalf("status %d: %v", status, body)
	}
	got := body["data"].(map[string]any)["podStop"]
	want := map[string]any{
		"desiredStatus":    "EXITED",
		"lastStatusChange": "Exited by User: Tue Jun 25 2024 10:00:00 GMT+0200 (Central European Summer Time)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("podStop (-want +got):\n%s", diff)
	}
}

func TestDemoPods(t *testing.T) {
	pods := standin.DemoPods(14, "aiapi-dev")
	if len(pods) != 16 {
		t.Fatalf("DemoPods(14) gave %d pods, want 14 + 2", len(pods))
	}
	idPattern := regexp.MustCompile(`^[a-z0-9]{14}$`)
	seen := map[string]bool{}
	var fleet, foreign, exited int
	for _, p := range pods {
		if !idPattern.MatchString(p.ID) || seen[p.ID] {
			t.Errorf("pod %s: id %q is malformed or repeated", p.Name, p.ID)
		}
		seen[p.ID] = true
		if strings.HasPrefix(p.Name, "aiapi-dev-") {
			fleet++
		} else {
			foreign++
		}
		if p.DesiredStatus == "EXITED" {
			exited++
		}
		if p.GPUCount < 1 || p.CostPerHr <= 0 || p.DataCenterID == "" || p.GPUTypeID == "" || p.MachineID == "" {
			t.Errorf("pod %s is incomplete: %+v", p.Name, p)
		}
	}
	if fleet != 14 || foreign != 2 || exited == 0 {
		t.Errorf("fleet %d, foreign %d, exited %d", fleet, foreign, exited)
	}
	if want := "aiapi-dev-vllm-qwen3-6-27b-fp8-1"; pods[0].Name != want {
		t.Errorf("first pod is %q, want %q", pods[0].Name, want)
	}
	again := standin.DemoPods(14, "aiapi-dev-")
	for i := range pods {
		if pods[i].ID != again[i].ID || pods[i].Name != again[i].Name {
			t.Errorf("pod %d differs between calls: %s/%s and %s/%s", i, pods[i].ID, pods[i].Name, again[i].ID, again[i].Name)
		}
	}
}
