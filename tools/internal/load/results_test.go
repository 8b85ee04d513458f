package load

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// at is a result that started ms milliseconds after t0.
func at(ms int, status int, latencyMs int) Result {
	return Result{Op: "GET /x", Start: t0.Add(time.Duration(ms) * time.Millisecond), Status: status,
		Latency: time.Duration(latencyMs) * time.Millisecond}
}

func TestKeyNamesTheKindOfAnswer(t *testing.T) {
	for _, tc := range []struct {
		r    Result
		want string
	}{
		{Result{Status: 200}, "200"},
		{Result{Status: 503, Error: "valkey unavailable"}, "503 valkey unavailable"},
		{Result{Status: 502}, "502"},
		{Result{Err: "connection refused"}, "no answer"},
		{Result{Status: 200, Err: "reading the body: EOF"}, "200 incomplete"},
	} {
		if got := tc.r.Key(); got != tc.want {
			t.Errorf("%+v: Key() = %q, want %q", tc.r, got, tc.want)
		}
	}
	if (Result{Status: 200, Err: "reading the body: EOF"}).OK() {
		t.Error("an incomplete 200 counts as OK")
	}
}

func TestCountsMostFrequentFirst(t *testing.T) {
	rs := Results{
		at(0, 200, 1), at(1, 503, 1), at(2, 200, 1), at(3, 502, 1), at(4, 200, 1), at(5, 503, 1),
	}
	rs[1].Error, rs[5].Error = "valkey unavailable", "valkey unavailable"
	want := []Count{{"200", 3}, {"503 valkey unavailable", 2}, {"502", 1}}
	if diff := cmp.Diff(want, rs.Counts()); diff != "" {
		t.Errorf("Counts (-want +got):\n%s", diff)
	}
	if got, want := FormatCounts(want), "200: 3, 503 valkey unavailable: 2, 502: 1"; got != want {
		t.Errorf("FormatCounts = %q, want %q", got, want)
	}
	if got := FormatCounts(nil); got != "none" {
		t.Errorf("FormatCounts(nil) = %q", got)
	}
}

func TestSlowestAndQuantiles(t *testing.T) {
	var rs Results
	if _, ok := rs.Slowest(); ok {
		t.Error("Slowest of nothing is ok")
	}
	if q := rs.Quantile(0.99); q != 0 {
		t.Errorf("Quantile of nothing = %s", q)
	}
	// Latencies 1..100 ms in a shuffled order.
	for i := range 100 {
		rs = append(rs, at(i, 200, (i*37)%100+1))
	}
	s, ok := rs.Slowest()
	if !ok || s.Latency != 100*time.Millisecond {
		t.Errorf("Slowest = %s, %v", s.Latency, ok)
	}
	for q, want := range map[float64]time.Duration{0: 1, 0.5: 50, 0.99: 99, 0.999: 100, 1: 100} {
		if got := rs.Quantile(q); got != want*time.Millisecond {
			t.Errorf("Quantile(%v) = %s, want %s", q, got, want*time.Millisecond)
		}
	}
}

func TestStartedInIsHalfOpen(t *testing.T) {
	rs := Results{at(0, 200, 1), at(10, 200, 1), at(20, 200, 1)}
	got := rs.StartedIn(t0.Add(10*time.Millisecond), t0.Add(20*time.Millisecond))
	if len(got) != 1 || !got[0].Start.Equal(t0.Add(10*time.Millisecond)) {
		t.Errorf("StartedIn [10ms, 20ms) = %v", got)
	}
}

func TestRecovery(t *testing.T) {
	ok := func(r Result) bool { return r.OK() }
	since := t0.Add(100 * time.Millisecond)
	for _, tc := range []struct {
		name          string
		rs            Results
		wantRecovery  time.Duration
		wantRecovered bool
	}{
		{"nothing after since", Results{at(0, 503, 1)}, 0, false},
		{"no failure after since", Results{at(0, 503, 1), at(100, 200, 1), at(150, 200, 1)}, 0, true},
		// A failure before since does not count, however late it ended.
		{"failure before since ending after it", Results{at(90, 503, 400), at(120, 200, 1)}, 0, true},
		{"failures then good", Results{at(110, 503, 1), at(300, 503, 1), at(250, 200, 1), at(420, 200, 1), at(500, 200, 1)}, 320 * time.Millisecond, true},
		{"failures to the end", Results{at(110, 200, 1), at(300, 503, 1)}, 200 * time.Millisecond, false},
		{"a transport error is a failure", Results{at(100, 0, 1), at(130, 200, 1)}, 30 * time.Millisecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &Recorder{}
			for _, r := range tc.rs {
				if r.Status == 0 {
					r.Err = "connection refused"
				}
				rec.Add(r)
			}
			got, recovered := rec.Results().Recovery(since, ok)
			if got != tc.wantRecovery || recovered != tc.wantRecovered {
				t.Errorf("Recovery = %s, %v; want %s, %v", got, recovered, tc.wantRecovery, tc.wantRecovered)
			}
		})
	}
}

func TestRecorderOrdersByStart(t *testing.T) {
	rec := &Recorder{}
	for _, ms := range []int{30, 10, 20} {
		rec.Add(at(ms, 200, 1))
	}
	rs := rec.Results()
	for i := 1; i < len(rs); i++ {
		if rs[i].Start.Before(rs[i-1].Start) {
			t.Fatalf("results out of order: %v", rs)
		}
	}
}
