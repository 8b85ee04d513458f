package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/threatwinds/aiadmin/clients/runpod/standin"
)

// unchangingRunPod serves the RunPod stand-in, answering a pod list it has
// answered before from memory. Nothing changes the pods during a load run,
// and rendering thousands of them is RunPod's work, done on RunPod's
// machines in production: it must not be charged to the machine being
// measured. aiadmin still fetches, decodes and rebuilds the whole list at
// every refresh. Every other call goes to the stand-in.
type unchangingRunPod struct {
	next *standin.Server

	mu    sync.Mutex
	lists map[string][]byte
}

// ServeHTTP answers a list from memory once it has been rendered, and
// passes every other call to the stand-in.
func (u *unchangingRunPod) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "reading the request", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if !bytes.Contains(body, []byte(standin.OpMyself)) {
		u.next.ServeHTTP(w, r)
		return
	}
	key := r.Header.Get("Authorization") + "\n" + string(body)
	u.mu.Lock()
	answer, ok := u.lists[key]
	u.mu.Unlock()
	if !ok {
		rec := &recorded{header: http.Header{}}
		u.next.ServeHTTP(rec, r)
		if rec.code != http.StatusOK {
			w.WriteHeader(rec.code)
			_, _ = w.Write(rec.body.Bytes())
			return
		}
		answer = rec.body.Bytes()
		u.mu.Lock()
		u.lists[key] = answer
		u.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(answer)
}

// recorded keeps an answer of the stand-in.
type recorded struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

// Header is the answer's header.
func (r *recorded) Header() http.Header { return r.header }

// WriteHeader keeps the first status.
func (r *recorded) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

// Write keeps the body.
func (r *recorded) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}

// serveRunPod serves s behind unchangingRunPod on loopback until the run
// ends, and returns its GraphQL URL.
func serveRunPod(e *env, s *standin.Server) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: &unchangingRunPod{next: s, lists: map[string][]byte{}}, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	go func() { _ = srv.Serve(ln) }()
	e.closers = append(e.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String() + "/graphql", nil
}
