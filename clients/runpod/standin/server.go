// Package standin is a stand-in for RunPod's GraphQL API: pods held in
// memory, served over HTTP by the real graphql-go engine against the part of
// RunPod's schema the gateway uses, with faults (HTTP statuses, GraphQL
// errors, malformed answers, delays) that tests can ask for per operation.
//
// It is ordinary code, not test support: the demo fleet of the aiadmin
// binary and the runpod-standin command serve it, and tests use it too. So it
// imports neither testing nor net/http/httptest.
package standin

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	graphql "github.com/graph-gophers/graphql-go"
)

// Operation names, one per root field, for faults and call counts.
const (
	OpMyself    = "myself"
	OpPod       = "pod"
	OpPodStop   = "podStop"
	OpPodResume = "podResume"
	// OpPodBidResume resumes a spot pod with a bid.
	OpPodBidResume = "podBidResume"
)

// Pod statuses and types the stand-in sets itself.
const (
	StatusRunning = "RUNNING"
	StatusExited  = "EXITED"
	TypeReserved  = "RESERVED"
	TypeSpot      = "INTERRUPTABLE"
)

// maxRequestBytes bounds a request body.
const maxRequestBytes = 1 << 20

// Pod is a pod as the stand-in holds it. LastStatusChange and LastStartedAt
// are served verbatim, so tests can give them in any rendering RunPod uses.
// Empty optional strings are served as null.
type Pod struct {
	ID               string
	Name             string
	DesiredStatus    string // a PodStatus value: RUNNING, EXITED, ...
	CostPerHr        float64
	GPUCount         int
	PodType          string // a PodType value, or "" for null
	LastStatusChange string
	LastStartedAt    string
	UptimeSeconds    int
	MachineID        string
	GPUDisplayName   string
	GPUTypeID        string
	Location         string
	DataCenterID     string
}

// Server is the stand-in. It is an http.Handler answering POSTs on any path;
// its methods are safe for concurrent use.
type Server struct {
	key    string
	schema *graphql.Schema

	mu       sync.Mutex
	pods     map[string]*Pod
	order    []string
	requests int
	calls    map[string]int
	faults   map[string][]faultEntry
	now      func() time.Time
}

// NewServer returns a stand-in that holds pods and accepts requests carrying
// "Authorization: Bearer <apiKey>"; with an empty key it refuses every
// request.
func NewServer(apiKey string, pods ...Pod) *Server {
	s := &Server{
		key:    apiKey,
		pods:   make(map[string]*Pod),
		calls:  make(map[string]int),
		faults: make(map[string][]faultEntry),
		now:    time.Now,
	}
	s.schema = graphql.MustParseSchema(schemaSDL, &rootResolver{s})
	for _, p := range pods {
		s.Add(p)
	}
	return s
}

// SetClock makes the stand-in read the time from now, for the status-change
// times it writes on stop and resume.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Add stores p, replacing any pod with the same id.
func (s *Server) Add(p Pod) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.pods[p.ID]; !ok {
		s.order = append(s.order, p.ID)
	}
	s.pods[p.ID] = &p
}

// Pods returns a copy of every pod, in the order they were added.
func (s *Server) Pods() []Pod {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Pod, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, *s.pods[id])
	}
	return out
}

// Pod returns a copy of the pod with the given id.
func (s *Server) Pod(id string) (Pod, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pods[id]
	if !ok {
		return Pod{}, false
	}
	return *p, true
}

// Calls is how many times operation op (OpMyself, OpPod, ...) was reached,
// faulted answers included; requests refused for their key or rejected by
// schema validation never reach an operation.
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// Requests is how many HTTP requests reached the stand-in, refused ones
// included.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// errFaulted stops an operation whose answer a fault replaces.
var errFaulted = errors.New("answer replaced by an injected fault")

// enter is called by every root resolver before it does anything: it counts
// the call and applies its fault. A fault that replaces the whole HTTP answer
// is left in the request state for ServeHTTP.
func (s *Server) enter(ctx context.Context, op string) error {
	f, ok := s.takeFault(op)
	if !ok {
		return nil
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	switch {
	case f.Status != 0 || f.Malformed:
		if st, ok := ctx.Value(stateKey{}).(*requestState); ok {
			st.replace(f)
		}
		return errFaulted
	case f.GraphQLError != "":
		return errors.New(f.GraphQLError)
	}
	return nil
}

// stop applies podStop: the pod is EXITED and its status change is now.
func (s *Server) stop(id string) (Pod, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pods[id]
	if !ok {
		return Pod{}, fmt.Errorf("pod not found: %s", id)
	}
	p.DesiredStatus = StatusExited
	p.UptimeSeconds = 0
	p.LastStatusChange = "Exited by User: " + JSDate(s.now().In(statusZone), statusZoneName)
	return *p, nil
}

// resume applies podResume (bidPerGPU 0) or podBidResume: the pod is
// RUNNING with gpuCount GPUs, started now. A spot pod resumes only with a
// bid, which sets its cost; an on-demand pod only without one.
func (s *Server) resume(id string, gpuCount int, bidPerGPU float64) (Pod, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pods[id]
	if !ok {
		return Pod{}, fmt.Errorf("pod not found: %s", id)
	}
	switch spot := p.PodType == TypeSpot; {
	case spot && bidPerGPU == 0:
		return Pod{}, fmt.Errorf("pod %s is a spot pod: resume it with podBidResume", id)
	case !spot && bidPerGPU != 0:
		return Pod{}, fmt.Errorf("pod %s is not a spot pod: resume it with podResume", id)
	case spot:
		p.CostPerHr = bidPerGPU * float64(gpuCount)
	}
	now := s.now()
	p.DesiredStatus = StatusRunning
	p.GPUCount = gpuCount
	p.UptimeSeconds = 0
	p.LastStatusChange = "Resumed by User: " + JSDate(now.In(statusZone), statusZoneName)
	p.LastStartedAt = now.UTC().Format("2006-01-02 15:04:05.000 -0700 MST")
	return *p, nil
}

// statusZone is the account zone the stand-in writes status changes in, as
// RunPod writes them in the account's zone.
var (
	statusZone     = time.FixedZone("CEST", 2*60*60)
	statusZoneName = "Central European Summer Time"
)

// JSDate renders t as JavaScript's Date.toString() does in t's location:
// "Tue Jun 25 2024 10:00:00 GMT+0200 (Central European Summer Time)". Go
// knows no long zone names, so zoneName is given.
func JSDate(t time.Time, zoneName string) string {
	return t.Format("Mon Jan 02 2006 15:04:05 GMT-0700") + " (" + zoneName + ")"
}

type stateKey struct{}

// requestState carries, from resolvers to ServeHTTP, a fault that replaces
// the whole answer. Resolvers of one request may run concurrently.
type requestState struct {
	mu    sync.Mutex
	fault *Fault
}

func (st *requestState) replace(f Fault) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.fault == nil {
		st.fault = &f
	}
}

func (st *requestState) replaced() *Fault {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.fault
}

// ServeHTTP answers one GraphQL request: 401 without the right bearer key,
// 400 for a body that is not a GraphQL request or a query the schema rejects,
// otherwise the executed answer (200), unless a fault replaces it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeErrors(w, http.StatusMethodNotAllowed, "only POST is served")
		return
	}
	if !s.authorized(r.Header.Get("Authorization")) {
		writeErrors(w, http.StatusUnauthorized, "unauthorized: a valid api key is required")
		return
	}
	var req struct {
		Query         string         `json:"query"`
		OperationName string         `json:"operationName"`
		Variables     map[string]any `json:"variables"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxRequestBytes)).Decode(&req); err != nil {
		writeErrors(w, http.StatusBadRequest, "body is not a GraphQL request")
		return
	}
	if strings.TrimSpace(req.Query) == "" {
		writeErrors(w, http.StatusBadRequest, "query is missing")
		return
	}

	st := &requestState{}
	ctx := context.WithValue(r.Context(), stateKey{}, st)
	resp := s.schema.Exec(ctx, req.Query, req.OperationName, req.Variables)

	if f := st.replaced(); f != nil {
		if f.Malformed {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, `{"data": {"myself": {"pods": [{"id": "`)
			return
		}
		if f.Status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		http.Error(w, http.StatusText(f.Status), f.Status)
		return
	}

	status := http.StatusOK
	if len(resp.Data) == 0 && len(resp.Errors) > 0 {
		// Nothing ran: the query did not parse or validate.
		status = http.StatusBadRequest
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(resp)
}

func (s *Server) authorized(header string) bool {
	token, ok := strings.CutPrefix(header, "Bearer ")
	return ok && s.key != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.key)) == 1
}

// writeErrors answers a GraphQL-style error body.
func writeErrors(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]string{{"message": msg}},
	})
}
