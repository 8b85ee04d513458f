package httpapi

import (
	"context"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/gen/adminapi"
)

// AuditReader pages the audit trail, newest first; *fleet.Store implements
// it. A malformed bound is fleet.ErrInvalidAuditID.
type AuditReader interface {
	AuditPage(ctx context.Context, before string, limit int64) ([]fleet.AuditEntry, string, error)
}

// defaultAuditLimit is the spec's default page of the audit trail, for
// callers that bypass the validator.
const defaultAuditLimit = 50

// ListAudit answers a page of the audit trail, newest first.
func (h *Handlers) ListAudit(ctx context.Context, req adminapi.ListAuditRequestObject) (adminapi.ListAuditResponseObject, error) {
	if h.AuditTrail == nil {
		return nil, notConfigured("valkey")
	}
	limit := int64(defaultAuditLimit)
	if req.Params.Limit != nil {
		limit = *req.Params.Limit
	}
	before := ""
	if req.Params.Before != nil {
		before = *req.Params.Before
	}
	entries, next, err := h.AuditTrail.AuditPage(ctx, before, limit)
	if err != nil {
		return nil, failure(inStore(err))
	}
	out := adminapi.AuditPage{Entries: make([]adminapi.AuditEntry, len(entries)), Next: next}
	for i, e := range entries {
		out.Entries[i] = adminapi.AuditEntry{
			Id: e.ID, At: e.Time.UTC(), UserId: e.UserID, Action: e.Action, Target: e.Target, Outcome: e.Outcome,
		}
	}
	return adminapi.ListAudit200JSONResponse(out), nil
}
