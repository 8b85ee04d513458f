package aiadmin

import (
	"context"
	"fmt"
	"iter"
	"net/http"

	"github.com/threatwinds/aiadmin/gen/adminclient"
)

// The models of the operator operations (drains, a user's sessions, the
// audit trail and the fleet summary), as the generated client defines them.
type (
	// DrainState is the answer to a drain or an undrain: the server's URL
	// and whether it is now drained.
	DrainState = adminclient.DrainState
	// UserSessions is a user's live session pins.
	UserSessions = adminclient.UserSessions
	// Session is one live pin of a user to a backend for a model.
	Session = adminclient.Session
	// SessionProvider is a session's provider: vllm, sglang or speaches.
	SessionProvider = adminclient.SessionProvider
	// AuditPage is a page of the audit trail, newest first, with the bound
	// of the following page.
	AuditPage = adminclient.AuditPage
	// AuditEntry is one administrative action: who did what to which
	// target, when, and how it ended.
	AuditEntry = adminclient.AuditEntry
	// FleetSummary is the fleet at a glance: pods, cost, idle pods, servers
	// per provider and traffic.
	FleetSummary = adminclient.FleetSummary
	// PodCounts counts the fleet's pods in all and per desired status.
	PodCounts = adminclient.PodCounts
	// IdlePods counts the running pods without a recent request and what
	// they cost.
	IdlePods = adminclient.IdlePods
	// ProviderServers counts one provider's servers by health and drain.
	ProviderServers = adminclient.ProviderServers
)

// AuditPageSize is the limit the Audit iterator asks for: the largest the
// API allows for the audit trail.
const AuditPageSize = 200

// DrainServer takes the server at url (as ListServers gives it) out of
// rotation: it keeps its requests but gets no new sessions until undrained.
// reason, shown in ListServers, may be empty. A URL in no server pool is an
// error for which IsNotFound is true. It is sent once, never retried.
func (c *Client) DrainServer(ctx context.Context, url, reason string) (*DrainState, error) {
	body := adminclient.DrainRequest{Url: url}
	if reason != "" {
		body.Reason = &reason
	}
	return write[DrainState](ctx, c, "DrainServer", func(ctx context.Context, e ...adminclient.RequestEditorFn) (*http.Response, error) {
		return c.api.DrainServer(ctx, body, e...)
	})
}

// UndrainServer puts a drained server back in rotation; undraining a server
// that is not drained changes nothing. A URL in no server pool is an error
// for which IsNotFound is true. It is sent once, never retried.
func (c *Client) UndrainServer(ctx context.Context, url string) (*DrainState, error) {
	body := adminclient.UndrainRequest{Url: url}
	return write[DrainState](ctx, c, "UndrainServer", func(ctx context.Context, e ...adminclient.RequestEditorFn) (*http.Response, error) {
		return c.api.UndrainServer(ctx, body, e...)
	})
}

// GetUserSessions returns a user's live session pins, ordered by provider
// then model; a user without any has an empty list, not an error.
func (c *Client) GetUserSessions(ctx context.Context, userID string) (*UserSessions, error) {
	return read[UserSessions](ctx, c, "GetUserSessions", func(ctx context.Context, e ...adminclient.RequestEditorFn) (*http.Response, error) {
		return c.api.GetUserSessions(ctx, userID, e...)
	})
}

// ListAudit returns one page of the audit trail, newest first: the entries
// older than before (the Next of the previous page; "" starts at the
// newest), at most limit of them (1 to 200; 0 takes the server's 50). The
// page's Next is empty on the last page.
func (c *Client) ListAudit(ctx context.Context, before string, limit int) (*AuditPage, error) {
	var params adminclient.ListAuditParams
	if before != "" {
		params.Before = &before
	}
	if limit != 0 {
		l := int64(limit)
		params.Limit = &l
	}
	return read[AuditPage](ctx, c, "ListAudit", func(ctx context.Context, e ...adminclient.RequestEditorFn) (*http.Response, error) {
		return c.api.ListAudit(ctx, &params, e...)
	})
}

// GetFleetSummary returns the fleet at a glance: pods by status, what the
// running and the idle ones cost per hour, servers per provider by health
// and drain, and the requests in flight and of the last 5 minutes.
func (c *Client) GetFleetSummary(ctx context.Context) (*FleetSummary, error) {
	return read[FleetSummary](ctx, c, "GetFleetSummary", func(ctx context.Context, e ...adminclient.RequestEditorFn) (*http.Response, error) {
		return c.api.GetFleetSummary(ctx, e...)
	})
}

// Audit walks the whole audit trail, newest first, following each page's
// Next and fetching a page only when the previous one is used up. Breaking
// out of the loop stops it; a failed page yields its error once and ends
// the walk. Entries appended while the walk runs are newer than where it
// started and are not yielded.
func (c *Client) Audit(ctx context.Context) iter.Seq2[AuditEntry, error] {
	return func(yield func(AuditEntry, error) bool) {
		before := ""
		for {
			page, err := c.ListAudit(ctx, before, AuditPageSize)
			if err != nil {
				yield(AuditEntry{}, err)
				return
			}
			for _, e := range page.Entries {
				if !yield(e, nil) {
					return
				}
			}
			if page.Next == "" {
				return
			}
			if page.Next == before {
				// A server answering its own bound again would loop forever.
				yield(AuditEntry{}, fmt.Errorf("aiadmin: ListAudit: %w: next %q repeats the page's before", ErrBadResponse, page.Next))
				return
			}
			before = page.Next
		}
	}
}
