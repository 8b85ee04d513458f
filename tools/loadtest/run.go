package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/threatwinds/aiadmin/tools/internal/loadrun"
)

// Kinds of operation, each with its own baseline and targets.
const (
	kindValkey  = "valkey"  // a Valkey-backed read; baseline: the same commands and bytes
	kindPods    = "pods"    // RunPod's pods with fleet state; baseline: pods from memory
	kindSummary = "summary" // the fleet summary; baseline: aiadmin over a small fleet
)

// operation is one read a load run measures: its paths (sent round-robin)
// and what it is compared with.
type operation struct {
	name  string
	kind  string
	paths []string
}

const adminPath = "/api/ai/v1/admin"

// operations are the reads measured, with paths into the seeded fleet.
func operations(e *env) []operation {
	ids := make([]string, 0, 16)
	for i := 0; i < len(e.fleet) && len(ids) < cap(ids); i += max(1, len(e.fleet)/cap(ids)) {
		ids = append(ids, adminPath+"/pods/"+e.fleet[i].ID)
	}
	users := make([]string, 0, 64)
	for i := 0; i < len(e.seeded.Users) && len(users) < cap(users); i += max(1, len(e.seeded.Users)/cap(users)) {
		users = append(users, adminPath+"/affinity/users/"+e.seeded.Users[i])
	}
	demand := make([]string, 0, 16)
	for i := 0; i < len(e.demand) && len(demand) < cap(demand); i++ {
		demand = append(demand, adminPath+"/demand/"+url.PathEscape(e.demand[i]))
	}
	podsPage := max(1, min(50, len(e.fleet)/50))
	registryPage := max(1, e.modelURLs/2/100)
	return []operation{
		{name: fmt.Sprintf("GET /pods?page=%d&limit=50", podsPage), kind: kindPods, paths: []string{fmt.Sprintf("%s/pods?page=%d&limit=50", adminPath, podsPage)}},
		{name: "GET /pods/{id}", kind: kindPods, paths: ids},
		{name: "GET /servers?limit=50", kind: kindValkey, paths: []string{adminPath + "/servers?limit=50"}},
		{name: "GET /affinity", kind: kindValkey, paths: []string{adminPath + "/affinity"}},
		{name: fmt.Sprintf("GET /registry/{model}?page=%d&limit=100", registryPage), kind: kindValkey,
			paths: []string{fmt.Sprintf("%s/registry/%s?page=%d&limit=100", adminPath, bigModel, registryPage)}},
		{name: "GET /demand/{podUrl}", kind: kindValkey, paths: demand},
		{name: "GET /affinity/users/{userId}", kind: kindValkey, paths: users},
		{name: "GET /audit?limit=50", kind: kindValkey, paths: []string{adminPath + "/audit?limit=50"}},
		{name: "GET /fleet/summary", kind: kindSummary, paths: []string{adminPath + "/fleet/summary"}},
	}
}

// measured is one operation's result on both sides.
type measured struct {
	op             operation
	aiadmin, other loadrun.Result
}

// runReport is what a run found.
type runReport struct {
	results []measured
	// failed counts requests without a 2xx answer; missed counts targets
	// not met.
	failed, missed int
}

// run starts the environment, checks that both sides of every operation
// answer alike, measures each operation and prints the table.
func run(ctx context.Context, cfg config, out io.Writer) (runReport, error) {
	loadBefore := loadAverage()
	e, err := startEnv(ctx, cfg, out)
	if err != nil {
		return runReport{}, err
	}
	defer e.close()

	admin := http.Header{"Authorization": {"Bearer " + e.creds.Token}}
	sides := func(op operation) []loadrun.Side {
		other := "http://" + e.base.Addr()
		if op.kind == kindSummary {
			other = "http://" + e.small.Addr()
		}
		mk := func(name, base string) loadrun.Side {
			s := loadrun.Side{Name: name, Client: loadrun.NewClient(cfg.workers, 10*time.Second)}
			for _, p := range op.paths {
				s.Targets = append(s.Targets, loadrun.Target{Method: http.MethodGet, URL: base + p, Header: admin})
			}
			return s
		}
		return []loadrun.Side{mk("aiadmin", "http://"+e.aiadmin.Addr()), mk("baseline", other)}
	}

	var rep runReport
	for _, op := range operations(e) {
		if cfg.only != "" && !strings.Contains(op.name, cfg.only) {
			continue
		}
		ss := sides(op)
		if err := sameAnswers(ctx, op, ss); err != nil {
			return rep, err
		}
		wo := loadrun.Options{Workers: cfg.workers}
		loadrun.Interleave(ctx, ss, 1, cfg.warmup, wo)
		res := loadrun.Interleave(ctx, ss, cfg.rounds, cfg.slice, wo)
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		m := measured{op: op, aiadmin: res[0], other: res[1]}
		rep.results = append(rep.results, m)
		rep.failed += m.aiadmin.Failed() + m.other.Failed()
		fmt.Fprintf(out, "# %s: %.0f req/s against %.0f\n", op.name, m.aiadmin.Throughput(), m.other.Throughput())
	}
	rep.missed = writeReport(out, cfg, rep, loadBefore, loadAverage())
	if cfg.markdown != "" {
		if err := writeMarkdown(cfg, rep, loadBefore, loadAverage()); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// sameAnswers checks, before an operation is measured, that both sides
// answer each of its paths with 200 and the same JSON document, numbers
// aside (idle seconds and probe times move). The summary's sides hold
// different fleets, so only their status and shape are compared.
func sameAnswers(ctx context.Context, op operation, sides []loadrun.Side) error {
	for i := range sides[0].Targets {
		var docs [2]any
		for s := range 2 {
			t := sides[s].Targets[i]
			req, err := http.NewRequestWithContext(ctx, t.Method, t.URL, nil)
			if err != nil {
				return err
			}
			req.Header = t.Header
			resp, err := sides[s].Client.Do(req)
			if err != nil {
				return fmt.Errorf("%s on %s: %w", op.name, sides[s].Name, err)
			}
			body, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s on %s answered %d: %.300s", op.name, sides[s].Name, resp.StatusCode, body)
			}
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			if err := dec.Decode(&docs[s]); err != nil {
				return fmt.Errorf("%s on %s: %w", op.name, sides[s].Name, err)
			}
			docs[s] = withoutNumbers(docs[s], op.kind == kindSummary)
		}
		if !reflect.DeepEqual(docs[0], docs[1]) {
			a, _ := json.Marshal(docs[0])
			b, _ := json.Marshal(docs[1])
			return fmt.Errorf("%s: aiadmin and its baseline answer differently:\n  aiadmin:  %.600s\n  baseline: %.600s", op.name, a, b)
		}
	}
	return nil
}

// withoutNumbers replaces every number in a decoded document by 0, and with
// shapeOnly every string and every map's contents too.
func withoutNumbers(v any, shapeOnly bool) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = withoutNumbers(e, shapeOnly)
		}
		if shapeOnly {
			for k, e := range x {
				if _, ok := e.(map[string]any); ok && k == "by_status" {
					x[k] = map[string]any{}
				}
			}
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = withoutNumbers(e, shapeOnly)
		}
		return x
	case json.Number:
		return json.Number("0")
	case string:
		if shapeOnly {
			return ""
		}
	}
	return v
}
