package httpapi

import (
	"context"
	"errors"
	"time"

	"github.com/threatwinds/aiadmin/gen/adminapi"
	"github.com/threatwinds/aiadmin/server/pods"
)

// PodService lists, describes and restarts the fleet's pods; *pods.Catalog
// implements it. Its errors are those of package pods.
type PodService interface {
	List(ctx context.Context, offset, limit int64) (pods.Page, error)
	Get(ctx context.Context, id string) (pods.Pod, pods.Freshness, error)
	Restart(ctx context.Context, id string) error
}

// Audit action of a pod restart.
const auditPodRestart = "pod.restart"

// ListPods answers a page of the fleet's pods.
func (h *Handlers) ListPods(ctx context.Context, req adminapi.ListPodsRequestObject) (adminapi.ListPodsResponseObject, error) {
	if h.Pods == nil {
		return nil, failure(pods.ErrNotConfigured)
	}
	page, limit, offset := pageWindow(req.Params.Page, req.Params.Limit)
	list, err := h.Pods.List(ctx, offset, limit)
	if err != nil {
		return nil, failure(err)
	}
	now := h.now()
	out := make([]adminapi.Pod, len(list.Pods))
	for i, p := range list.Pods {
		out[i] = podItem(p, now)
	}
	return adminapi.ListPods200JSONResponse{
		Body:    adminapi.PodList{Pods: out, Page: page, Limit: limit, Total: list.Total},
		Headers: adminapi.ListPods200ResponseHeaders{XDataAge: dataAge(list.Freshness)},
	}, nil
}

// GetPod answers one pod.
func (h *Handlers) GetPod(ctx context.Context, req adminapi.GetPodRequestObject) (adminapi.GetPodResponseObject, error) {
	if h.Pods == nil {
		return nil, failure(pods.ErrNotConfigured)
	}
	p, fr, err := h.Pods.Get(ctx, req.Id)
	if err != nil {
		return nil, failure(err)
	}
	return adminapi.GetPod200JSONResponse{
		Body:    podDetail(p, h.now()),
		Headers: adminapi.GetPod200ResponseHeaders{XDataAge: dataAge(fr)},
	}, nil
}

// dataAge is the x-data-age header of an answer built from RunPod facts:
// their age in whole seconds when older than the cache TTL, else absent.
func dataAge(fr pods.Freshness) *int {
	if !fr.Stale {
		return nil
	}
	s := int(max(fr.Age, 0) / time.Second)
	return &s
}

// RestartPod stops and resumes a pod, and writes the attempt to the audit
// trail whatever its outcome. The id has passed the spec's pattern.
func (h *Handlers) RestartPod(ctx context.Context, req adminapi.RestartPodRequestObject) (adminapi.RestartPodResponseObject, error) {
	if h.Pods == nil {
		return nil, failure(pods.ErrNotConfigured)
	}
	err := h.Pods.Restart(ctx, req.Id)
	if err == nil {
		h.audit(ctx, auditPodRestart, req.Id, "initiated")
		return adminapi.RestartPod200JSONResponse{Status: adminapi.Initiated, PodId: req.Id}, nil
	}
	ae := failure(err)
	if !errors.Is(err, pods.ErrRunPod) {
		h.audit(ctx, auditPodRestart, req.Id, restartRefusal(err, ae))
		return nil, ae
	}
	ae.Extra = map[string]string{"status": string(adminapi.Failed), "pod_id": req.Id}
	outcome := "failed: reading the pod"
	var ce *pods.CallError
	if errors.As(err, &ce) && (ce.Call == pods.CallStop || ce.Call == pods.CallResume) {
		ae.Extra["failed_at"] = ce.Call
		outcome = "failed at " + ce.Call
	}
	h.audit(ctx, auditPodRestart, req.Id, outcome)
	return nil, ae
}

// restartRefusal is the audit outcome of a restart that never reached
// RunPod's stop, ae being its answer.
func restartRefusal(err error, ae *APIError) string {
	switch {
	case errors.Is(err, pods.ErrRestartInProgress):
		return "gave up: another restart of the pod was in progress"
	case errors.Is(err, pods.ErrRequestTimedOut):
		return "gave up: the request timed out before the restart began"
	case errors.Is(err, pods.ErrFleetState):
		return "failed: valkey unavailable"
	}
	return "rejected: " + ae.Message
}

// podItem is a pod as GET /pods shows it.
func podItem(p pods.Pod, now time.Time) adminapi.Pod {
	return adminapi.Pod{
		Id:               p.ID,
		Name:             p.Name,
		DesiredStatus:    p.DesiredStatus,
		Kind:             p.Kind,
		Url:              p.URL,
		Draining:         p.Draining,
		Models:           p.Models,
		Healthy:          p.Healthy,
		Inflight:         p.Inflight,
		LastUseMs:        p.LastUseMs,
		IdleSeconds:      idleSeconds(now, p.LastUseMs),
		LastStatusChange: p.LastStatusChange,
		CostPerHr:        p.CostPerHr,
		DataCenterId:     p.DataCenterID,
		Location:         p.Location,
		GpuTypeId:        p.GPUTypeID,
	}
}

// podDetail is a pod as GET /pods/{id} shows it.
func podDetail(p pods.Pod, now time.Time) adminapi.PodDetail {
	v := podItem(p, now)
	return adminapi.PodDetail{
		Id: v.Id, Name: v.Name, DesiredStatus: v.DesiredStatus, Kind: v.Kind, Url: v.Url, Draining: v.Draining,
		Models: v.Models, Healthy: v.Healthy, Inflight: v.Inflight, LastUseMs: v.LastUseMs,
		IdleSeconds: v.IdleSeconds, LastStartedAt: p.LastStartedAt, LastStatusChange: v.LastStatusChange,
		CostPerHr: v.CostPerHr, DataCenterId: v.DataCenterId, Location: v.Location, GpuTypeId: v.GpuTypeId,
	}
}
