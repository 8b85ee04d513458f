package load

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Result is one request and its answer.
type Result struct {
	// Op is the request's operation, as Request.Op named it.
	Op string
	// Worker is the worker that sent it.
	Worker int
	// Start is when the request was handed to the client.
	Start time.Time
	// Latency runs from Start until the answer's body was read, or the
	// request failed.
	Latency time.Duration
	// Status is the HTTP status, 0 when no answer came.
	Status int
	// Err says why no complete answer came: the transport's error.
	Err string
	// Error and Detail are an error answer's "error" and "detail";
	// FailedAt is a failed restart's "failed_at".
	Error, Detail, FailedAt string
	// DataAge is the x-data-age header: the age in seconds of the list an
	// answer was served from, when older than its TTL.
	DataAge string
}

// End is when the answer had been read.
func (r Result) End() time.Time { return r.Start.Add(r.Latency) }

// OK reports whether a complete 2xx answer came.
func (r Result) OK() bool { return r.Err == "" && r.Status >= 200 && r.Status < 300 }

// Key names the kind of answer, for counts: "200", "503 valkey unavailable",
// "no answer".
func (r Result) Key() string {
	switch {
	case r.Err != "" && r.Status == 0:
		return "no answer"
	case r.Err != "":
		return strconv.Itoa(r.Status) + " incomplete"
	case r.Error != "":
		return strconv.Itoa(r.Status) + " " + r.Error
	}
	return strconv.Itoa(r.Status)
}

// String describes the result in one line.
func (r Result) String() string {
	s := fmt.Sprintf("%s: %s in %s", r.Op, r.Key(), r.Latency.Round(time.Millisecond))
	if r.Detail != "" {
		s += " (" + r.Detail + ")"
	}
	if r.Err != "" {
		s += " (" + r.Err + ")"
	}
	return s
}

// Recorder collects results from many workers. It is safe for concurrent
// use.
type Recorder struct {
	mu      sync.Mutex
	results []Result
}

// Add records r.
func (rec *Recorder) Add(r Result) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.results = append(rec.results, r)
}

// Results returns a copy of every result so far, ordered by start.
func (rec *Recorder) Results() Results {
	rec.mu.Lock()
	out := slices.Clone(rec.results)
	rec.mu.Unlock()
	slices.SortStableFunc(out, func(a, b Result) int { return a.Start.Compare(b.Start) })
	return out
}

// Results are recorded results, ordered by start.
type Results []Result

// Filter returns the results keep accepts.
func (rs Results) Filter(keep func(Result) bool) Results {
	var out Results
	for _, r := range rs {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// StartedIn returns the results that started at or after from and before to.
func (rs Results) StartedIn(from, to time.Time) Results {
	return rs.Filter(func(r Result) bool { return !r.Start.Before(from) && r.Start.Before(to) })
}

// Count is how many results had one kind of answer.
type Count struct {
	// Key is the kind of answer (Result.Key), N how many had it.
	Key string
	N   int
}

// Counts counts the results by Key, the most frequent first (ties by key).
func (rs Results) Counts() []Count {
	m := map[string]int{}
	for _, r := range rs {
		m[r.Key()]++
	}
	out := make([]Count, 0, len(m))
	for k, n := range m {
		out = append(out, Count{k, n})
	}
	slices.SortFunc(out, func(a, b Count) int {
		return cmp.Or(cmp.Compare(b.N, a.N), cmp.Compare(a.Key, b.Key))
	})
	return out
}

// FormatCounts renders counts as "200: 1234, 503 valkey unavailable: 56".
func FormatCounts(cs []Count) string {
	if len(cs) == 0 {
		return "none"
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s: %d", c.Key, c.N)
	}
	return strings.Join(parts, ", ")
}

// Slowest returns the result with the longest latency; ok is false when
// there are none.
func (rs Results) Slowest() (slowest Result, ok bool) {
	for _, r := range rs {
		if !ok || r.Latency > slowest.Latency {
			slowest, ok = r, true
		}
	}
	return slowest, ok
}

// Quantile returns the latency below which a fraction q (0 to 1) of the
// results fall, by the nearest-rank method; 0 when there are none.
func (rs Results) Quantile(q float64) time.Duration {
	if len(rs) == 0 {
		return 0
	}
	lat := make([]time.Duration, len(rs))
	for i, r := range rs {
		lat[i] = r.Latency
	}
	slices.Sort(lat)
	rank := int(math.Ceil(q * float64(len(lat))))
	return lat[min(max(rank, 1), len(lat))-1]
}

// Recovery measures how long after since the answers stayed good, good
// telling a good answer from a failure. It looks at the results that started
// at or after since: with no failure among them, recovery is 0. Otherwise it
// is the start of the first good result after the last failure, less since:
// from then on every request sent was answered well. recovered is false when
// no good result followed the last failure (or none started at all).
func (rs Results) Recovery(since time.Time, good func(Result) bool) (recovery time.Duration, recovered bool) {
	after := rs.Filter(func(r Result) bool { return !r.Start.Before(since) })
	if len(after) == 0 {
		return 0, false
	}
	last := -1
	for i, r := range after {
		if !good(r) {
			last = i
		}
	}
	if last < 0 {
		return 0, true
	}
	for _, r := range after[last+1:] {
		if good(r) && r.Start.After(after[last].Start) {
			return r.Start.Sub(since), true
		}
	}
	return after[last].Start.Sub(since), false
}
