package httpapi

import (
	"context"

	"github.com/threatwinds/aiadmin/gen/adminapi"
	"github.com/threatwinds/aiadmin/server/pods"
	"github.com/threatwinds/aiadmin/server/summary"
)

// FleetSummarizer computes the fleet at a glance; *summary.Summarizer
// implements it.
type FleetSummarizer interface {
	Summary(ctx context.Context) (summary.Summary, error)
}

// GetFleetSummary answers the fleet at a glance.
func (h *Handlers) GetFleetSummary(ctx context.Context, _ adminapi.GetFleetSummaryRequestObject) (adminapi.GetFleetSummaryResponseObject, error) {
	if h.Summary == nil {
		return nil, notConfigured("valkey")
	}
	s, err := h.Summary.Summary(ctx)
	if err != nil {
		return nil, failure(inStore(err))
	}
	out := adminapi.FleetSummary{
		CostPerHr:  s.CostPerHr,
		Inflight:   s.Inflight,
		Requests5m: s.Requests5m,
		Providers:  make([]adminapi.ProviderServers, len(s.Providers)),
	}
	out.Pods.Total = s.Pods
	out.Pods.ByStatus = s.ByStatus
	out.Idle.Pods = s.IdlePods
	out.Idle.CostPerHr = s.IdleCostPerHr
	out.Idle.IdleAfterMinutes = int64(s.IdleAfter.Minutes())
	for i, p := range s.Providers {
		out.Providers[i] = adminapi.ProviderServers{Name: p.Name, Servers: p.Servers, Healthy: p.Healthy, Unhealthy: p.Unhealthy, Draining: p.Draining}
	}
	return adminapi.GetFleetSummary200JSONResponse{
		Body:    out,
		Headers: adminapi.GetFleetSummary200ResponseHeaders{XDataAge: dataAge(pods.Freshness{Age: s.PodsAge, Stale: s.PodsStale})},
	}, nil
}
