package contracttest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/threatwinds/aiadmin/clients/runpod/standin"
)

// OpRecorder sits in front of the RunPod stand-in and records, in order, when
// each GraphQL operation began and ended ("podStop begin", "podStop end").
// Operations can be held at their beginning until released. It is shared by
// the pod catalog tests and the HTTP contract tests.
type OpRecorder struct {
	Next http.Handler

	mu    sync.Mutex
	log   []string
	holds map[string]chan struct{}
}

// StartOpRecorder serves the stand-in behind a recorder on loopback until
// the test ends and returns the recorder and the GraphQL URL.
func StartOpRecorder(tb testing.TB, standIn http.Handler) (*OpRecorder, string) {
	tb.Helper()
	r := &OpRecorder{Next: standIn}
	srv := httptest.NewServer(r)
	tb.Cleanup(srv.Close)
	return r, srv.URL + "/graphql"
}

// RestartCalls is what one restart of an on-demand pod asks of RunPod, in
// order, as an OpRecorder logs it: read the pod, stop it, resume it.
var RestartCalls = []string{"pod begin", "pod end", "podStop begin", "podStop end", "podResume begin", "podResume end"}

// opOf names the root field a GraphQL request body asks for.
func opOf(body []byte) string {
	for _, op := range []string{standin.OpPodStop, standin.OpPodBidResume, standin.OpPodResume, standin.OpMyself} {
		if bytes.Contains(body, []byte(op+" ")) || bytes.Contains(body, []byte(op+"(")) || bytes.Contains(body, []byte(op+"{")) {
			return op
		}
	}
	if bytes.Contains(body, []byte("pod(")) {
		return standin.OpPod
	}
	return "unknown"
}

func (r *OpRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, "reading body", http.StatusBadRequest)
		return
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	op := opOf(body)
	r.add(op + " begin")
	r.mu.Lock()
	hold := r.holds[op]
	r.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-req.Context().Done():
			return
		}
	}
	// The answer is recorded in full, and the end logged, before the
	// client can see it and send its next call.
	rec := httptest.NewRecorder()
	r.Next.ServeHTTP(rec, req)
	r.add(op + " end")
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (r *OpRecorder) add(entry string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, entry)
}

// Log returns the entries so far.
func (r *OpRecorder) Log() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.log)
}

// Hold makes every call of op wait at its beginning until release is called.
func (r *OpRecorder) Hold(op string) (release func()) {
	ch := make(chan struct{})
	r.mu.Lock()
	if r.holds == nil {
		r.holds = map[string]chan struct{}{}
	}
	r.holds[op] = ch
	r.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

// Reset empties the log.
func (r *OpRecorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = nil
}
