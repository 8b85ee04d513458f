// Package authapitest is a stand-in for the ThreatWinds Auth API on loopback:
// real HTTP answering GET /session and GET /keypair as the documentation
// shows, with switches to be slow or failing and a count of calls.
package authapitest

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Session is what the stand-in knows about one bearer token.
type Session struct {
	SessionID string
	UserID    string
	Verified  bool
	// ExpireAt is sent as epoch seconds.
	ExpireAt time.Time
	Roles    []string
	Groups   []string
}

// KeyPair is what the stand-in knows about one API key and secret.
type KeyPair struct {
	KeyID    string
	UserID   string
	Verified bool
	// ExpireAt is sent as epoch seconds.
	ExpireAt time.Time
	Roles    []string
	Groups   []string
}

// ErrorBody is the JSON body of every error answer; the same text and id
// travel in the x-error and x-error-id headers.
type ErrorBody struct {
	Error   string `json:"error"`
	ErrorID string `json:"errorID"`
}

// Server is a running stand-in Auth API. Its methods are safe for
// concurrent use, also while requests are being answered.
type Server struct {
	srv     *httptest.Server
	handler http.Handler
	calls   atomic.Int64
	delay   atomic.Int64 // nanoseconds
	failing atomic.Int64 // status to answer every call with; 0 answers normally

	mu       sync.RWMutex
	sessions map[string]Session
	keyPairs map[[2]string]KeyPair
}

// NewServer starts a stand-in on a loopback port; Close stops it.
func NewServer() *Server {
	s := &Server{
		sessions: make(map[string]Session),
		keyPairs: make(map[[2]string]KeyPair),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/session", s.handleSession)
	mux.HandleFunc("/keypair", s.handleKeyPair)
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		if d := time.Duration(s.delay.Load()); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if status := int(s.failing.Load()); status != 0 {
			writeError(w, status, "auth service failing")
			return
		}
		if r.Method != http.MethodGet {
			writeError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		h, pattern := mux.Handler(r)
		if pattern == "" {
			writeError(w, http.StatusNotFound, "not found")
			return
		}
		h.ServeHTTP(w, r)
	})
	s.srv = httptest.NewServer(s.handler)
	return s
}

// Handler is the stand-in's HTTP handler, the one its loopback server runs:
// for a test that makes so many calls that sockets would make it slow, and
// that only needs the same answers.
func (s *Server) Handler() http.Handler { return s.handler }

// URL is the base URL to give the client, as in {base}/session.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the stand-in, waiting for calls in progress.
func (s *Server) Close() { s.srv.Close() }

// Calls counts the requests the stand-in received, answered or not.
func (s *Server) Calls() int64 { return s.calls.Load() }

// ResetCalls sets the count of calls back to zero.
func (s *Server) ResetCalls() { s.calls.Store(0) }

// SetDelay makes every later call wait d before answering; 0 answers at once.
// A caller that gives up ends the wait.
func (s *Server) SetDelay(d time.Duration) { s.delay.Store(int64(d)) }

// SetFailing makes every later call answer status with an error body;
// 0 goes back to answering normally.
func (s *Server) SetFailing(status int) { s.failing.Store(int64(status)) }

// AddSession makes token a known bearer token.
func (s *Server) AddSession(token string, sess Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess.Roles, sess.Groups = slices.Clone(sess.Roles), slices.Clone(sess.Groups)
	s.sessions[token] = sess
}

// AddKeyPair makes key with secret a known key pair.
func (s *Server) AddKeyPair(key, secret string, k KeyPair) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k.Roles, k.Groups = slices.Clone(k.Roles), slices.Clone(k.Groups)
	s.keyPairs[[2]string{key, secret}] = k
}

type sessionAnswer struct {
	SessionID string   `json:"sessionID"`
	UserID    string   `json:"userID"`
	Verified  bool     `json:"verified"`
	ExpireAt  int64    `json:"expireAt"`
	Roles     []string `json:"roles"`
	Groups    []string `json:"groups"`
}

type keyPairAnswer struct {
	APIKey   string   `json:"apiKey"`
	KeyID    string   `json:"keyID"`
	Verified bool     `json:"verified"`
	ExpireAt int64    `json:"expireAt"`
	UserID   string   `json:"userID"`
	Roles    []string `json:"roles"`
	Groups   []string `json:"groups"`
}

func (s *Server) handleSession(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		writeError(w, http.StatusUnauthorized, "missing bearer token")
		return
	}
	s.mu.RLock()
	sess, ok := s.sessions[token]
	s.mu.RUnlock()
	if !ok {
		writeError(w, http.StatusUnauthorized, "invalid session")
		return
	}
	writeJSON(w, http.StatusOK, sessionAnswer{
		SessionID: sess.SessionID,
		UserID:    sess.UserID,
		Verified:  sess.Verified,
		ExpireAt:  sess.ExpireAt.Unix(),
		Roles:     nonNil(sess.Roles),
		Groups:    nonNil(sess.Groups),
	})
}

func (s *Server) handleKeyPair(w http.ResponseWriter, r *http.Request) {
	key, secret := r.Header.Get("api-key"), r.Header.Get("api-secret")
	if key == "" || secret == "" {
		writeError(w, http.StatusUnauthorized, "missing api key or secret")
		return
	}
	s.mu.RLock()
	k, ok := s.keyPairs[[2]string{key, secret}]
	s.mu.RUnlock()
	if !ok {
		writeError(w, http.StatusUnauthorized, "invalid key pair")
		return
	}
	writeJSON(w, http.StatusOK, keyPairAnswer{
		APIKey:   key,
		KeyID:    k.KeyID,
		Verified: k.Verified,
		ExpireAt: k.ExpireAt.Unix(),
		UserID:   k.UserID,
		Roles:    nonNil(k.Roles),
		Groups:   nonNil(k.Groups),
	})
}

func writeError(w http.ResponseWriter, status int, msg string) {
	id := rand.Text()
	w.Header().Set("x-error", msg)
	w.Header().Set("x-error-id", id)
	writeJSON(w, status, ErrorBody{Error: msg, ErrorID: id})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
