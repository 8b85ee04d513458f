package pool

import (
	"context"
	"fmt"
	"slices"

	"github.com/threatwinds/aiadmin/clients/fleet"
)

// HealthReader reads the shared health results of many servers in one round
// trip. *fleet.Store implements it.
type HealthReader interface {
	HealthMany(ctx context.Context, urls []string) ([]fleet.ServerHealth, error)
	Drains(ctx context.Context) (map[string]fleet.Drain, error)
}

// ServerStatus is one server of the pool with the health the fleet's prober
// shared.
type ServerStatus struct {
	Provider string
	URL      string
	// Models are the models routed to the server; never nil.
	Models []string
	// Healthy is the prober's verdict; false until the first success.
	Healthy              bool
	ConsecutiveFailures  int64
	ConsecutiveSuccesses int64
	LastCheckMs          int64
	LastFailureMs        int64
	// Draining is true while the server is drained; DrainReason says why.
	Draining    bool
	DrainReason string
}

// ServerList answers GET /servers from the replica's tables and the health
// the fleet's prober shared, so every replica with the same tables answers
// the same page.
type ServerList struct {
	tables *Tables
	health HealthReader
}

// NewServerList lists the servers of tables with their health from health.
func NewServerList(tables *Tables, health HealthReader) *ServerList {
	return &ServerList{tables: tables, health: health}
}

// ListServers returns the servers from offset, at most limit, ordered by
// provider as in fleet.Providers then by URL, and how many there are across
// providers. Health is read for the page only, in one round trip; a server
// never probed is unhealthy with zero counters. Tables never loaded are
// loaded first; if that fails the error wraps the store's.
func (l *ServerList) ListServers(ctx context.Context, offset, limit int64) ([]ServerStatus, int64, error) {
	if offset < 0 || limit <= 0 {
		return nil, 0, fmt.Errorf("listing servers (offset %d, limit %d): %w", offset, limit, fleet.ErrInvalidPage)
	}
	all, err := l.Servers(ctx)
	if err != nil {
		return nil, 0, err
	}
	total := int64(len(all))
	from := min(offset, total)
	to := min(from+min(limit, total), total)
	page := all[from:to]
	urls := make([]string, len(page))
	for i, s := range page {
		urls[i] = s.URL
	}
	hs, err := l.health.HealthMany(ctx, urls)
	if err != nil {
		return nil, 0, fmt.Errorf("listing servers: %w", err)
	}
	drains, err := l.health.Drains(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("listing servers: %w", err)
	}
	out := make([]ServerStatus, len(page))
	for i, s := range page {
		h := hs[i]
		models := slices.Clone(s.Models)
		if models == nil {
			models = []string{}
		}
		out[i] = ServerStatus{
			Provider:             s.Provider,
			URL:                  s.URL,
			Healthy:              h.Healthy != nil && *h.Healthy,
			ConsecutiveFailures:  h.ConsecutiveFailures,
			ConsecutiveSuccesses: h.ConsecutiveSuccesses,
			LastCheckMs:          h.LastCheckMs,
			LastFailureMs:        h.LastFailureMs,
			Models:               models,
		}
		if d, ok := drains[s.URL]; ok {
			out[i].Draining, out[i].DrainReason = true, d.Reason
		}
	}
	return out, total, nil
}

// Servers returns every server of the replica's tables, ordered as
// ListServers orders them, loading tables never loaded first.
func (l *ServerList) Servers(ctx context.Context) ([]fleet.Server, error) {
	snap := l.tables.Snapshot()
	if !snap.Loaded() {
		if err := l.tables.Reload(ctx); err != nil {
			return nil, fmt.Errorf("listing servers: %w: %w", ErrNotLoaded, err)
		}
		snap = l.tables.Snapshot()
	}
	return snap.Servers(), nil
}
