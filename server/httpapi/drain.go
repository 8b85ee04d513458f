package httpapi

import (
	"context"

	"github.com/threatwinds/aiadmin/gen/adminapi"
)

// DrainControl takes servers out of rotation and back; *pool.Drains
// implements it. A URL in no pool is pool.ErrServerNotFound.
type DrainControl interface {
	Drain(ctx context.Context, url, reason string) error
	Undrain(ctx context.Context, url string) error
}

// Audit actions of drains.
const (
	auditServerDrain   = "server.drain"
	auditServerUndrain = "server.undrain"
)

// DrainServer marks a server draining on every replica and router.
func (h *Handlers) DrainServer(ctx context.Context, req adminapi.DrainServerRequestObject) (adminapi.DrainServerResponseObject, error) {
	if h.Drains == nil {
		return nil, notConfigured("valkey")
	}
	if req.Body == nil {
		return nil, bodyRequired()
	}
	reason := ""
	if req.Body.Reason != nil {
		reason = *req.Body.Reason
	}
	if err := h.Drains.Drain(ctx, req.Body.Url, reason); err != nil {
		ae := failure(inStore(err))
		h.audit(ctx, auditServerDrain, req.Body.Url, "failed: "+ae.Message)
		return nil, ae
	}
	h.audit(ctx, auditServerDrain, req.Body.Url, "drained")
	return adminapi.DrainServer200JSONResponse{Url: req.Body.Url, Draining: true}, nil
}

// UndrainServer puts a drained server back into rotation.
func (h *Handlers) UndrainServer(ctx context.Context, req adminapi.UndrainServerRequestObject) (adminapi.UndrainServerResponseObject, error) {
	if h.Drains == nil {
		return nil, notConfigured("valkey")
	}
	if req.Body == nil {
		return nil, bodyRequired()
	}
	if err := h.Drains.Undrain(ctx, req.Body.Url); err != nil {
		ae := failure(inStore(err))
		h.audit(ctx, auditServerUndrain, req.Body.Url, "failed: "+ae.Message)
		return nil, ae
	}
	h.audit(ctx, auditServerUndrain, req.Body.Url, "undrained")
	return adminapi.UndrainServer200JSONResponse{Url: req.Body.Url, Draining: false}, nil
}
