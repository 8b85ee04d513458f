package fleet_test

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/valkey-io/valkey-go"
)

// TestAuditTrail runs the audit stream on every backend: a real standalone
// server, a three-master cluster and the embedded store.
func TestAuditTrail(t *testing.T) {
	runOnBackends(t, []suite{
		{"RoundTripNewestFirst", testAuditRoundTrip},
		{"BoundedToMaxLen", testAuditBounded},
		{"BoundedUnderConcurrentWriters", testAuditConcurrentWriters},
		{"ZeroTimeTakesStoreClock", testAuditStoreClock},
		{"Validation", testAuditValidation},
		{"MalformedEntry", testAuditMalformedEntry},
		{"Paging", testAuditPaging},
		{"PageValidation", testAuditPageValidation},
	})
}

// ignoreID compares entries without the server-assigned stream id.
var ignoreID = cmpopts.IgnoreFields(fleet.AuditEntry{}, "ID")

func testAuditRoundTrip(t *testing.T, b backend) {
	ctx := testContext(t)
	s := fleet.New(b.client, fleet.Options{})
	empty, err := s.RecentAudit(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if empty == nil || len(empty) != 0 {
		t.Errorf("RecentAudit of no stream = %#v, want an empty slice", empty)
	}

	entries := []fleet.AuditEntry{
		{Time: t0, UserID: "usr_ops", Action: "affinity.clear", Target: "usr_abc123", Outcome: "cleared"},
		{Time: t0.Add(1500 * time.Millisecond), UserID: "usr_bot", Action: "registry.refresh", Outcome: "triggered"},
		// Anything a caller may send survives: braces, colons, unicode, empties.
		{Time: t0.Add(time.Hour), UserID: "", Action: "pod.restart", Target: "{x}:y ü \x00z", Outcome: "failed at stop"},
	}
	for _, e := range entries {
		if err := s.AppendAudit(ctx, e, 100); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.RecentAudit(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []fleet.AuditEntry{entries[2], entries[1], entries[0]}
	for i := range want {
		want[i].Time = want[i].Time.UTC()
	}
	if d := cmp.Diff(want, got, ignoreID); d != "" {
		t.Errorf("RecentAudit (-want +got):\n%s", d)
	}
	for i, e := range got {
		if e.ID == "" || (i > 0 && !streamIDBefore(e.ID, got[i-1].ID)) {
			t.Errorf("entry %d has id %q after %q: want distinct ids, newest first", i, e.ID, got[i-1].ID)
		}
	}
	two, err := s.RecentAudit(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want[:2], two, ignoreID); d != "" {
		t.Errorf("RecentAudit(2) (-want +got):\n%s", d)
	}
}

// streamIDBefore reports whether stream id a sorts before b ("ms-seq").
func streamIDBefore(a, b string) bool {
	var am, as, bm, bs uint64
	if _, err := fmt.Sscanf(a, "%d-%d", &am, &as); err != nil {
		return false
	}
	if _, err := fmt.Sscanf(b, "%d-%d", &bm, &bs); err != nil {
		return false
	}
	return am < bm || am == bm && as < bs
}

func testAuditBounded(t *testing.T, b backend) {
	ctx := testContext(t)
	s := fleet.New(b.client, fleet.Options{})
	const maxLen, written = 25, 75
	for i := range written {
		e := fleet.AuditEntry{Time: t0.Add(time.Duration(i) * time.Second), UserID: "usr_ops", Action: "registry.refresh", Target: fmt.Sprint(i), Outcome: "triggered"}
		if err := s.AppendAudit(ctx, e, maxLen); err != nil {
			t.Fatal(err)
		}
	}
	if n := xlen(t, b); n != maxLen {
		t.Errorf("XLEN = %d after %d appends, want exactly %d", n, written, maxLen)
	}
	got, err := s.RecentAudit(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != maxLen {
		t.Fatalf("RecentAudit read %d entries, want the last %d", len(got), maxLen)
	}
	if got[0].Target != fmt.Sprint(written-1) || got[maxLen-1].Target != fmt.Sprint(written-maxLen) {
		t.Errorf("kept targets %s..%s, want %d..%d (the most recent)", got[maxLen-1].Target, got[0].Target, written-maxLen, written-1)
	}
}

func testAuditConcurrentWriters(t *testing.T, b backend) {
	ctx := testContext(t)
	// Several replicas append at once, each with its own client.
	const replicas, each, maxLen = 4, 30, 50
	var wg sync.WaitGroup
	errs := make(chan error, replicas*each)
	for r := range replicas {
		s := fleet.New(connect(t, b.opts), fleet.Options{})
		wg.Go(func() {
			for i := range each {
				errs <- s.AppendAudit(ctx, fleet.AuditEntry{UserID: fmt.Sprintf("usr_%d", r), Action: "affinity.clear", Target: fmt.Sprint(i), Outcome: "cleared"}, maxLen)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := xlen(t, b); n != maxLen {
		t.Errorf("XLEN = %d after %d concurrent appends, want %d", n, replicas*each, maxLen)
	}
	got, err := fleet.New(b.client, fleet.Options{}).RecentAudit(ctx, maxLen)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range got {
		seen[e.ID] = true
	}
	if len(seen) != maxLen {
		t.Errorf("%d distinct ids among %d entries", len(seen), len(got))
	}
}

func testAuditStoreClock(t *testing.T, b backend) {
	ctx := testContext(t)
	clock := newFakeClock()
	clock.Advance(42 * time.Millisecond)
	s := fleet.New(b.client, fleet.Options{Now: clock.Now})
	if err := s.AppendAudit(ctx, fleet.AuditEntry{UserID: "usr_ops", Action: "registry.refresh", Outcome: "triggered"}, 10); err != nil {
		t.Fatal(err)
	}
	got, err := s.RecentAudit(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].Time.Equal(clock.Now()) {
		t.Errorf("entry time = %v, want the store clock %v", got, clock.Now())
	}
}

func testAuditValidation(t *testing.T, b backend) {
	ctx := testContext(t)
	s := fleet.New(b.client, fleet.Options{})
	if err := s.AppendAudit(ctx, fleet.AuditEntry{UserID: "u"}, 10); !errors.Is(err, fleet.ErrEmptyAuditAction) {
		t.Errorf("append without action: err = %v, want %v", err, fleet.ErrEmptyAuditAction)
	}
	for _, n := range []int64{0, -1} {
		if err := s.AppendAudit(ctx, fleet.AuditEntry{Action: "a"}, n); !errors.Is(err, fleet.ErrInvalidAuditLen) {
			t.Errorf("append with max length %d: err = %v, want %v", n, err, fleet.ErrInvalidAuditLen)
		}
		if _, err := s.RecentAudit(ctx, n); !errors.Is(err, fleet.ErrInvalidAuditLen) {
			t.Errorf("read of %d entries: err = %v, want %v", n, err, fleet.ErrInvalidAuditLen)
		}
	}
	if exists(t, b.client, fleet.AuditStreamKey()) {
		t.Error("refused appends created the stream")
	}
}

func testAuditMalformedEntry(t *testing.T, b backend) {
	ctx := testContext(t)
	s := fleet.New(b.client, fleet.Options{})
	// Another writer that breaks the schema is reported, not misread.
	if err := b.client.Do(ctx, b.client.B().Xadd().Key(fleet.AuditStreamKey()).Id("*").FieldValue().FieldValue("at_ms", "yesterday").FieldValue("action", "x").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if got, err := s.RecentAudit(ctx, 5); err == nil {
		t.Errorf("RecentAudit of a malformed entry = %+v, want an error", got)
	}
}

func xlen(t *testing.T, b backend) int64 {
	t.Helper()
	n, err := b.client.Do(testContext(t), b.client.B().Xlen().Key(fleet.AuditStreamKey()).Build()).AsInt64()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// testAuditPaging appends 1,000 entries and pages through them at several
// limits, following next: every entry comes exactly once, newest first, and
// the last page says so with an empty next.
func testAuditPaging(t *testing.T, b backend) {
	ctx := testContext(t)
	s := fleet.New(b.client, fleet.Options{})
	const n = 1000
	cmds := make(valkey.Commands, 0, n)
	for i := range n {
		// One pipeline of the same XADD AppendAudit sends, to keep the test
		// quick on three backends.
		cmds = append(cmds, b.client.B().Xadd().Key(fleet.AuditStreamKey()).Id("*").FieldValue().
			FieldValue("at_ms", fmt.Sprint(t0.UnixMilli()+int64(i))).FieldValue("user_id", "usr_ops").
			FieldValue("action", "registry.refresh").FieldValue("target", fmt.Sprint(i)).FieldValue("outcome", "triggered").Build())
	}
	for _, r := range b.client.DoMulti(ctx, cmds...) {
		if err := r.Error(); err != nil {
			t.Fatal(err)
		}
	}
	for _, limit := range []int64{1, 7, 100, 999, 1000, 1001} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			var got []fleet.AuditEntry
			pages := 0
			before := ""
			for {
				page, next, err := s.AuditPage(ctx, before, limit)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				if int64(len(page)) > limit || (next != "" && int64(len(page)) != limit) {
					t.Fatalf("page %d holds %d entries (limit %d), next %q", pages, len(page), limit, next)
				}
				got = append(got, page...)
				if next == "" {
					break
				}
				if next != page[len(page)-1].ID {
					t.Fatalf("next = %q, want the last id of the page %q", next, page[len(page)-1].ID)
				}
				if pages > n {
					t.Fatal("paging does not end")
				}
				before = next
			}
			if wantPages := (n + limit - 1) / limit; int64(pages) != wantPages {
				t.Errorf("%d pages, want %d", pages, wantPages)
			}
			if len(got) != n {
				t.Fatalf("read %d entries, want each of %d once", len(got), n)
			}
			for i, e := range got {
				if want := fmt.Sprint(n - 1 - i); e.Target != want || e.ID == "" {
					t.Fatalf("entry %d: target %q (id %q), want %s: newest first, each once", i, e.Target, e.ID, want)
				}
			}
		})
	}
}

func testAuditPageValidation(t *testing.T, b backend) {
	ctx := testContext(t)
	s := fleet.New(b.client, fleet.Options{})
	for i := range 3 {
		if err := s.AppendAudit(ctx, fleet.AuditEntry{Action: "pod.restart", Target: fmt.Sprint(i)}, 2); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.RecentAudit(ctx, 10)
	if err != nil || len(all) != 2 {
		t.Fatalf("RecentAudit = %v, %v; want the 2 kept entries", all, err)
	}
	for _, bad := range []string{"abc", "1-", "-1", "1", "1-2-3", "+1-2", "1-+2", "-", "18446744073709551616-0", " 1-2"} {
		if _, _, err := s.AuditPage(ctx, bad, 10); !errors.Is(err, fleet.ErrInvalidAuditID) {
			t.Errorf("AuditPage(before %q): err = %v, want %v", bad, err, fleet.ErrInvalidAuditID)
		}
	}
	for _, limit := range []int64{0, -1, math.MaxInt64} {
		if _, _, err := s.AuditPage(ctx, "", limit); !errors.Is(err, fleet.ErrInvalidAuditLen) {
			t.Errorf("AuditPage(limit %d): err = %v, want %v", limit, err, fleet.ErrInvalidAuditLen)
		}
	}
	bounds := []struct {
		name    string
		before  string
		targets []string
	}{
		{"from the newest", "", []string{"2", "1"}},
		{"before the newest", all[0].ID, []string{"1"}},
		{"before the oldest kept", all[1].ID, []string{}},
		{"before an id past every entry", "18446744073709551615-18446744073709551615", []string{"2", "1"}},
		{"before the least id", "0-0", []string{}},
		{"before the least id, written long", "000-00", []string{}},
	}
	for _, bc := range bounds {
		page, next, err := s.AuditPage(ctx, bc.before, 10)
		if err != nil {
			t.Fatalf("%s: %v", bc.name, err)
		}
		targets := []string{}
		for _, e := range page {
			targets = append(targets, e.Target)
		}
		if diff := cmp.Diff(bc.targets, targets); diff != "" || next != "" {
			t.Errorf("%s: next %q, targets (-want +got):\n%s", bc.name, next, diff)
		}
	}
}

func TestValidAuditID(t *testing.T) {
	for id, want := range map[string]bool{
		"1700000000000-0": true, "0-0": true, "18446744073709551615-18446744073709551615": true,
		"": false, "1700000000000": false, "1700000000000-": false, "-0": false, "a-0": false,
		"1-0x1": false, "1_0-0": false, "+1-0": false, "1--1": false, "18446744073709551616-0": false,
	} {
		if got := fleet.ValidAuditID(id); got != want {
			t.Errorf("ValidAuditID(%q) = %v, want %v", id, got, want)
		}
	}
}
