package httpapi

import (
	"context"

	"github.com/threatwinds/aiadmin/gen/adminapi"
	"github.com/threatwinds/aiadmin/server/pool"
)

// ServerLister pages the server pool, across providers, with the health the
// fleet's prober shared. *pool.ServerList implements it.
type ServerLister interface {
	ListServers(ctx context.Context, offset, limit int64) ([]pool.ServerStatus, int64, error)
}

// ListServers answers a page of the server pool.
func (h *Handlers) ListServers(ctx context.Context, req adminapi.ListServersRequestObject) (adminapi.ListServersResponseObject, error) {
	if h.Servers == nil {
		return nil, notConfigured("valkey")
	}
	page, limit, offset := pageWindow(req.Params.Page, req.Params.Limit)
	list, total, err := h.Servers.ListServers(ctx, offset, limit)
	if err != nil {
		return nil, failure(inStore(err))
	}
	out := make([]adminapi.Server, len(list))
	for i, s := range list {
		out[i] = adminapi.Server{
			Provider:             adminapi.ServerProvider(s.Provider),
			Url:                  s.URL,
			Healthy:              s.Healthy,
			ConsecutiveFailures:  s.ConsecutiveFailures,
			ConsecutiveSuccesses: s.ConsecutiveSuccesses,
			LastCheckMs:          s.LastCheckMs,
			LastFailureMs:        s.LastFailureMs,
			Models:               s.Models,
			Draining:             s.Draining,
			DrainReason:          s.DrainReason,
		}
	}
	return adminapi.ListServers200JSONResponse{Servers: out, Page: page, Limit: limit, Total: total}, nil
}
