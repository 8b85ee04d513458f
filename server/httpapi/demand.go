package httpapi

import (
	"context"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/gen/adminapi"
)

// DemandReader reads the demand telemetry of backend URLs.
type DemandReader interface {
	Demand(ctx context.Context, url string) (fleet.Demand, error)
}

// GetPodDemand answers in-flight requests, last use and per-model rates of a
// backend URL. An unknown URL answers zeros.
func (h *Handlers) GetPodDemand(ctx context.Context, req adminapi.GetPodDemandRequestObject) (adminapi.GetPodDemandResponseObject, error) {
	if h.Demand == nil {
		return nil, notConfigured("valkey")
	}
	d, err := h.Demand.Demand(ctx, req.PodUrl)
	if err != nil {
		return nil, failure(inStore(err))
	}
	out := adminapi.PodDemand{
		Url:         req.PodUrl,
		Inflight:    d.Inflight,
		LastUseMs:   d.LastUseMs,
		IdleSeconds: idleSeconds(h.now(), d.LastUseMs),
		Models:      make([]adminapi.ModelDemand, 0, len(d.Models)),
	}
	for _, m := range d.Models {
		out.Models = append(out.Models, adminapi.ModelDemand{ModelId: m.ModelID, Inflight: m.Inflight, Rate5m: m.Rate5m})
	}
	return adminapi.GetPodDemand200JSONResponse(out), nil
}
