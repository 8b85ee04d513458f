package httpapi

import (
	"context"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/gen/adminapi"
)

// AffinityStore reads affinity metrics and clears a user's affinity.
type AffinityStore interface {
	AffinityMetrics(ctx context.Context) ([]fleet.ProviderAffinity, error)
	ClearAffinity(ctx context.Context, userID string, modelID *string) (int64, error)
}

// GetAffinityMetrics answers hit, miss and fallback counts per provider.
func (h *Handlers) GetAffinityMetrics(ctx context.Context, _ adminapi.GetAffinityMetricsRequestObject) (adminapi.GetAffinityMetricsResponseObject, error) {
	if h.Affinity == nil {
		return nil, notConfigured("valkey")
	}
	metrics, err := h.Affinity.AffinityMetrics(ctx)
	if err != nil {
		return nil, failure(inStore(err))
	}
	out := adminapi.AffinityMetrics{Providers: make([]adminapi.ProviderAffinity, 0, len(metrics))}
	for _, m := range metrics {
		out.Providers = append(out.Providers, adminapi.ProviderAffinity{
			Name:             m.Name,
			SessionHitCount:  m.Hits,
			SessionMissCount: m.Misses,
			FallbackCount:    m.Fallbacks,
			TtlMinutes:       int64(m.TTL.Minutes()),
		})
	}
	return adminapi.GetAffinityMetrics200JSONResponse(out), nil
}

// ClearAffinity removes a user's affinity entries, for all models or one.
func (h *Handlers) ClearAffinity(ctx context.Context, req adminapi.ClearAffinityRequestObject) (adminapi.ClearAffinityResponseObject, error) {
	if h.Affinity == nil {
		return nil, notConfigured("valkey")
	}
	if req.Body == nil {
		return nil, bodyRequired()
	}
	body := *req.Body
	cleared, err := h.Affinity.ClearAffinity(ctx, body.UserId, body.ModelId)
	if err != nil {
		h.audit(ctx, "affinity.clear", body.UserId, "failed")
		return nil, failure(inStore(err))
	}
	h.audit(ctx, "affinity.clear", body.UserId, "cleared")
	return adminapi.ClearAffinity200JSONResponse{UserId: body.UserId, ModelId: body.ModelId, Cleared: cleared}, nil
}
