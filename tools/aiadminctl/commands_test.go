package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/threatwinds/aiadmin/clients/aiadmin"
)

// decode parses a command's JSON output into v, failing the test if it is
// not exactly one JSON document.
func decode(t *testing.T, out string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("output is not the expected JSON: %v\n%s", err, out)
	}
	if dec.More() {
		t.Fatalf("output holds more than one JSON document:\n%s", out)
	}
}

// header returns a table's first line, its column names separated by runs
// of spaces.
func header(t *testing.T, out string) []string {
	t.Helper()
	line, _, _ := strings.Cut(out, "\n")
	return regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1)
}

func wantColumns(t *testing.T, out string, want ...string) {
	t.Helper()
	got := strings.Join(header(t, out), "|")
	if !strings.HasPrefix(got, strings.Join(want, "|")) {
		t.Errorf("columns %q, want them to start with %q\n%s", got, want, out)
	}
}

// rows counts a table's lines below its header.
func rows(out string) int {
	return strings.Count(strings.TrimRight(out, "\n"), "\n")
}

func TestPods(t *testing.T) {
	var page aiadmin.PodList
	decode(t, ok(t, "pods", "list", "-o", "json"), &page)
	if page.Total == 0 || len(page.Pods) == 0 || page.Page != 1 || page.Limit != 10 {
		t.Fatalf("pods list -o json: %+v", page)
	}
	table := ok(t, "pods", "list")
	wantColumns(t, table, "NAME", "ID", "STATUS", "HEALTHY", "DRAINING", "INFLIGHT", "LAST USE", "COST/HR")
	if rows(table) != len(page.Pods) {
		t.Errorf("the table has %d rows, the page %d pods", rows(table), len(page.Pods))
	}
	// Times are relative in tables, never epoch milliseconds.
	if !regexp.MustCompile(`\d+[smhd] ago|never`).MatchString(table) || regexp.MustCompile(`\d{13}`).MatchString(table) {
		t.Errorf("LAST USE is not relative:\n%s", table)
	}
	wide := ok(t, "pods", "list", "-o", "wide")
	wantColumns(t, wide, "NAME", "ID", "STATUS", "HEALTHY", "DRAINING", "INFLIGHT", "LAST USE", "COST/HR", "URL", "KIND", "MODELS")
	if !strings.Contains(wide, page.Pods[0].Url) {
		t.Errorf("pods list -o wide lacks the pod's URL %s:\n%s", page.Pods[0].Url, wide)
	}

	var all []aiadmin.Pod
	decode(t, ok(t, "pods", "list", "--all", "-o", "json"), &all)
	if int64(len(all)) != page.Total {
		t.Errorf("--all gave %d pods, the total is %d", len(all), page.Total)
	}
	if got := rows(ok(t, "pods", "list", "--all")); int64(got) != page.Total {
		t.Errorf("--all table has %d rows, the total is %d", got, page.Total)
	}

	id := all[len(all)-1].Id
	var pod aiadmin.PodDetail
	decode(t, ok(t, "pods", "get", id, "-o", "json"), &pod)
	if pod.Id != id {
		t.Errorf("pods get %s gave pod %s", id, pod.Id)
	}
	get := ok(t, "pods", "get", id)
	wantColumns(t, get, "NAME", "ID", "STATUS", "HEALTHY", "DRAINING", "INFLIGHT", "LAST USE", "COST/HR", "STARTED")
	if wide := ok(t, "pods", "get", id, "-o", "wide"); !strings.Contains(wide, pod.Url) {
		t.Errorf("pods get -o wide lacks the pod's URL %s:\n%s", pod.Url, wide)
	}
	if !strings.Contains(get, id) || rows(get) != 1 {
		t.Errorf("pods get table:\n%s", get)
	}

	if out := ok(t, "pods", "restart", id, "--yes"); strings.TrimSpace(out) != "pod "+id+": restart initiated" {
		t.Errorf("pods restart: %q", out)
	}
	var res aiadmin.RestartResult
	decode(t, ok(t, "pods", "restart", id, "--yes", "-o", "json"), &res)
	if res.Status != "initiated" || res.PodId != id {
		t.Errorf("pods restart -o json: %+v", res)
	}
}

func TestServers(t *testing.T) {
	var page aiadmin.ServerList
	decode(t, ok(t, "servers", "list", "--limit", "5", "-o", "json"), &page)
	if len(page.Servers) != 5 || page.Total <= 5 {
		t.Fatalf("servers list --limit 5 -o json: %d servers of %d", len(page.Servers), page.Total)
	}
	table := ok(t, "servers", "list", "--limit", "5", "--page", "2")
	wantColumns(t, table, "PROVIDER", "URL", "HEALTHY", "DRAINING", "FAILURES", "LAST CHECK")
	if rows(table) != 5 || !regexp.MustCompile(`\d+[smhd] ago|never`).MatchString(table) {
		t.Errorf("servers list page 2:\n%s", table)
	}
	wantColumns(t, ok(t, "servers", "list", "-o", "wide"), "PROVIDER", "URL", "HEALTHY", "DRAINING", "FAILURES", "LAST CHECK", "SUCCESSES", "LAST FAILURE", "MODELS", "DRAIN REASON")
	var all []aiadmin.Server
	decode(t, ok(t, "servers", "list", "--all", "-o", "json"), &all)
	if int64(len(all)) != page.Total {
		t.Errorf("--all gave %d servers, the total is %d", len(all), page.Total)
	}
}

func TestAffinity(t *testing.T) {
	var m aiadmin.AffinityMetrics
	decode(t, ok(t, "affinity", "metrics", "-o", "json"), &m)
	if len(m.Providers) != 3 {
		t.Errorf("affinity metrics -o json: %+v", m)
	}
	table := ok(t, "affinity", "metrics")
	wantColumns(t, table, "PROVIDER", "HITS", "MISSES", "FALLBACKS", "HIT RATE", "TTL")
	for _, p := range []string{"vllm", "sglang", "speaches"} {
		if !strings.Contains(table, p) {
			t.Errorf("no row for %s:\n%s", p, table)
		}
	}

	out := ok(t, "affinity", "clear", "usr_nobody", "--yes")
	if strings.TrimSpace(out) != "cleared 0 affinity entries of user usr_nobody for every model" {
		t.Errorf("affinity clear: %q", out)
	}
	var res aiadmin.ClearAffinityResult
	decode(t, ok(t, "affinity", "clear", "usr_nobody", "--model", "m1", "--yes", "-o", "json"), &res)
	if res.UserId != "usr_nobody" || res.ModelId == nil || *res.ModelId != "m1" || res.Cleared != 0 {
		t.Errorf("affinity clear -o json: %+v", res)
	}
}

func TestRegistry(t *testing.T) {
	var servers aiadmin.ServerList
	decode(t, ok(t, "servers", "list", "--limit", "1", "-o", "json"), &servers)
	model := servers.Servers[0].Models[0]

	var reg aiadmin.Registry
	decode(t, ok(t, "registry", "get", model, "--limit", "3", "-o", "json"), &reg)
	if reg.ModelId != model || len(reg.Urls) == 0 {
		t.Fatalf("registry get -o json: %+v", reg)
	}
	table := ok(t, "registry", "get", model, "--limit", "3")
	wantColumns(t, table, "URL")
	if rows(table) != len(reg.Urls) || !strings.Contains(table, reg.Urls[0]) {
		t.Errorf("registry get table:\n%s", table)
	}
	var all []string
	decode(t, ok(t, "registry", "get", model, "--all", "-o", "json"), &all)
	if int64(len(all)) != reg.Total {
		t.Errorf("--all gave %d URLs, the total is %d", len(all), reg.Total)
	}

	if out := ok(t, "registry", "refresh"); strings.TrimSpace(out) != "registry refresh triggered" {
		t.Errorf("registry refresh: %q", out)
	}
	var res aiadmin.RefreshResult
	decode(t, ok(t, "registry", "refresh", "-o", "json"), &res)
	if res.Status != "triggered" {
		t.Errorf("registry refresh -o json: %+v", res)
	}
}

func TestDemand(t *testing.T) {
	var page aiadmin.ServerList
	decode(t, ok(t, "servers", "list", "--limit", "1", "-o", "json"), &page)
	url := page.Servers[0].Url

	var d aiadmin.PodDemand
	decode(t, ok(t, "demand", "get", url, "-o", "json"), &d)
	if d.Url != url {
		t.Errorf("demand get -o json: %+v", d)
	}
	table := ok(t, "demand", "get", url)
	wantColumns(t, table, "URL", "INFLIGHT", "LAST USE", "IDLE")
	if !strings.Contains(table, url) {
		t.Errorf("demand get table:\n%s", table)
	}
	if len(d.Models) > 0 && !strings.Contains(table, "REQUESTS (5M)") {
		t.Errorf("no per-model table:\n%s", table)
	}
}

func TestDemandOfAPodIDIsTheDemandOfItsURL(t *testing.T) {
	var pods aiadmin.PodList
	decode(t, ok(t, "pods", "list", "--limit", "100", "-o", "json"), &pods)
	var pod aiadmin.Pod
	for _, p := range pods.Pods {
		if p.Healthy != nil {
			pod = p
			break
		}
	}
	if pod.Id == "" {
		t.Fatalf("no demo pod is in a server pool: %+v", pods.Pods)
	}
	var detail aiadmin.PodDetail
	decode(t, ok(t, "pods", "get", pod.Id, "-o", "json"), &detail)
	var byID, byURL aiadmin.PodDemand
	decode(t, ok(t, "demand", "get", pod.Id, "-o", "json"), &byID)
	decode(t, ok(t, "demand", "get", detail.Url, "-o", "json"), &byURL)
	if byID.Url != detail.Url || byURL.Url != detail.Url {
		t.Errorf("demand get %s is of %s, demand get of the URL pods get shows is of %s; want both %s", pod.Id, byID.Url, byURL.Url, detail.Url)
	}
	if table := ok(t, "demand", "get", pod.Id); !strings.Contains(table, detail.Url) {
		t.Errorf("demand get %s table lacks the pod's URL %s:\n%s", pod.Id, detail.Url, table)
	}
}

func TestCompletionAndHelp(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		if out := ok(t, "completion", shell); !strings.Contains(out, "aiadminctl") || len(out) < 500 {
			t.Errorf("completion %s printed %d bytes", shell, len(out))
		}
	}
	var page aiadmin.PodList
	decode(t, ok(t, "pods", "list", "--limit", "1", "-o", "json"), &page)
	// Cobra's completion entry point reports its directive on stderr.
	if r := ctl(t, asAdmin(), "__complete", "pods", "restart", ""); r.code != 0 || !strings.Contains(r.stdout, page.Pods[0].Id+"\t"+page.Pods[0].Name) {
		t.Errorf("pod ids do not complete: exit %d\n%s", r.code, r.stdout)
	}
	help := ok(t, "--help")
	for _, want := range []string{"Exit codes:", "0  success", "2  usage error", "3  authentication or permission refused (401, 403)",
		"4  not found (404)", "5  any other refusal", "6  server or upstream failure", "7  the server could not be reached",
		"8  pods cycle: a wait timed out (the pod is left drained)", "130  pods cycle: interrupted",
		"AIADMIN_URL", "AIADMIN_TOKEN", "AIADMIN_API_KEY", "AIADMIN_API_SECRET", "Prefer the variables"} {
		if !strings.Contains(help, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
}
