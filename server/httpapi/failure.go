package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/valkey-io/valkey-go"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/flight"
	"github.com/threatwinds/aiadmin/clients/runpod"
	"github.com/threatwinds/aiadmin/server/pods"
	"github.com/threatwinds/aiadmin/server/pool"
)

// errStore marks a failure of the fleet-state store (Valkey); handlers whose
// dependency is the store wrap its errors with inStore.
var errStore = errors.New("fleet state store failure")

// inStore marks err as a failure of the store.
func inStore(err error) error { return fmt.Errorf("%w: %w", errStore, err) }

// failure is the one mapping from a backend failure to its answer, one
// answer per kind of failure; the README's error table mirrors it. Details
// say what failed in the product's words; addresses and wrapped Go errors
// stay in the cause, which only the log line of the same x-error-id holds.
func failure(err error) *APIError {
	var ae *APIError
	var ce *pods.CallError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, pods.ErrNotConfigured):
		return newAPIError(http.StatusServiceUnavailable, "runpod not configured").
			withDetail("set --runpod-api-key or RUNPOD_API_KEY").withCause(err)
	case errors.Is(err, pods.ErrPodNotFound):
		return newAPIError(http.StatusNotFound, "pod not found")
	case errors.As(err, &ce):
		return newAPIError(http.StatusBadGateway, "runpod API error").withDetail(runpodDetail(ce)).withCause(err)
	case errors.Is(err, pods.ErrRestartInProgress):
		return newAPIError(http.StatusServiceUnavailable, "pod restart in progress").withCause(err)
	case errors.Is(err, pool.ErrServerNotFound):
		return newAPIError(http.StatusNotFound, "server not found")
	case errors.Is(err, fleet.ErrInvalidAuditID):
		return newAPIError(http.StatusBadRequest, "invalid query parameter before").
			withDetail("must be the next of an earlier page: two integers of 64 bits joined by -")
	case errors.Is(err, fleet.ErrDrainReasonTooLong):
		return newAPIError(http.StatusBadRequest, "invalid request body").
			withDetail(fmt.Sprintf("reason: at most %d characters", fleet.MaxDrainReason)).withCause(err)
	case errors.Is(err, fleet.ErrEmptyUser), errors.Is(err, fleet.ErrEmptyModel), errors.Is(err, fleet.ErrEmptyURL):
		return newAPIError(http.StatusBadRequest, "invalid request body").withDetail("a required field is empty").withCause(err)
	case errors.Is(err, pods.ErrRequestTimedOut), errors.Is(err, flight.ErrStoppedWaiting):
		return newAPIError(http.StatusServiceUnavailable, "request timed out").withCause(err)
	case errors.Is(err, errStore), errors.Is(err, pods.ErrFleetState), errors.Is(err, pool.ErrNotLoaded):
		return storeFailure(err)
	case errors.Is(err, pods.ErrRequestTimedOut), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return newAPIError(http.StatusServiceUnavailable, "request timed out").withCause(err)
	}
	return newAPIError(http.StatusInternalServerError, "internal server error").withCause(err)
}

// storeFailure answers a failure of the store by its kind: the store
// answered with an error ("valkey error"), or it could not be reached or did
// not answer in time ("valkey unavailable"). Both are 503: the request may
// succeed once the store is back.
func storeFailure(err error) *APIError {
	var ve *valkey.ValkeyError
	if errors.As(err, &ve) && !timedOut(err) {
		return newAPIError(http.StatusServiceUnavailable, "valkey error").
			withDetail("the store refused the command").withCause(err)
	}
	detail := "the store could not be reached"
	if timedOut(err) {
		detail = "the store did not answer in time"
	}
	return newAPIError(http.StatusServiceUnavailable, "valkey unavailable").withDetail(detail).withCause(err)
}

// runpodDetail says how a RunPod call failed without its address or the
// client's wording.
func runpodDetail(ce *pods.CallError) string {
	var status *runpod.StatusError
	var ne net.Error
	switch {
	case errors.Is(ce, pods.ErrNotResumable):
		return "the pod reports nothing to resume it with (no GPUs, or a spot pod without a cost), so it was not stopped"
	case timedOut(ce):
		return "RunPod did not answer in time"
	case errors.As(ce, &status):
		return fmt.Sprintf("RunPod answered %d", status.Code)
	case errors.As(ce, &ne):
		return "RunPod could not be reached"
	case errors.Is(ce, runpod.ErrRefused):
		return "RunPod refused the request"
	}
	return "RunPod gave no usable answer"
}

// timedOut reports whether err is a deadline that passed.
func timedOut(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}
