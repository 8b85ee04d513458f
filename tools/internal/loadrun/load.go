// Package loadrun drives HTTP load closed-loop: a fixed number of workers, each
// sending its next request as soon as its last one is answered, for a
// bounded time, on vegeta's attacker. It records every answer's status and
// latency and summarises them (throughput, exact quantiles), and runs two or
// more sides interleaved, so that a slow moment of a shared machine falls on
// every side alike. The load tool and the fault suite share it.
package loadrun

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Target is one request of a load run. Requests go round-robin over a
// run's targets.
type Target struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
}

// Options shape a run; zero values take the defaults.
type Options struct {
	// Workers is how many requests are in flight at once; 32 by default.
	Workers int
	// Duration bounds the run; 1 s by default.
	Duration time.Duration
	// Timeout bounds one request; 10 s by default.
	Timeout time.Duration
	// Client sends the requests, so that runs can share warm connections;
	// nil means a client of the run's own (NewClient).
	Client *http.Client
	// Record keeps every answer in Result.Records, for a timeline.
	Record bool
}

// Record is one answer: when its request was sent, how long it took, its
// status (0 when none came) and the error, if any.
type Record struct {
	Start   time.Time
	Latency time.Duration
	Code    int
	Error   string
}

// Result is what a run saw.
type Result struct {
	// Elapsed is how long the run took, from its first request to its last
	// answer.
	Elapsed time.Duration
	// Codes counts answers by status; 0 counts requests that got none.
	Codes map[int]int
	// Latencies of the 2xx answers, sorted.
	Latencies []time.Duration
	// Records holds every answer when Options.Record is set, in the order
	// they arrived.
	Records []Record
}

// NewClient returns a client for runs of workers concurrent requests that
// keeps that many connections open and never goes through a proxy: load
// runs only ever reach loopback.
func NewClient(workers int, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        workers * 2,
			MaxIdleConnsPerHost: workers * 2,
			IdleConnTimeout:     time.Minute,
		},
		// A redirect is an answer of its own, not something to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Run sends targets round-robin with o.Workers workers until o.Duration has
// passed or ctx ends, and returns what it saw. Bodies are read and
// discarded.
func Run(ctx context.Context, targets []Target, o Options) Result {
	if o.Workers <= 0 {
		o.Workers = 32
	}
	if o.Duration <= 0 {
		o.Duration = time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	client := o.Client
	if client == nil {
		client = NewClient(o.Workers, o.Timeout)
	}
	vt := make([]vegeta.Target, len(targets))
	for i, t := range targets {
		vt[i] = vegeta.Target{Method: t.Method, URL: t.URL, Header: t.Header, Body: t.Body}
	}
	w := uint64(o.Workers)
	atk := vegeta.NewAttacker(vegeta.Client(client), vegeta.Workers(w), vegeta.MaxWorkers(w),
		vegeta.MaxBody(0), vegeta.Timeout(o.Timeout))
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()

	// A zero rate with a bounded number of workers is vegeta's closed loop.
	res := Result{Codes: map[int]int{}}
	var first, last time.Time
	for r := range atk.Attack(vegeta.NewStaticTargeter(vt...), vegeta.ConstantPacer{}, o.Duration, "") {
		code := int(r.Code)
		if r.Error != "" && code == 0 {
			res.Codes[0]++
		} else {
			res.Codes[code]++
		}
		if code >= 200 && code < 300 {
			res.Latencies = append(res.Latencies, r.Latency)
		}
		if o.Record {
			res.Records = append(res.Records, Record{Start: r.Timestamp, Latency: r.Latency, Code: code, Error: r.Error})
		}
		if first.IsZero() || r.Timestamp.Before(first) {
			first = r.Timestamp
		}
		if end := r.End(); end.After(last) {
			last = end
		}
	}
	res.Elapsed = last.Sub(first)
	slices.Sort(res.Latencies)
	return res
}

// OK is how many answers were 2xx.
func (r Result) OK() int { return len(r.Latencies) }

// Failed is how many requests got no 2xx answer.
func (r Result) Failed() int {
	n := 0
	for code, c := range r.Codes {
		if code < 200 || code >= 300 {
			n += c
		}
	}
	return n
}

// Throughput is 2xx answers per second.
func (r Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK()) / r.Elapsed.Seconds()
}

// Quantile is the q-quantile (0 < q <= 1) of the 2xx answers' latency, by
// the nearest-rank method; 0 without answers.
func (r Result) Quantile(q float64) time.Duration {
	n := len(r.Latencies)
	if n == 0 {
		return 0
	}
	rank := int(q*float64(n)+0.999999) - 1
	return r.Latencies[min(max(rank, 0), n-1)]
}

// Merge adds results of runs of one side together: counts and latencies
// are pooled and the elapsed times added, so throughput is over the time
// the side ran.
func Merge(rs ...Result) Result {
	out := Result{Codes: map[int]int{}}
	for _, r := range rs {
		out.Elapsed += r.Elapsed
		for c, n := range r.Codes {
			out.Codes[c] += n
		}
		out.Latencies = append(out.Latencies, r.Latencies...)
		out.Records = append(out.Records, r.Records...)
	}
	slices.Sort(out.Latencies)
	return out
}

// Side is one of the things an interleaved run compares: its targets and
// the client that sends them (its connections stay warm between slices).
type Side struct {
	Name    string
	Targets []Target
	Client  *http.Client
}

// Interleave runs each side for slice, rounds times, in an order that
// alternates every round (A B, then B A), and returns each side's merged
// result, in the order of sides. o.Duration and o.Client are set per run.
func Interleave(ctx context.Context, sides []Side, rounds int, slice time.Duration, o Options) []Result {
	parts := make([][]Result, len(sides))
	for round := range rounds {
		order := make([]int, len(sides))
		for i := range order {
			order[i] = i
		}
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, i := range order {
			if ctx.Err() != nil {
				break
			}
			ro := o
			ro.Duration, ro.Client = slice, sides[i].Client
			parts[i] = append(parts[i], Run(ctx, sides[i].Targets, ro))
		}
	}
	out := make([]Result, len(sides))
	for i := range sides {
		out[i] = Merge(parts[i]...)
	}
	return out
}

// URL joins base and a path with its query, for targets.
func URL(base, path string, query url.Values) string {
	u := base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u
}
