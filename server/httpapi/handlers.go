package httpapi

import (
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/threatwinds/aiadmin/gen/adminapi"
)

// Handlers implements the admin operations. Each area of the API lives in a
// file of its own and depends on a small interface declared there; a nil
// dependency answers 503 "... not configured".
type Handlers struct {
	Affinity  AffinityStore
	Registry  RegistryReader
	Refresher RefreshTrigger
	Demand    DemandReader
	Pods      PodService
	Servers   ServerLister
	Audit     Auditor
	// Drains, Sessions, AuditTrail and Summary serve the operator
	// operations beyond the API document.
	Drains     DrainControl
	Sessions   SessionReader
	AuditTrail AuditReader
	Summary    FleetSummarizer
	Now        func() time.Time
	Log        *zap.Logger
}

var _ adminapi.StrictServerInterface = (*Handlers)(nil)

func (h *Handlers) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// bodyRequired answers a request whose operation needs a body and got none.
func bodyRequired() *APIError {
	return newAPIError(http.StatusBadRequest, "invalid request body").withDetail("a JSON body is required")
}

// notConfigured answers an operation whose dependency this replica was
// built without.
func notConfigured(what string) *APIError {
	return newAPIError(http.StatusServiceUnavailable, what+" not configured")
}

// pageWindow turns validated page and limit into an offset; the validator
// injects the documented defaults, which this repeats for callers that
// bypass it.
func pageWindow(page *adminapi.Page, limit *adminapi.Limit) (p, l, offset int64) {
	p, l = 1, 10
	if page != nil {
		p = *page
	}
	if limit != nil {
		l = *limit
	}
	return p, l, (p - 1) * l
}

// idleSeconds is the time since lastUseMs, 0 when never used.
func idleSeconds(now time.Time, lastUseMs int64) int64 {
	if lastUseMs <= 0 {
		return 0
	}
	return max(0, (now.UnixMilli()-lastUseMs)/1000)
}
