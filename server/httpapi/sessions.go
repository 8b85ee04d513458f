package httpapi

import (
	"context"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/gen/adminapi"
)

// SessionReader reads a user's live session pins; *fleet.Store implements
// it.
type SessionReader interface {
	UserSessions(ctx context.Context, userID string) ([]fleet.Session, error)
}

// GetUserSessions answers a user's live pins, by provider then model.
func (h *Handlers) GetUserSessions(ctx context.Context, req adminapi.GetUserSessionsRequestObject) (adminapi.GetUserSessionsResponseObject, error) {
	if h.Sessions == nil {
		return nil, notConfigured("valkey")
	}
	sessions, err := h.Sessions.UserSessions(ctx, req.UserId)
	if err != nil {
		return nil, failure(inStore(err))
	}
	out := adminapi.UserSessions{UserId: req.UserId, Sessions: make([]adminapi.Session, len(sessions))}
	for i, s := range sessions {
		out.Sessions[i] = adminapi.Session{
			Provider:  adminapi.SessionProvider(s.Provider),
			ModelId:   s.ModelID,
			Url:       s.URL,
			ExpiresAt: s.ExpiresAt.UTC(),
		}
	}
	return adminapi.GetUserSessions200JSONResponse(out), nil
}
