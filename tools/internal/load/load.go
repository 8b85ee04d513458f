// Package load drives closed-loop HTTP load against a server on loopback and
// records every answer: what was asked, when, how long it took and what came
// back, down to the error message of an error answer. Each worker sends its
// next request when the previous one has been answered, so the load adapts
// to the server instead of piling up behind it, and stopping the load lets
// the requests in flight finish.
//
// The statistics a fault or load report needs (counts per answer, the
// slowest answer, quantiles, the time a failure took to clear) are methods
// of Results.
package load

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// maxErrorBody bounds what is read of an error answer to find its message.
const maxErrorBody = 64 << 10

// Request is one request a worker sends.
type Request struct {
	// Op names the operation in reports ("GET /pods", "restart").
	Op string
	// Method and URL say what is asked of whom.
	Method string
	URL    string
	// Header is sent as is; nil sends none of its own.
	Header http.Header
	// Body is sent with the request; nil sends none.
	Body []byte
}

// Options configure a Load.
type Options struct {
	// Workers is how many requests are in flight at once, each worker on a
	// connection of its own while they are all busy.
	Workers int
	// Next gives the request a worker sends next; n counts that worker's
	// requests from 0. It is called from the worker's goroutine.
	Next func(worker, n int) Request
	// Pause is how long a worker waits after an answer before its next
	// request; zero sends at once.
	Pause time.Duration
	// FailurePause replaces Pause after a request that got no answer (a
	// refused connection, say), so that a server that is gone is not
	// hammered; zero means Pause.
	FailurePause time.Duration
	// Client sends the requests; nil means NewClient(Workers, time.Minute).
	Client *http.Client
	// OwnConnections gives every worker a connection of its own for the
	// whole load (a clone of Client's transport each), where otherwise a
	// worker takes whichever idle connection is free: Workers connections
	// are then open at once however quickly answers come.
	OwnConnections bool
	// Context bounds every request: cancelling it abandons the requests in
	// flight, where Stop lets them finish. Nil means context.Background.
	Context context.Context
	// Recorder receives every answer; nil means a new one (see Load.Recorder).
	Recorder *Recorder
}

// Load is closed-loop load running until Stop.
type Load struct {
	opts Options
	// clients are the workers' clients, one each with OwnConnections.
	clients  []*http.Client
	stop     chan struct{}
	once     sync.Once
	wg       sync.WaitGroup
	newConns atomic.Int64
}

// NewClient returns a client for load on loopback: no proxy, no compression,
// HTTP/1.1, keeping up to conns idle connections so that every worker keeps
// its own, and giving up on a request after timeout.
func NewClient(conns int, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Start starts the workers; they run until Stop.
func Start(o Options) *Load {
	if o.Workers < 1 {
		o.Workers = 1
	}
	if o.Client == nil {
		o.Client = NewClient(o.Workers, time.Minute)
	}
	if o.Context == nil {
		o.Context = context.Background()
	}
	if o.Recorder == nil {
		o.Recorder = &Recorder{}
	}
	l := &Load{opts: o, stop: make(chan struct{})}
	for range o.Workers {
		c := o.Client
		if t, ok := c.Transport.(*http.Transport); ok && o.OwnConnections {
			own := *c
			own.Transport = t.Clone()
			c = &own
		}
		l.clients = append(l.clients, c)
	}
	l.wg.Add(o.Workers)
	for w := range o.Workers {
		go l.work(w)
	}
	return l
}

// Recorder is where the load's answers are recorded.
func (l *Load) Recorder() *Recorder { return l.opts.Recorder }

// NewConnections counts the connections the load opened, as opposed to
// reused.
func (l *Load) NewConnections() int64 { return l.newConns.Load() }

// Stop makes the workers send no further request and returns once the
// requests in flight have been answered (or the client gave up on them).
// The workers' own connections, with OwnConnections, are closed; those of
// a shared client are the client's to close.
func (l *Load) Stop() {
	l.once.Do(func() { close(l.stop) })
	l.wg.Wait()
	if l.opts.OwnConnections {
		for _, c := range l.clients {
			c.CloseIdleConnections()
		}
	}
}

func (l *Load) work(w int) {
	defer l.wg.Done()
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		if !info.Reused {
			l.newConns.Add(1)
		}
	}}
	ctx := httptrace.WithClientTrace(l.opts.Context, trace)
	for n := 0; ; n++ {
		select {
		case <-l.stop:
			return
		case <-l.opts.Context.Done():
			return
		default:
		}
		res := Do(ctx, l.clients[w], l.opts.Next(w, n))
		res.Worker = w
		l.opts.Recorder.Add(res)
		pause := l.opts.Pause
		if res.Status == 0 && l.opts.FailurePause > 0 {
			pause = l.opts.FailurePause
		}
		if pause > 0 {
			select {
			case <-l.stop:
				return
			case <-time.After(pause):
			}
		}
	}
}

// Do sends one request and records its answer. A 2xx body is read and
// dropped; an error answer's body is read, up to 64 KiB, for its message.
func Do(ctx context.Context, c *http.Client, r Request) Result {
	res := Result{Op: r.Op, Start: time.Now()}
	var body io.Reader
	if r.Body != nil {
		body = bytes.NewReader(r.Body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		res.Latency = time.Since(res.Start)
		res.Err = err.Error()
		return res
	}
	defer resp.Body.Close()
	res.Status = resp.StatusCode
	res.DataAge = resp.Header.Get("x-data-age")
	if resp.StatusCode < 400 {
		_, err = io.Copy(io.Discard, resp.Body)
	} else {
		var b []byte
		b, err = io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		res.parseError(b, resp.Header.Get("x-error"))
	}
	res.Latency = time.Since(res.Start)
	if err != nil {
		// The status came, the body did not: the answer is incomplete.
		res.Err = "reading the body: " + err.Error()
	}
	return res
}

// parseError takes an error answer's message from its body, the documented
// {"error","detail"} with the restart's failed_at, or else from x-error.
func (r *Result) parseError(body []byte, header string) {
	var b struct {
		Error    string `json:"error"`
		Detail   string `json:"detail"`
		FailedAt string `json:"failed_at"`
	}
	if json.Unmarshal(body, &b) == nil && b.Error != "" {
		r.Error, r.Detail, r.FailedAt = b.Error, b.Detail, b.FailedAt
		return
	}
	r.Error = header
}
