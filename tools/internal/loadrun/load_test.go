package loadrun_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/tools/internal/loadrun"
)

// TestRunIsClosedLoopAndCountsEveryAnswer runs against a loopback server
// that answers every third request 500: the run never has more requests in
// flight than workers, stops within its duration, sends its targets
// round-robin, and counts every answer by status, keeping the latencies of
// the 2xx ones.
func TestRunIsClosedLoopAndCountsEveryAnswer(t *testing.T) {
	var inFlight, most, n atomic.Int64
	var mu sync.Mutex
	paths := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cur := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := most.Load()
			if cur <= m || most.CompareAndSwap(m, cur) {
				break
			}
		}
		mu.Lock()
		paths[r.URL.Path]++
		mu.Unlock()
		time.Sleep(time.Millisecond)
		if n.Add(1)%3 == 0 {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()

	targets := []loadrun.Target{{Method: http.MethodGet, URL: srv.URL + "/a"}, {Method: http.MethodGet, URL: srv.URL + "/b"}}
	start := time.Now()
	res := loadrun.Run(t.Context(), targets, loadrun.Options{Workers: 4, Duration: 300 * time.Millisecond, Record: true})
	took := time.Since(start)

	if took > 5*time.Second {
		t.Errorf("a 300ms run took %s", took)
	}
	if m := most.Load(); m > 4 || m < 2 {
		t.Errorf("at most %d requests were in flight at once, want 2 to 4 with 4 workers", m)
	}
	total := int(n.Load())
	if got := res.Codes[200] + res.Codes[500]; got != total || res.Codes[500] != total/3 {
		t.Errorf("codes %v for %d answers, want every third a 500", res.Codes, total)
	}
	if res.OK() != res.Codes[200] || res.Failed() != res.Codes[500] || len(res.Records) != total {
		t.Errorf("ok %d, failed %d, %d records, for codes %v", res.OK(), res.Failed(), len(res.Records), res.Codes)
	}
	mu.Lock()
	if a, b := paths["/a"], paths["/b"]; a+b != total || a-b > 4 || b-a > 4 {
		t.Errorf("targets got %d and %d requests, want them round-robin", a, b)
	}
	mu.Unlock()
	if res.Throughput() <= 0 || res.Quantile(0.5) < time.Millisecond || res.Quantile(0.99) < res.Quantile(0.5) {
		t.Errorf("throughput %.0f/s, p50 %s, p99 %s", res.Throughput(), res.Quantile(0.5), res.Quantile(0.99))
	}
}

// TestRunStopsWhenItsContextEnds cancels a run meant to last a minute.
func TestRunStopsWhenItsContextEnds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	res := loadrun.Run(ctx, []loadrun.Target{{Method: http.MethodGet, URL: srv.URL}}, loadrun.Options{Workers: 2, Duration: time.Minute})
	if took := time.Since(start); took > 10*time.Second || res.OK() == 0 {
		t.Errorf("a cancelled run took %s with %d answers", took, res.OK())
	}
}

// TestQuantileIsNearestRank checks the quantiles on known latencies.
func TestQuantileIsNearestRank(t *testing.T) {
	var r loadrun.Result
	for i := 1; i <= 1000; i++ {
		r.Latencies = append(r.Latencies, time.Duration(i)*time.Millisecond)
	}
	got := []time.Duration{r.Quantile(0.5), r.Quantile(0.99), r.Quantile(0.999), r.Quantile(1), r.Quantile(0)}
	want := []time.Duration{500 * time.Millisecond, 990 * time.Millisecond, 999 * time.Millisecond, time.Second, time.Millisecond}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("quantiles (-want +got):\n%s", d)
	}
	if (loadrun.Result{}).Quantile(0.5) != 0 || (loadrun.Result{}).Throughput() != 0 {
		t.Error("an empty result has latencies or throughput")
	}
}

// TestMergePoolsRuns adds two runs of one side.
func TestMergePoolsRuns(t *testing.T) {
	a := loadrun.Result{Elapsed: time.Second, Codes: map[int]int{200: 2, 503: 1}, Latencies: []time.Duration{3, 1}}
	b := loadrun.Result{Elapsed: time.Second, Codes: map[int]int{200: 1}, Latencies: []time.Duration{2}}
	m := loadrun.Merge(a, b)
	if d := cmp.Diff(loadrun.Result{Elapsed: 2 * time.Second, Codes: map[int]int{200: 3, 503: 1}, Latencies: []time.Duration{1, 2, 3}}, m); d != "" {
		t.Errorf("merged (-want +got):\n%s", d)
	}
	if m.Throughput() != 1.5 {
		t.Errorf("throughput %v, want 1.5", m.Throughput())
	}
}

// TestInterleaveAlternatesSides runs two sides for three rounds and checks,
// from the order the servers saw them, that they alternated A B, B A, A B.
func TestInterleaveAlternatesSides(t *testing.T) {
	var mu sync.Mutex
	var order []string
	side := func(name string) loadrun.Side {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			if len(order) == 0 || order[len(order)-1] != name {
				order = append(order, name)
			}
			mu.Unlock()
		}))
		t.Cleanup(srv.Close)
		return loadrun.Side{Name: name, Targets: []loadrun.Target{{Method: http.MethodGet, URL: srv.URL + "/" + strconv.Itoa(len(name))}}, Client: loadrun.NewClient(2, time.Second)}
	}
	res := loadrun.Interleave(t.Context(), []loadrun.Side{side("A"), side("B")}, 3, 100*time.Millisecond, loadrun.Options{Workers: 2})
	if d := cmp.Diff([]string{"A", "B", "A", "B"}, order); d != "" {
		t.Errorf("order of the sides (-want +got):\n%s", d)
	}
	if len(res) != 2 || res[0].OK() == 0 || res[1].OK() == 0 || res[0].Elapsed < 250*time.Millisecond {
		t.Errorf("results: %d sides, %d and %d answers, A ran %s", len(res), res[0].OK(), res[1].OK(), res[0].Elapsed)
	}
}
