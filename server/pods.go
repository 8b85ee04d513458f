package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/threatwinds/aiadmin/gen/adminapi"
)

// PodService lists, describes and restarts the fleet's pods; *PodCatalog
// implements it. Its errors match ErrInvalidPodID, ErrPodNotFound, ErrRunPod
// (as a *PodCallError), ErrFleetState, ErrRestartInProgress or
// ErrRequestTimedOut.
type PodService interface {
	ListPods(ctx context.Context, offset, limit int64) ([]adminapi.Pod, int64, error)
	GetPod(ctx context.Context, id string) (adminapi.PodDetail, error)
	RestartPod(ctx context.Context, id string) error
}

// Audit action of a pod restart.
const auditPodRestart = "pod.restart"

// ListPods answers a page of the fleet's pods.
func (h *Handlers) ListPods(ctx context.Context, req adminapi.ListPodsRequestObject) (adminapi.ListPodsResponseObject, error) {
	if h.Pods == nil {
		return nil, errNotImplemented
	}
	page, limit, offset := pageWindow(req.Params.Page, req.Params.Limit)
	pods, total, err := h.Pods.ListPods(ctx, offset, limit)
	if err != nil {
		return nil, podError(err)
	}
	if pods == nil {
		pods = []adminapi.Pod{}
	}
	return adminapi.ListPods200JSONResponse{Pods: pods, Page: page, Limit: limit, Total: total}, nil
}

// GetPod answers one pod.
func (h *Handlers) GetPod(ctx context.Context, req adminapi.GetPodRequestObject) (adminapi.GetPodResponseObject, error) {
	if h.Pods == nil {
		return nil, errNotImplemented
	}
	if !ValidPodID(req.Id) {
		return nil, podError(ErrInvalidPodID)
	}
	p, err := h.Pods.GetPod(ctx, req.Id)
	if err != nil {
		return nil, podError(err)
	}
	return adminapi.GetPod200JSONResponse(p), nil
}

// RestartPod stops and resumes a pod, and writes the attempt to the audit
// trail whatever its outcome.
func (h *Handlers) RestartPod(ctx context.Context, req adminapi.RestartPodRequestObject) (adminapi.RestartPodResponseObject, error) {
	if h.Pods == nil {
		return nil, errNotImplemented
	}
	if !ValidPodID(req.Id) {
		// The id is caller input: bounded and printable before it is kept.
		h.audit(ctx, auditPodRestart, sanitize(req.Id), "rejected: invalid pod id")
		return nil, podError(ErrInvalidPodID)
	}
	err := h.Pods.RestartPod(ctx, req.Id)
	if err != nil {
		ae := podError(err)
		if errors.Is(err, ErrRunPod) {
			ae.Extra = map[string]string{"status": string(adminapi.Failed), "pod_id": req.Id}
			outcome := "failed: reading the pod"
			var pe *PodCallError
			if errors.As(err, &pe) && (pe.Call == PodCallStop || pe.Call == PodCallResume) {
				ae.Extra["failed_at"] = pe.Call
				outcome = "failed at " + pe.Call
			}
			h.audit(ctx, auditPodRestart, req.Id, outcome)
			return nil, ae
		}
		h.audit(ctx, auditPodRestart, req.Id, restartRefusal(err, ae))
		return nil, ae
	}
	h.audit(ctx, auditPodRestart, req.Id, "initiated")
	return adminapi.RestartPod200JSONResponse{Status: adminapi.Initiated, PodId: req.Id}, nil
}

// restartRefusal is the audit outcome of a restart that never reached
// RunPod's stop, ae being its answer.
func restartRefusal(err error, ae *APIError) string {
	switch {
	case errors.Is(err, ErrRestartInProgress):
		return "gave up: another restart of the pod was in progress"
	case errors.Is(err, ErrRequestTimedOut):
		return "gave up: the request timed out before the restart began"
	case errors.Is(err, ErrFleetState):
		return "failed: valkey unavailable"
	}
	return "rejected: " + ae.Message
}

// podError turns an error of the PodService into its answer. A context that
// ends while the caller waits for someone else's work is a 503, never a 500;
// one that ends during a RunPod call is that call's failure, a 502.
func podError(err error) *APIError {
	var pe *PodCallError
	var ae *APIError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, ErrInvalidPodID):
		return newAPIError(http.StatusUnprocessableEntity, "invalid pod id")
	case errors.Is(err, ErrPodNotFound):
		return newAPIError(http.StatusNotFound, "pod not found")
	case errors.As(err, &pe):
		return newAPIError(http.StatusBadGateway, "runpod API error").withDetail(pe.Err.Error()).withCause(err)
	case errors.Is(err, ErrRunPod):
		return newAPIError(http.StatusBadGateway, "runpod API error").withCause(err)
	case errors.Is(err, ErrFleetState):
		return valkeyUnavailable(err)
	case errors.Is(err, ErrRestartInProgress):
		return newAPIError(http.StatusServiceUnavailable, "pod restart in progress").withCause(err)
	case errors.Is(err, ErrRequestTimedOut), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return newAPIError(http.StatusServiceUnavailable, "request timed out").withCause(err)
	}
	return newAPIError(http.StatusInternalServerError, "internal server error").withCause(err)
}

// unconfiguredPods answers every pod operation while no RunPod API key is
// set, so the rest of the API still serves.
type unconfiguredPods struct{}

func (unconfiguredPods) err() error {
	return newAPIError(http.StatusServiceUnavailable, "runpod not configured").
		withDetail("set --runpod-api-key or RUNPOD_API_KEY")
}

func (u unconfiguredPods) ListPods(context.Context, int64, int64) ([]adminapi.Pod, int64, error) {
	return nil, 0, u.err()
}

func (u unconfiguredPods) GetPod(context.Context, string) (adminapi.PodDetail, error) {
	return adminapi.PodDetail{}, u.err()
}

func (u unconfiguredPods) RestartPod(context.Context, string) error { return u.err() }
