package server

import (
	"context"

	"github.com/threatwinds/aiadmin/gen/adminapi"
)

// ServerLister pages the server pool with health.
type ServerLister interface {
	ListServers(ctx context.Context, offset, limit int64) ([]adminapi.Server, int64, error)
}

// ListServers answers a page of the server pool.
func (h *Handlers) ListServers(ctx context.Context, req adminapi.ListServersRequestObject) (adminapi.ListServersResponseObject, error) {
	if h.Servers == nil {
		return nil, errNotImplemented
	}
	return nil, errNotImplemented
}
