package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/threatwinds/aiadmin/clients/aiadmin"
	"github.com/threatwinds/aiadmin/clients/aiadmin/aiadmintest"
)

var summary = regexp.MustCompile(`(?m)^(\d+) passed, (\d+) failed`)

// counts reads the summary line of a contract run.
func counts(t *testing.T, out string) (passed, failed int) {
	t.Helper()
	m := summary.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary line in:\n%s", out)
	}
	passed, _ = strconv.Atoi(m[1])
	failed, _ = strconv.Atoi(m[2])
	return passed, failed
}

func TestContractPassesAgainstTheDemo(t *testing.T) {
	r := ctl(t, asAdmin(), "contract", "--writes")
	passed, failed := counts(t, r.stdout)
	if r.code != 0 || failed != 0 {
		t.Fatalf("exit %d, %d failed:\n%s\n%s", r.code, failed, r.stdout, r.stderr)
	}
	// Every operation of the spec has a row, with a status, a request and
	// a verdict.
	for _, op := range []string{"ListPods", "GetPod", "ListServers", "GetAffinityMetrics", "ClearAffinity", "GetRegistry", "RefreshRegistry", "GetPodDemand"} {
		if !regexp.MustCompile(`(?m)^` + op + `\s+(GET|POST) /\S+\s+\d{3}\s+pass$`).MatchString(r.stdout) {
			t.Errorf("no passing row of %s", op)
		}
	}
	if !strings.Contains(r.stdout, "RestartPod") || !strings.Contains(r.stdout, "skip: runs only with --restart-pod ID") {
		t.Errorf("the restart is not listed as skipped:\n%s", r.stdout)
	}
	if passed < 60 {
		t.Errorf("only %d checks passed", passed)
	}

	var results []struct {
		Operation, Request, Verdict, Failure string
		Status                               int
	}
	decode(t, ok(t, "contract", "-o", "json"), &results)
	if len(results) < 60 || results[0].Verdict != "pass" || results[0].Status != 200 {
		t.Errorf("contract -o json: %d results, first %+v", len(results), results[0])
	}
}

func TestContractRestartsOnlyThePodNamed(t *testing.T) {
	var page aiadmin.PodList
	decode(t, ok(t, "pods", "list", "--limit", "1", "-o", "json"), &page)
	id := page.Pods[0].Id
	r := ctl(t, asAdmin(), "contract", "--restart-pod", id)
	if _, failed := counts(t, r.stdout); r.code != 0 || failed != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stdout)
	}
	if !regexp.MustCompile(`(?m)^RestartPod\s+POST /pods/` + id + `/restart\s+200\s+pass$`).MatchString(r.stdout) {
		t.Errorf("no passing restart of %s:\n%s", id, r.stdout)
	}
	if !strings.Contains(r.stdout, "skip: runs only with --writes") {
		t.Errorf("the other writes ran without --writes:\n%s", r.stdout)
	}
}

// brokenProxy forwards to the demo server but breaks the contract twice:
// ListServers' total becomes a string, and GetPod's errors lose x-error-id.
func brokenProxy(t *testing.T) string {
	t.Helper()
	target, err := url.Parse(demo.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		path := resp.Request.URL.Path
		switch {
		case path == aiadmin.APIPrefix+"/servers" && resp.StatusCode == http.StatusOK:
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			var doc map[string]any
			if err := json.Unmarshal(body, &doc); err != nil {
				return err
			}
			doc["total"] = fmt.Sprint(doc["total"])
			if body, err = json.Marshal(doc); err != nil {
				return err
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			resp.ContentLength = int64(len(body))
			resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		case resp.Request.Method == http.MethodGet && strings.HasPrefix(path, aiadmin.APIPrefix+"/pods/") && resp.StatusCode >= 400:
			resp.Header.Del("x-error-id")
		}
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestContractFailsAgainstABrokenServer(t *testing.T) {
	r := ctl(t, []string{"AIADMIN_URL=" + brokenProxy(t), "AIADMIN_TOKEN=" + demo.Creds.AdminToken}, "contract")
	passed, failed := counts(t, r.stdout)
	if r.code != 6 || failed == 0 || passed == 0 {
		t.Fatalf("exit %d, %d passed, %d failed; want exit 6 with failures:\n%s", r.code, passed, failed, r.stdout)
	}
	// The wrong type: the operation, the JSON path and what the spec expects.
	if !regexp.MustCompile(`(?m)^ListServers\s+GET /servers\s+200\s+fail: \$\.total: the spec expects integer, got a string$`).MatchString(r.stdout) {
		t.Errorf("no failure naming ListServers and $.total:\n%s", r.stdout)
	}
	// The missing header, on every GetPod error and nowhere else.
	missing := regexp.MustCompile(`(?m)^(\S+)\s.*fail: header x-error-id: missing; the spec requires it on every error answer$`).FindAllStringSubmatch(r.stdout, -1)
	if len(missing) == 0 {
		t.Errorf("no failure naming the missing x-error-id:\n%s", r.stdout)
	}
	for _, m := range missing {
		if m[1] != "GetPod" {
			t.Errorf("x-error-id reported missing for %s", m[1])
		}
	}
	if !strings.Contains(r.stderr, "GetPod") || !strings.Contains(r.stderr, "ListServers") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("stderr %q does not name the failed operations in one line", r.stderr)
	}
}

func TestContractOfAnUnreachableServerExits7(t *testing.T) {
	closed, err := aiadmintest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	r := ctl(t, []string{"AIADMIN_URL=http://" + closed}, "contract")
	if r.code != 7 || !strings.Contains(r.stderr, "could not be reached") {
		t.Errorf("exit %d, stderr %q; want 7", r.code, r.stderr)
	}
}
