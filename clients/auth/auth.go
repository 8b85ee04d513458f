// Package auth holds what every way of checking an admin credential shares:
// the credentials a request carries, the principal they prove, and the errors
// that tell the edge which status to answer.
package auth

import (
	"context"
	"errors"
	"slices"
)

// AdminRole is the gateway role every admin operation requires.
const AdminRole = "ai_admin"

// Credentials are what one request presented. Exactly one form is set: a
// bearer token, or an API key with its secret.
type Credentials struct {
	Bearer    string
	APIKey    string
	APISecret string
}

// IsBearer reports whether the credentials are a bearer token.
func (c Credentials) IsBearer() bool { return c.Bearer != "" }

// Principal is who a credential proved to be.
type Principal struct {
	UserID string
	Roles  []string
}

// HasRole reports whether the principal holds role.
func (p Principal) HasRole(role string) bool { return slices.Contains(p.Roles, role) }

// Authenticator checks credentials and says who presented them.
type Authenticator interface {
	Authenticate(ctx context.Context, c Credentials) (Principal, error)
}

var (
	// ErrInvalidCredentials means the credentials are unknown, wrong, expired
	// or unverified: the request answers 401.
	ErrInvalidCredentials = errors.New("invalid credentials")
	// ErrUnavailable means the credentials could not be checked because the
	// service that checks them failed: the request answers 503.
	ErrUnavailable = errors.New("auth service unavailable")
)
