// Package embedded runs an in-process, Valkey-compatible store for the fleet
// state, so that the admin API runs on a machine with nothing installed
// (`make run`). It is miniredis listening on loopback; connect to it with
// fleet.Connect and ConnectOptions.Embedded set.
//
// Key TTLs run on the wall clock: miniredis's ClockTTL mode ages every key by
// the time elapsed since the previous command, whenever a command touches the
// data, so a key set to expire in one second is gone for any command issued
// a second later. No background goroutine is needed for it.
//
// It is for development only: the data lives in memory and dies with the
// process.
package embedded

import (
	"fmt"

	"github.com/alicebob/miniredis/v2"
)

// Server is a running embedded store.
type Server struct {
	m    *miniredis.Miniredis
	addr string
}

// Start starts an embedded store on a free port of 127.0.0.1.
func Start() (*Server, error) {
	m := miniredis.NewMiniRedis()
	m.ClockTTL(true)
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("starting embedded valkey: %w", err)
	}
	return &Server{m: m, addr: m.Addr()}, nil
}

// Addr returns the host:port the store listens on.
func (s *Server) Addr() string { return s.addr }

// Close stops the store and drops its data; it is safe to call twice.
func (s *Server) Close() { s.m.Close() }
