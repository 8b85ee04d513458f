package pool_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valkey-io/valkey-go"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
)

// testContext returns a context that ends with the test or after two
// minutes.
func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// connect opens a client to addrs that is closed when t ends.
func connect(t testing.TB, o fleet.ConnectOptions) valkey.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := fleet.Connect(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// standalone starts a redis-server and connects a store to it.
func standalone(t testing.TB) (*valkeytest.Server, valkey.Client, *fleet.Store) {
	t.Helper()
	srv := valkeytest.StartServer(t)
	c := connect(t, fleet.ConnectOptions{Addrs: []string{srv.Addr()}, CommandTimeout: 2 * time.Second})
	return srv, c, fleet.New(c, fleet.Options{})
}

// valkeyAddr is the address of the one server behind c.
func valkeyAddr(c valkey.Client) string {
	for addr := range c.Nodes() {
		return addr
	}
	return ""
}

// eventually polls cond every 20ms until it holds or timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// goroutineBaseline returns a check that fails t if, within ten seconds,
// the number of goroutines does not settle back to what it is now.
func goroutineBaseline(t *testing.T) func() {
	before := runtime.NumGoroutine()
	return func() {
		t.Helper()
		// Ten seconds, not less: after a cluster topology refresh valkey-go
		// closes the connections it replaced five seconds later, from a
		// goroutine of its own that outlives Close.
		deadline := time.Now().Add(10 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				n := runtime.Stack(buf, true)
				t.Errorf("goroutines: %d after, %d before:\n%s", runtime.NumGoroutine(), before, buf[:n])
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// register registers servers (provider -> URLs) serving model m.
func register(t testing.TB, s *fleet.Store, provider string, urls ...string) {
	t.Helper()
	for _, u := range urls {
		if err := s.RegisterServer(testContext(t), provider, u, []string{"m"}); err != nil {
			t.Fatal(err)
		}
	}
}

// health reads the stored health of urls.
func health(t testing.TB, s *fleet.Store, urls ...string) []fleet.ServerHealth {
	t.Helper()
	hs, err := s.HealthMany(testContext(t), urls)
	if err != nil {
		t.Fatal(err)
	}
	return hs
}

// hits counts the requests a loopback stand-in received, by path.
type hits struct {
	mu sync.Mutex
	n  map[string]int
}

func (h *hits) add(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == nil {
		h.n = map[string]int{}
	}
	h.n[path]++
	return h.n[path]
}

func (h *hits) get(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[path]
}

func (h *hits) total() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, v := range h.n {
		n += v
	}
	return n
}

// Behaviours of a scripted stand-in inference server, one letter per probe;
// the last letter repeats once the script is done.
const (
	answerOK       = 'S' // 200 with a small JSON body
	answerError    = 'F' // 503
	answerSlow     = 'T' // answers only after the probe timeout
	answerRedirect = 'R' // 302 to another host
	answerBigBody  = 'B' // 200 with a body far over the read limit
)

// standIn is a set of scripted inference servers on one loopback listener,
// each under its own path prefix /srv/<name>: GET /srv/<name>/models follows
// the script of <name>. Any other path is counted as a stray request.
type standIn struct {
	srv     *httptest.Server
	hits    hits
	stray   hits
	mu      sync.Mutex
	scripts map[string]string
	slow    time.Duration
	// redirectTo is where answerRedirect points.
	redirectTo string
}

func newStandIn(t testing.TB, slow time.Duration, redirectTo string) *standIn {
	s := &standIn{scripts: map[string]string{}, slow: slow, redirectTo: redirectTo}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// add gives name a script and returns its server URL.
func (s *standIn) add(name, script string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[name] = script
	return s.srv.URL + "/srv/" + name
}

func (s *standIn) serve(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, "/srv/")
	name, ok2 := strings.CutSuffix(name, "/models")
	s.mu.Lock()
	script, known := s.scripts[name]
	s.mu.Unlock()
	if !ok || !ok2 || !known || r.Method != http.MethodGet {
		s.stray.add(r.Method + " " + r.URL.Path)
		http.NotFound(w, r)
		return
	}
	n := s.hits.add(name)
	answer := script[min(n, len(script))-1]
	switch answer {
	case answerOK:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"object":"list","data":[{"id":"m"}]}`)
	case answerError:
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	case answerSlow:
		select {
		case <-time.After(s.slow):
		case <-r.Context().Done():
		}
		fmt.Fprint(w, `{"object":"list","data":[]}`)
	case answerRedirect:
		http.Redirect(w, r, s.redirectTo, http.StatusFound)
	case answerBigBody:
		w.Header().Set("Content-Type", "application/json")
		chunk := strings.Repeat("x", 32<<10)
		for range 64 { // 2 MiB, far past what the prober reads
			if _, err := fmt.Fprint(w, chunk); err != nil {
				return
			}
		}
	}
}

// silentListener accepts connections on loopback and never answers them,
// until the test ends.
func silentListener(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}
