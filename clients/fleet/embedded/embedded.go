// Package embedded runs an in-process, Valkey-compatible store for the fleet
// state, so that the admin API runs on a machine with nothing installed
// (`make run`). It is miniredis listening on loopback; connect to it with
// fleet.Connect and ConnectOptions.Embedded set.
//
// Key TTLs run on the wall clock, in steps of Tick: miniredis's ClockTTL mode
// ages every key by the clock time elapsed since the previous command, and a
// goroutine moves that clock to the wall clock every Tick. Left on the wall
// clock itself, ClockTTL would age every key on every command, which makes a
// pipeline of thousands of reads (the fleet summary of the demo fleet) take
// seconds; stepped, a key set to expire in one second is gone for any
// command issued a second and a Tick later.
//
// It is for development only: the data lives in memory and dies with the
// process.
package embedded

import (
	"fmt"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// Tick is how often the store's clock catches up with the wall clock.
const Tick = 50 * time.Millisecond

// Server is a running embedded store.
type Server struct {
	m         *miniredis.Miniredis
	addr      string
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// Start starts an embedded store on a free port of 127.0.0.1.
func Start() (*Server, error) {
	m := miniredis.NewMiniRedis()
	m.SetTime(time.Now())
	m.ClockTTL(true)
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("starting embedded valkey: %w", err)
	}
	s := &Server{m: m, addr: m.Addr(), stop: make(chan struct{}), done: make(chan struct{})}
	go s.runClock()
	return s, nil
}

// runClock moves the store's clock to the wall clock every Tick until Close.
func (s *Server) runClock() {
	defer close(s.done)
	t := time.NewTicker(Tick)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			s.m.SetTime(now)
		}
	}
}

// Addr returns the host:port the store listens on.
func (s *Server) Addr() string { return s.addr }

// Close stops the store and drops its data; it is safe to call twice.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
	})
	s.m.Close()
}
