package standin

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// stopTimeout bounds how long Close waits for the answers being served.
const stopTimeout = 5 * time.Second

// Listener is a Server served over HTTP on its own listener until Close.
type Listener struct {
	url    string
	srv    *http.Server
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// Listen serves s on a new listener at addr ("127.0.0.1:0" picks a free
// loopback port) until Close.
func (s *Server) Listen(addr string) (*Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening for the RunPod stand-in: %w", err)
	}
	return s.Serve(ln), nil
}

// Serve serves s on ln until Close, with bounded reads and writes. Every
// request inherits a context that Close cancels, so an answer held back by a
// Delay fault ends at Close instead of holding it up.
func (s *Server) Serve(ln net.Listener) *Listener {
	ctx, cancel := context.WithCancel(context.Background())
	l := &Listener{url: "http://" + ln.Addr().String(), cancel: cancel, done: make(chan struct{})}
	l.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	go func() {
		defer close(l.done)
		// Serve returns ErrServerClosed after Close; any other error has
		// already closed the listener, and requests simply fail to connect.
		_ = l.srv.Serve(ln)
	}()
	return l
}

// URL is the GraphQL endpoint: http://HOST:PORT/graphql.
func (l *Listener) URL() string { return l.url + "/graphql" }

// Close stops accepting, ends the answers being served (their context is
// cancelled first, so a delayed answer does not hold it up), waits for them
// within stopTimeout, closes whatever connection is left and returns once the
// serving goroutine has ended. It is safe to call twice.
func (l *Listener) Close() {
	l.once.Do(func() {
		l.cancel()
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		_ = l.srv.Shutdown(ctx)
		_ = l.srv.Close()
		<-l.done
	})
}

// TB is the part of testing.TB that Start uses. Naming it here keeps the
// package testing out of the aiadmin binary, whose demo runs the stand-in.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
}

// Start serves s on a free loopback port until the test ends and returns the
// GraphQL endpoint URL.
func (s *Server) Start(t TB) string {
	t.Helper()
	l, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatalf("%v", err)
	}
	t.Cleanup(l.Close)
	return l.URL()
}
