package server

import (
	"context"

	"github.com/threatwinds/aiadmin/gen/adminapi"
)

// ServerLister pages the server pool, across providers, with the health the
// fleet's prober shared. pool.ServerList implements it.
type ServerLister interface {
	ListServers(ctx context.Context, offset, limit int64) ([]adminapi.Server, int64, error)
}

// ListServers answers a page of the server pool.
func (h *Handlers) ListServers(ctx context.Context, req adminapi.ListServersRequestObject) (adminapi.ListServersResponseObject, error) {
	if h.Servers == nil {
		return nil, errNotImplemented
	}
	page, limit, offset := pageWindow(req.Params.Page, req.Params.Limit)
	servers, total, err := h.Servers.ListServers(ctx, offset, limit)
	if err != nil {
		return nil, valkeyUnavailable(err)
	}
	if servers == nil {
		servers = []adminapi.Server{}
	}
	return adminapi.ListServers200JSONResponse{Servers: servers, Page: page, Limit: limit, Total: total}, nil
}
