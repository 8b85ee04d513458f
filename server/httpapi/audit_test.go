package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/server/httpapi"
)

// flakyRefresher publishes refreshes through the store, or fails while told.
type flakyRefresher struct {
	store *fleet.Store
	fail  atomic.Bool
}

func (r *flakyRefresher) PublishRefresh(ctx context.Context) error {
	if r.fail.Load() {
		return errors.New("publishing refresh: connection refused")
	}
	return r.store.PublishRefresh(ctx)
}

// auditLogRecord is an audit record as the log line holds it.
type auditLogRecord struct {
	UserID  string  `json:"user_id"`
	Action  string  `json:"action"`
	Target  string  `json:"target"`
	Outcome string  `json:"outcome"`
	At      float64 `json:"at"`
}

// auditLogRecords returns every audit line of the log, in order.
func auditLogRecords(t *testing.T, env *testEnv) []auditLogRecord {
	t.Helper()
	var out []auditLogRecord
	sc := bufio.NewScanner(strings.NewReader(env.logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l struct {
			Msg string `json:"msg"`
			auditLogRecord
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		if l.Msg == "audit" {
			out = append(out, l.auditLogRecord)
		}
	}
	return out
}

// TestAdminActionsLeaveAuditRecords clears affinity and refreshes the
// registry through the HTTP API, with a bearer and a key pair, successfully
// and not: each action leaves who, what, when and outcome in the log and in
// the Valkey stream; a refused caller leaves nothing; the stream stays
// bounded.
func TestAdminActionsLeaveAuditRecords(t *testing.T) {
	const maxLen = 20
	now := time.Date(2026, 3, 4, 5, 6, 7, 891_000_000, time.UTC)
	var refresher *flakyRefresher
	env := newEnv(t, func(o *envOptions) {
		o.now = func() time.Time { return now }
		o.handlers = func(h *httpapi.Handlers, st *fleet.Store) {
			refresher = &flakyRefresher{store: st}
			h.Refresher = refresher
			h.Audit = httpapi.ValkeyAuditor{Store: st, MaxLen: maxLen}
		}
	})
	ctx := context.Background()
	if err := env.store.PinSession(ctx, "vllm", "usr_abc123", "m", "https://pod-1.proxy.runpod.net/v1"); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name   string
		header http.Header
		method string
		path   string
		body   string
		fail   bool
		status int
	}{
		{"bearer clears affinity", jsonHeader(), "POST", "/api/ai/v1/admin/affinity/clear", `{"user_id": "usr_abc123"}`, false, 200},
		{"key pair refreshes", botJSONHeader(), "POST", "/api/ai/v1/admin/registry/refresh", "", false, 200},
		{"refresh fails", jsonHeader(), "POST", "/api/ai/v1/admin/registry/refresh", "", true, 500},
		{"role-less caller is refused before acting", with(http.Header{"Authorization": {"Bearer " + rolelessToken}}, "Content-Type", "application/json"), "POST", "/api/ai/v1/admin/affinity/clear", `{"user_id": "usr_abc123"}`, false, 403},
		{"wrong token is refused before acting", with(http.Header{"Authorization": {"Bearer tok-wrong"}}, "Content-Type", "application/json"), "POST", "/api/ai/v1/admin/registry/refresh", "", false, 401},
	}
	for _, s := range steps {
		refresher.fail.Store(s.fail)
		resp, body := env.do(t, s.method, s.path, s.header, s.body)
		if resp.StatusCode != s.status {
			t.Fatalf("%s: status %d, want %d: %s", s.name, resp.StatusCode, s.status, body)
		}
	}
	refresher.fail.Store(false)

	wantLog := []auditLogRecord{
		{UserID: "usr_ops", Action: "affinity.clear", Target: "usr_abc123", Outcome: "cleared"},
		{UserID: "usr_bot", Action: "registry.refresh", Outcome: "triggered"},
		{UserID: "usr_ops", Action: "registry.refresh", Outcome: "failed"},
	}
	gotLog := auditLogRecords(t, env)
	if d := cmp.Diff(wantLog, gotLog, cmpopts.IgnoreFields(auditLogRecord{}, "At")); d != "" {
		t.Errorf("audit lines in the log (-want +got):\n%s", d)
	}
	for _, l := range gotLog {
		if math.Abs(l.At-float64(now.UnixNano())/1e9) > 0.001 {
			t.Errorf("audit line at %f, want the handler clock %v", l.At, now)
		}
	}

	gotStream, err := env.store.RecentAudit(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var wantStream []fleet.AuditEntry
	for i := len(wantLog) - 1; i >= 0; i-- { // newest first
		l := wantLog[i]
		wantStream = append(wantStream, fleet.AuditEntry{Time: now.Truncate(time.Millisecond), UserID: l.UserID, Action: l.Action, Target: l.Target, Outcome: l.Outcome})
	}
	if d := cmp.Diff(wantStream, gotStream, cmpopts.IgnoreFields(fleet.AuditEntry{}, "ID")); d != "" {
		t.Errorf("audit stream (-want +got):\n%s", d)
	}

	// The stream keeps only the last maxLen records, however many actions.
	const more = maxLen + 50
	for i := range more {
		if resp, body := env.do(t, "POST", "/api/ai/v1/admin/registry/refresh", botJSONHeader(), ""); resp.StatusCode != 200 {
			t.Fatalf("refresh %d: %d %s", i, resp.StatusCode, body)
		}
	}
	all, err := env.store.RecentAudit(ctx, 10*more)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != maxLen {
		t.Errorf("the stream holds %d records after %d actions, want the last %d", len(all), len(wantLog)+more, maxLen)
	}
	for _, e := range all {
		if e.UserID != "usr_bot" || e.Action != "registry.refresh" || e.Outcome != "triggered" {
			t.Errorf("record %+v is not one of the latest actions", e)
		}
	}
	if n := len(auditLogRecords(t, env)); n != len(wantLog)+more {
		t.Errorf("%d audit lines in the log, want %d", n, len(wantLog)+more)
	}
}

// TestAuditTrailOutageKeepsTheAction stops Valkey's audit write from
// mattering to the caller: a failing Auditor is logged, and the action's
// answer is unchanged.
func TestAuditTrailOutageKeepsTheAction(t *testing.T) {
	env := newEnv(t, func(o *envOptions) {
		o.handlers = func(h *httpapi.Handlers, _ *fleet.Store) {
			h.Audit = httpapi.ValkeyAuditor{Store: failingAppender{}, MaxLen: 10}
		}
	})
	resp, body := env.do(t, "POST", "/api/ai/v1/admin/registry/refresh", botJSONHeader(), "")
	if resp.StatusCode != 200 {
		t.Fatalf("refresh with a failing audit trail: %d %s", resp.StatusCode, body)
	}
	if !strings.Contains(env.logs.String(), `"msg":"writing audit record"`) {
		t.Errorf("the failed audit write was not logged:\n%s", env.logs.String())
	}
	if got := auditLogRecords(t, env); len(got) != 1 || got[0].Outcome != "triggered" {
		t.Errorf("audit lines = %+v, want the one refresh", got)
	}
}

type failingAppender struct{}

func (failingAppender) AppendAudit(context.Context, fleet.AuditEntry, int64) error {
	return errors.New("appending audit entry: connection refused")
}

func botJSONHeader() http.Header {
	return http.Header{"Api-Key": {botKey}, "Api-Secret": {botSecret}, "Content-Type": {"application/json"}}
}
