package main

import (
	"fmt"
	"net/http"

	"github.com/threatwinds/aiadmin/tools/internal/load"
)

// Operation names, as reports show them.
const (
	opAffinity     = "GET /affinity"
	opServers      = "GET /servers"
	opRegistry     = "GET /registry/{model}"
	opDemand       = "GET /demand/{url}"
	opUserSessions = "GET /affinity/users/{user}"
	opAudit        = "GET /audit"
	opClear        = "POST /affinity/clear"
	opPodList      = "GET /pods"
	opPodDetail    = "GET /pods/{id}"
	opSummary      = "GET /fleet/summary"
	opRestart      = "POST /pods/{id}/restart"
)

// storeOps read or write the fleet state in Valkey and nothing else;
// podOps read RunPod's pods (the summary is built from the pod list).
var (
	storeOps = []string{opAffinity, opServers, opRegistry, opDemand, opUserSessions, opAudit, opClear}
	podOps   = []string{opPodList, opPodDetail, opSummary}
)

// mix builds the requests of the tool's load against one aiadmin.
type mix struct {
	e *env
	p *aiadminProc
	// auth gives the credential headers of a worker's n-th request.
	auth func(worker, n int) http.Header
	ops  []string
}

// newMix is a mix of ops sent with the tool's bearer token.
func newMix(e *env, p *aiadminProc, ops ...string) *mix {
	h := http.Header{"Authorization": {"Bearer " + e.token}}
	return &mix{e: e, p: p, ops: ops, auth: func(int, int) http.Header { return h }}
}

// next is a load.Options.Next: each worker walks the operations from its
// own starting point, so every operation is in flight all the time.
func (m *mix) next(worker, n int) load.Request {
	return m.request(m.ops[(worker+n)%len(m.ops)], worker, n)
}

// request builds one request of op; n picks the pod or user it is about.
func (m *mix) request(op string, worker, n int) load.Request {
	ids := m.e.fleetPodIDs()
	id := ids[(worker*7+n)%len(ids)]
	r := load.Request{Op: op, Method: http.MethodGet, Header: m.auth(worker, n)}
	switch op {
	case opAffinity:
		r.URL = m.p.api("/affinity")
	case opServers:
		r.URL = m.p.api("/servers?limit=50")
	case opRegistry:
		r.URL = m.p.api("/registry/" + modelID + "?limit=50")
	case opDemand:
		r.URL = m.p.api("/demand/" + m.e.escapedPodURL(ids[n%servedPods]))
	case opUserSessions:
		r.URL = m.p.api("/affinity/users/" + pinnedUser)
	case opAudit:
		r.URL = m.p.api("/audit?limit=20")
	case opClear:
		r.Method = http.MethodPost
		r.URL = m.p.api("/affinity/clear")
		r.Header = r.Header.Clone()
		r.Header.Set("Content-Type", "application/json")
		// A user nobody pinned: the write runs, and clears nothing.
		r.Body = fmt.Appendf(nil, `{"user_id":"usr_faults_w%d","model_id":null}`, worker)
	case opPodList:
		r.URL = m.p.api(fmt.Sprintf("/pods?page=1&limit=%d", 10+n%3*10))
	case opPodDetail:
		r.URL = m.p.api("/pods/" + id)
	case opSummary:
		r.URL = m.p.api("/fleet/summary")
	case opRestart:
		r.Method = http.MethodPost
		r.URL = m.p.api("/pods/" + id + "/restart")
	default:
		panic("unknown operation " + op)
	}
	return r
}
