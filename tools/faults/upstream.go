package main

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// upstream serves a stand-in (RunPod, the Auth API, inference servers) on a
// fixed loopback address that can go down and come back, and can drop its
// idle keep-alive connections.
type upstream struct {
	handler http.Handler
	addr    string

	mu  sync.Mutex
	srv *http.Server
}

// serveUpstream serves h on a free loopback port.
func serveUpstream(h http.Handler) (*upstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := &upstream{handler: h, addr: ln.Addr().String()}
	u.serve(ln)
	return u, nil
}

// URL is http://addr.
func (u *upstream) URL() string { return "http://" + u.addr }

func (u *upstream) serve(ln net.Listener) {
	srv := &http.Server{Handler: u.handler, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	u.srv = srv
	go func() { _ = srv.Serve(ln) }()
}

// down closes the listener and every connection, ending the answers in
// progress: calls are refused until up.
func (u *upstream) down() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.srv != nil {
		_ = u.srv.Close()
		u.srv = nil
	}
}

// up serves again on the same address.
func (u *upstream) up() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.srv != nil {
		return nil
	}
	var err error
	// The port was ours a moment ago; another process may take it, rarely.
	for range 20 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", u.addr); err == nil {
			u.serve(ln)
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("serving again on %s: %w", u.addr, err)
}

// dropIdle closes the idle keep-alive connections, as a server's idle
// timeout would, so that a client's pool of them does not count as
// goroutines left behind.
func (u *upstream) dropIdle() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.srv != nil {
		u.srv.SetKeepAlivesEnabled(false)
		u.srv.SetKeepAlivesEnabled(true)
	}
}
