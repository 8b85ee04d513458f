package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/threatwinds/aiadmin/clients/aiadmin"
)

// row returns the line of a table that contains s, or fails the test.
func row(t *testing.T, table, s string) string {
	t.Helper()
	for line := range strings.SplitSeq(table, "\n") {
		if strings.Contains(line, s) {
			return line
		}
	}
	t.Fatalf("no row holds %q:\n%s", s, table)
	return ""
}

func TestServersDrainAndUndrain(t *testing.T) {
	var page aiadmin.ServerList
	decode(t, ok(t, "servers", "list", "--limit", "1", "-o", "json"), &page)
	url := page.Servers[0].Url

	if out := ok(t, "servers", "drain", url, "--reason", "driver upgrade", "--yes"); strings.TrimSpace(out) != "server "+url+": draining (no new sessions)" {
		t.Errorf("servers drain: %q", out)
	}
	list := ok(t, "servers", "list", "--limit", "1")
	if cells := regexp.MustCompile(`\s{2,}`).Split(row(t, list, url), -1); len(cells) < 4 || cells[3] != "yes" {
		t.Errorf("servers list does not show %s draining:\n%s", url, list)
	}
	if wide := row(t, ok(t, "servers", "list", "--limit", "1", "-o", "wide"), url); !strings.HasSuffix(strings.TrimSpace(wide), "driver upgrade") {
		t.Errorf("servers list -o wide does not end the row with the reason: %q", wide)
	}
	var state aiadmin.DrainState
	decode(t, ok(t, "servers", "drain", url, "--yes", "-o", "json"), &state)
	if !state.Draining || state.Url != url {
		t.Errorf("servers drain -o json: %+v", state)
	}

	decode(t, ok(t, "servers", "undrain", url, "--yes", "-o", "json"), &state)
	if state.Draining || state.Url != url {
		t.Errorf("servers undrain -o json: %+v", state)
	}
	if out := ok(t, "servers", "undrain", url, "--yes"); strings.TrimSpace(out) != "server "+url+": not draining (in rotation)" {
		t.Errorf("servers undrain: %q", out)
	}
	decode(t, ok(t, "servers", "list", "--limit", "1", "-o", "json"), &page)
	if page.Servers[0].Draining || page.Servers[0].DrainReason != "" {
		t.Errorf("after undrain: %+v", page.Servers[0])
	}
}

func TestAffinityGet(t *testing.T) {
	// The demo's seed always pins this user.
	const user = "usr_abc123"
	var us aiadmin.UserSessions
	decode(t, ok(t, "affinity", "get", user, "-o", "json"), &us)
	if us.UserId != user || len(us.Sessions) == 0 {
		t.Fatalf("affinity get -o json: %+v", us)
	}
	table := ok(t, "affinity", "get", user)
	wantColumns(t, table, "PROVIDER", "MODEL", "URL", "EXPIRES")
	if rows(table) != len(us.Sessions) || !strings.Contains(table, us.Sessions[0].Url) || !regexp.MustCompile(`in \d+[smh]`).MatchString(table) {
		t.Errorf("affinity get table (expiry relative, one row per session):\n%s", table)
	}

	decode(t, ok(t, "affinity", "get", "usr_nobody", "-o", "json"), &us)
	if us.UserId != "usr_nobody" || us.Sessions == nil || len(us.Sessions) != 0 {
		t.Errorf("a user without sessions: %+v, want an empty list", us)
	}
	if table := ok(t, "affinity", "get", "usr_nobody"); rows(table) != 0 {
		t.Errorf("a user without sessions has rows:\n%s", table)
	}
}

func TestAuditList(t *testing.T) {
	for _, user := range []string{"usr_audit_a", "usr_audit_b"} {
		ok(t, "affinity", "clear", user, "--yes")
	}
	var page aiadmin.AuditPage
	decode(t, ok(t, "audit", "list", "--limit", "1", "-o", "json"), &page)
	if len(page.Entries) != 1 || page.Entries[0].Target != "usr_audit_b" || page.Entries[0].Action != "affinity.clear" || page.Next == "" {
		t.Fatalf("audit list --limit 1 -o json: %+v", page)
	}
	var older aiadmin.AuditPage
	decode(t, ok(t, "audit", "list", "--limit", "1", "--before", page.Next, "-o", "json"), &older)
	if len(older.Entries) != 1 || older.Entries[0].Target != "usr_audit_a" {
		t.Errorf("audit list --before %s: %+v", page.Next, older)
	}

	r := ctl(t, asAdmin(), "audit", "list", "--limit", "2")
	if r.code != 0 {
		t.Fatalf("audit list: exit %d, %s", r.code, r.stderr)
	}
	wantColumns(t, r.stdout, "AT", "USER", "ACTION", "TARGET", "OUTCOME")
	if rows(r.stdout) != 2 || !strings.Contains(row(t, r.stdout, "usr_audit_b"), "usr_admin") || !regexp.MustCompile(`\d+[smhd] ago`).MatchString(r.stdout) {
		t.Errorf("audit list table (times relative, who did it):\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "--before ") {
		t.Errorf("audit list with more entries says nothing of --before: %q", r.stderr)
	}
	wantColumns(t, ok(t, "audit", "list", "-o", "wide"), "AT", "USER", "ACTION", "TARGET", "OUTCOME", "ID", "TIME")

	var all []aiadmin.AuditEntry
	decode(t, ok(t, "audit", "list", "--all", "-o", "json"), &all)
	seen := map[string]bool{}
	for i, e := range all {
		if seen[e.Id] {
			t.Errorf("--all gave entry %s twice", e.Id)
		}
		seen[e.Id] = true
		if i > 0 && e.At.After(all[i-1].At) {
			t.Errorf("--all is not newest first at %d: %v after %v", i, e.At, all[i-1].At)
		}
	}
	if !seen[page.Entries[0].Id] || !seen[older.Entries[0].Id] {
		t.Errorf("--all lacks the entries the pages gave")
	}
	if got := rows(ok(t, "audit", "list", "--all")); got != len(all) {
		t.Errorf("--all table has %d rows, the JSON %d entries", got, len(all))
	}
}

func TestFleetSummary(t *testing.T) {
	var s aiadmin.FleetSummary
	decode(t, ok(t, "fleet", "summary", "-o", "json"), &s)
	var pods aiadmin.PodList
	decode(t, ok(t, "pods", "list", "--limit", "1", "-o", "json"), &pods)
	if s.Pods.Total != pods.Total || len(s.Providers) != 3 || s.Idle.IdleAfterMinutes != 15 {
		t.Errorf("fleet summary -o json: %+v; the fleet has %d pods", s, pods.Total)
	}
	table := ok(t, "fleet", "summary")
	wantColumns(t, table, "PODS", "RUNNING", "COST/HR", "IDLE", "IDLE COST/HR", "INFLIGHT", "REQUESTS (5M)")
	totals, providers, found := strings.Cut(table, "\n\n")
	if !found || rows(totals) != 1 {
		t.Fatalf("fleet summary: want the totals, a blank line, then the providers:\n%s", table)
	}
	wantColumns(t, providers, "PROVIDER", "SERVERS", "HEALTHY", "UNHEALTHY", "DRAINING")
	for _, p := range []string{"vllm", "sglang", "speaches"} {
		row(t, providers, p)
	}
	if wide := ok(t, "fleet", "summary", "-o", "wide"); !strings.Contains(wide, "RUNNING=") || !strings.Contains(wide, "15m") {
		t.Errorf("fleet summary -o wide lacks the counts by status or the idle time:\n%s", wide)
	}
}
