package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/valkey-io/valkey-go"
	"go.uber.org/zap"

	"github.com/threatwinds/aiadmin/gen/adminapi"
)

// Handlers implements the admin operations. Each area of the API lives in a
// file of its own and depends on a small interface declared there; a nil
// dependency answers 501.
type Handlers struct {
	Affinity  AffinityStore
	Registry  RegistryReader
	Refresher RefreshTrigger
	Demand    DemandReader
	Pods      PodService
	Servers   ServerLister
	Audit     Auditor
	Now       func() time.Time
	Log       *zap.Logger
}

var _ adminapi.StrictServerInterface = (*Handlers)(nil)

func (h *Handlers) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

var errNotImplemented = newAPIError(http.StatusNotImplemented, "not implemented")

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

// valkeyUnavailable is the answer of an operation whose store failed.
func valkeyUnavailable(err error) *APIError {
	return newAPIError(http.StatusServiceUnavailable, "valkey unavailable").withCause(err)
}

// valkeyFailure says, without internals, how the store failed.
func valkeyFailure(err error) string {
	var ne net.Error
	var ve *valkey.ValkeyError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return "the store did not answer in time"
	case errors.As(err, &ve):
		return "the store refused the command"
	}
	return "the store could not be reached"
}
