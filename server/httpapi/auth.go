package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/threatwinds/aiadmin/clients/auth"
)

type requestStateKey struct{}

// requestState is a request's context together with who made the request,
// once the authentication middleware has established it. requestDeadline
// makes it, so that authentication records the principal without copying
// the request a second time.
type requestState struct {
	context.Context
	principal     auth.Principal
	authenticated bool
}

// Value finds the request's state, or asks the parent context.
func (s *requestState) Value(key any) any {
	if key == (requestStateKey{}) {
		return s
	}
	return s.Context.Value(key)
}

// principalFrom returns who made the request, as established by the
// authentication middleware.
func principalFrom(ctx context.Context) (auth.Principal, bool) {
	s, ok := ctx.Value(requestStateKey{}).(*requestState)
	if !ok || !s.authenticated {
		return auth.Principal{}, false
	}
	return s.principal, true
}

// maxCredentialLen bounds every credential header; nothing legitimate is
// longer, and the bound keeps hashing and upstream calls cheap.
const maxCredentialLen = 4096

// parseCredentials reads the credentials a request carries. A request must
// carry exactly one form: a bearer token, or a complete key pair. Duplicate
// headers, both forms at once, or half a key pair are refused rather than
// guessed at.
func parseCredentials(h http.Header) (auth.Credentials, *APIError) {
	// Canonical names read the map as it is, without building them anew.
	authz, key, secret := h["Authorization"], h["Api-Key"], h["Api-Secret"]
	if len(authz) > 1 || len(key) > 1 || len(secret) > 1 {
		return auth.Credentials{}, newAPIError(http.StatusUnauthorized, "duplicate credential headers")
	}
	hasBearer, hasKey := len(authz) == 1, len(key) == 1 || len(secret) == 1
	switch {
	case hasBearer && hasKey:
		return auth.Credentials{}, newAPIError(http.StatusUnauthorized, "ambiguous credentials").
			withDetail("send either Authorization: Bearer or api-key with api-secret, not both")
	case hasBearer:
		scheme, token, ok := strings.Cut(authz[0], " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || !credentialSafe(token) {
			return auth.Credentials{}, newAPIError(http.StatusUnauthorized, "malformed authorization header").
				withDetail("expected Authorization: Bearer <token>")
		}
		return auth.Credentials{Bearer: token}, nil
	case hasKey:
		if len(key) != 1 || len(secret) != 1 || key[0] == "" || secret[0] == "" {
			return auth.Credentials{}, newAPIError(http.StatusUnauthorized, "incomplete key pair").
				withDetail("api-key and api-secret must be sent together")
		}
		if !credentialSafe(key[0]) || !credentialSafe(secret[0]) {
			return auth.Credentials{}, newAPIError(http.StatusUnauthorized, "malformed key pair")
		}
		return auth.Credentials{APIKey: key[0], APISecret: secret[0]}, nil
	}
	return auth.Credentials{}, newAPIError(http.StatusUnauthorized, "missing credentials").
		withDetail("send Authorization: Bearer <token>, or api-key and api-secret")
}

// credentialSafe accepts visible ASCII without spaces, up to a sane length.
func credentialSafe(s string) bool {
	if len(s) > maxCredentialLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// authenticate checks the credentials of every request to an admin
// operation, and the ai_admin role, before the request is validated or
// handled. Requests to unknown routes or other endpoints pass through.
func authenticate(a auth.Authenticator, isAdminRoute func(echo.Context) bool, timeout time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !isAdminRoute(c) {
				return next(c)
			}
			creds, perr := parseCredentials(c.Request().Header)
			if perr != nil {
				return perr
			}
			p, err := authenticateWithin(c.Request().Context(), a, creds, timeout)
			switch {
			case errors.Is(err, auth.ErrInvalidCredentials):
				return newAPIError(http.StatusUnauthorized, "invalid credentials")
			case err != nil:
				return newAPIError(http.StatusServiceUnavailable, "auth service unavailable").withCause(err)
			}
			// Known from here on, also when refused for want of the role, so
			// the request's log line names who it was.
			st, ok := c.Request().Context().Value(requestStateKey{}).(*requestState)
			if !ok {
				return newAPIError(http.StatusInternalServerError, "internal server error").
					withCause(errors.New("authenticating outside requestDeadline: the request has no state"))
			}
			st.principal, st.authenticated = p, true
			if !p.HasRole(auth.AdminRole) {
				return newAPIError(http.StatusForbidden, "insufficient permissions").
					withDetail("the ai_admin role is required")
			}
			return next(c)
		}
	}
}

// authenticateWithin checks creds, giving up after timeout. A credentials
// file is checked in memory and never waits: it needs no deadline (and no
// timer) of its own.
func authenticateWithin(ctx context.Context, a auth.Authenticator, creds auth.Credentials, timeout time.Duration) (auth.Principal, error) {
	if _, inMemory := a.(*auth.FileAuthenticator); inMemory {
		return a.Authenticate(ctx, creds)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return a.Authenticate(ctx, creds)
}
