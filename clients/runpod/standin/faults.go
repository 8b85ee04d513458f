package standin

import "time"

// Fault is what the stand-in does instead of answering one operation
// normally. Delay applies first; then Status, Malformed or GraphQLError, if
// set, replace the answer. A fault with only a delay answers normally, late.
type Fault struct {
	// Status answers this HTTP status with a plain-text body (429, 500, 503...).
	Status int
	// GraphQLError answers 200 with this message in "errors" and the
	// operation's field null.
	GraphQLError string
	// Malformed answers 200 with a body that is not JSON.
	Malformed bool
	// Delay holds the answer back this long, or until the client goes away.
	Delay time.Duration
}

type faultEntry struct {
	fault     Fault
	remaining int // negative: forever
}

// FailNext makes the next n calls of op answer the HTTP status.
func (s *Server) FailNext(op string, n int, status int) {
	s.FaultNext(op, n, Fault{Status: status})
}

// FaultNext makes the next n calls of op suffer f; a negative n makes every
// call suffer it until ClearFaults. Faults queued for one operation apply in
// the order they were queued.
func (s *Server) FaultNext(op string, n int, f Fault) {
	if n == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[op] = append(s.faults[op], faultEntry{fault: f, remaining: n})
}

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// takeFault counts a call of op and returns the fault it suffers, if any.
func (s *Server) takeFault(op string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[op]++
	queue := s.faults[op]
	if len(queue) == 0 {
		return Fault{}, false
	}
	f := queue[0].fault
	if queue[0].remaining > 0 {
		queue[0].remaining--
		if queue[0].remaining == 0 {
			queue = queue[1:]
		}
	}
	s.faults[op] = queue
	return f, true
}
