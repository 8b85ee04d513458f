package aiadmin_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/threatwinds/aiadmin/clients/aiadmin"
)

// auditEntries is how many entries TestAuditIteratorSeesEachEntryOnce
// writes: more than two full pages.
const auditEntries = 450

func TestAuditIteratorSeesEachEntryOnceNewestFirst(t *testing.T) {
	admin := newClient(t, big.URL, aiadmin.WithToken(big.Creds.AdminToken))
	for i := range auditEntries {
		if _, err := admin.ClearAffinity(t.Context(), fmt.Sprintf("usr_audit_%03d", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	ct := &countingTransport{}
	c := newClient(t, big.URL, aiadmin.WithToken(big.Creds.AdminToken), aiadmin.WithHTTPClient(&http.Client{Transport: ct}))
	seen := map[string]int{}
	var targets []string
	total := 0
	for e, err := range c.Audit(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		total++
		seen[e.Id]++
		if strings.HasPrefix(e.Target, "usr_audit_") {
			targets = append(targets, e.Target)
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("entry %s seen %d times", id, n)
		}
	}
	if len(targets) != auditEntries {
		t.Fatalf("the walk saw %d of the %d clears", len(targets), auditEntries)
	}
	// Newest first: the last clear comes first.
	for i, target := range targets {
		if want := fmt.Sprintf("usr_audit_%03d", auditEntries-1-i); target != want {
			t.Fatalf("entry %d is the clear of %s, want %s", i, target, want)
		}
	}
	if want := int64((total + aiadmin.AuditPageSize - 1) / aiadmin.AuditPageSize); ct.n.Load() != want {
		t.Errorf("the walk of %d entries sent %d requests, want %d pages", total, ct.n.Load(), want)
	}

	ct.n.Store(0)
	n := 0
	for _, err := range c.Audit(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == aiadmin.AuditPageSize+1 {
			break
		}
	}
	if ct.n.Load() != 2 {
		t.Errorf("breaking at the second page's first entry sent %d requests, want 2", ct.n.Load())
	}
}

func TestAuditIteratorStopsWhenTheServerRepeatsItsBound(t *testing.T) {
	page := answer{status: 200, body: `{"entries":[{"id":"1-0","at":"2026-01-01T00:00:00Z","user_id":"u","action":"registry.refresh","target":"","outcome":"ok"}],"next":"1-0"}`}
	s := newScripted(t, page)
	c := newClient(t, s.srv.URL)
	var errs []error
	n := 0
	for _, err := range c.Audit(t.Context()) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "repeats") || s.requests() != 2 {
		t.Errorf("a repeated bound gave errors %v after %d requests, want one error after 2", errs, s.requests())
	}
	if n != 2 {
		t.Errorf("yielded %d entries before stopping, want the 2 the pages held", n)
	}
}

func TestDrainingAURLInNoPoolIsNotFound(t *testing.T) {
	c := newClient(t, demo.URL, aiadmin.WithToken(demo.Creds.AdminToken))
	_, err := c.DrainServer(t.Context(), "https://nowhere.invalid/v1", "")
	if !aiadmin.IsNotFound(err) {
		t.Errorf("drain of a URL in no pool: %v, want a 404", err)
	}
	_, err = c.UndrainServer(t.Context(), "https://nowhere.invalid/v1")
	if !aiadmin.IsNotFound(err) {
		t.Errorf("undrain of a URL in no pool: %v, want a 404", err)
	}
}
