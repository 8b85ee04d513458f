package httpapi

import (
	"context"
	"net/http"

	"github.com/threatwinds/aiadmin/gen/adminapi"
)

// RegistryReader pages the backend URLs of a model.
type RegistryReader interface {
	RegistryPage(ctx context.Context, modelID string, offset, limit int64) ([]string, int64, error)
}

// RefreshTrigger asks every replica to rebuild its routing tables.
type RefreshTrigger interface {
	PublishRefresh(ctx context.Context) error
}

// GetRegistry answers a page of the URLs registered for a model.
func (h *Handlers) GetRegistry(ctx context.Context, req adminapi.GetRegistryRequestObject) (adminapi.GetRegistryResponseObject, error) {
	if h.Registry == nil {
		return nil, notConfigured("valkey")
	}
	page, limit, offset := pageWindow(req.Params.Page, req.Params.Limit)
	urls, total, err := h.Registry.RegistryPage(ctx, req.ModelId, offset, limit)
	if err != nil {
		return nil, failure(inStore(err))
	}
	if urls == nil {
		urls = []string{}
	}
	return adminapi.GetRegistry200JSONResponse{ModelId: req.ModelId, Urls: urls, Page: page, Limit: limit, Total: total}, nil
}

// RefreshRegistry publishes a refresh that every replica acts on.
func (h *Handlers) RefreshRegistry(ctx context.Context, _ adminapi.RefreshRegistryRequestObject) (adminapi.RefreshRegistryResponseObject, error) {
	if h.Refresher == nil {
		return nil, notConfigured("valkey")
	}
	if err := h.Refresher.PublishRefresh(ctx); err != nil {
		h.audit(ctx, "registry.refresh", "", "failed")
		// The API document names this answer; the detail says how the
		// store failed.
		return nil, newAPIError(http.StatusInternalServerError, "registry refresh failed").
			withDetail(failure(inStore(err)).Detail).withCause(err)
	}
	h.audit(ctx, "registry.refresh", "", "triggered")
	return adminapi.RefreshRegistry200JSONResponse{Status: adminapi.Triggered}, nil
}
