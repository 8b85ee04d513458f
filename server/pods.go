package server

import (
	"context"

	"github.com/threatwinds/aiadmin/gen/adminapi"
)

// PodService lists, describes and restarts the fleet's pods.
type PodService interface {
	ListPods(ctx context.Context, offset, limit int64) ([]adminapi.Pod, int64, error)
}

// ListPods answers a page of the fleet's pods.
func (h *Handlers) ListPods(ctx context.Context, req adminapi.ListPodsRequestObject) (adminapi.ListPodsResponseObject, error) {
	if h.Pods == nil {
		return nil, errNotImplemented
	}
	return nil, errNotImplemented
}

// GetPod answers one pod.
func (h *Handlers) GetPod(ctx context.Context, req adminapi.GetPodRequestObject) (adminapi.GetPodResponseObject, error) {
	return nil, errNotImplemented
}

// RestartPod stops and resumes a pod.
func (h *Handlers) RestartPod(ctx context.Context, req adminapi.RestartPodRequestObject) (adminapi.RestartPodResponseObject, error) {
	return nil, errNotImplemented
}
