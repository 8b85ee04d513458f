package fleet_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/threatwinds/aiadmin/clients/fleet"
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
