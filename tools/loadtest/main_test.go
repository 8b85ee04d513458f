package main

import (
	"bytes"
	"encoding/json"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/tools/internal/loadrun"
)

// TestMain lets the test binary stand in for the load tool when a run
// starts its baseline process: the run executes itself with "baseline".
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "baseline" {
		if err := baselineMain(os.Args[2:]); err != nil {
			log.Fatal(err)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// buildAiadmin builds the aiadmin binary the run measures.
func buildAiadmin(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "aiadmin")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/threatwinds/aiadmin/server/cmd/aiadmin")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building aiadmin (the go tool must be on PATH): %v\n%s", err, out)
	}
	return bin
}

// TestLoadRunOfASmallFleet runs the whole tool against a small fleet for a
// fraction of a second per side: every operation is measured on both sides
// with no failed request, the table names every operation and its targets,
// and the markdown keeps what is written around its run.
func TestLoadRunOfASmallFleet(t *testing.T) {
	bin := buildAiadmin(t)
	md := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	if err := os.WriteFile(md, []byte("# Benchmarks\n\nNotes before.\n\n"+runBegin+"\nold run\n"+runEnd+"\n\nNotes after.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := parseFlags([]string{"-aiadmin", bin, "-workers", "4", "-slice", "150ms", "-rounds", "2", "-warmup", "50ms",
		"-pods", "120", "-summary-pods", "10", "-servers", "40", "-model-urls", "3000", "-users", "300", "-audit", "60", "-markdown", md})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep, err := run(t.Context(), cfg, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(rep.results) != 9 || rep.failed != 0 {
		t.Fatalf("%d operations measured, %d failed requests; want 9 and none\n%s", len(rep.results), rep.failed, out.String())
	}
	for _, m := range rep.results {
		if m.aiadmin.OK() == 0 || m.other.OK() == 0 {
			t.Errorf("%s: %d and %d answers", m.op.name, m.aiadmin.OK(), m.other.OK())
		}
		if !strings.Contains(out.String(), m.op.name) {
			t.Errorf("the table lacks %s", m.op.name)
		}
	}
	doc, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Notes before.", "Notes after.", "| GET /fleet/summary | aiadmin |", "loadtest -aiadmin", "Load average"} {
		if !bytes.Contains(doc, []byte(want)) {
			t.Errorf("BENCHMARKS.md lacks %q:\n%s", want, doc)
		}
	}
	if bytes.Contains(doc, []byte("old run")) || bytes.Count(doc, []byte(runBegin)) != 1 {
		t.Errorf("the old run was not replaced:\n%s", doc)
	}
}

// TestSameAnswersRefusesADifferentBaseline serves two sides whose answers
// differ in a string, and two that differ only in numbers.
func TestSameAnswersRefusesADifferentBaseline(t *testing.T) {
	serve := func(v any) loadrun.Side {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _ = json.NewEncoder(w).Encode(v) }))
		t.Cleanup(srv.Close)
		return loadrun.Side{Name: srv.URL, Client: loadrun.NewClient(1, time.Second), Targets: []loadrun.Target{{Method: http.MethodGet, URL: srv.URL}}}
	}
	op := operation{name: "GET /x", kind: kindValkey}
	a := serve(map[string]any{"url": "http://a", "inflight": 3})
	if err := sameAnswers(t.Context(), op, []loadrun.Side{a, serve(map[string]any{"url": "http://b", "inflight": 3})}); err == nil {
		t.Error("answers with different URLs passed as the same")
	}
	if err := sameAnswers(t.Context(), op, []loadrun.Side{a, serve(map[string]any{"url": "http://a", "inflight": 7})}); err != nil {
		t.Errorf("answers differing in a number only: %v", err)
	}
}
