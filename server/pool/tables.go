// Package pool is the replica's view of the server pool: the in-memory
// routing tables built from the persistent registry and kept fresh through
// the refresh channel (Tables), the fleet's single health prober (Prober),
// and the page of servers with their shared health that GET /servers
// answers (ServerList).
package pool

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valkey-io/valkey-go"
	"go.uber.org/zap"

	"github.com/threatwinds/aiadmin/clients/fleet"
)

// Defaults of TablesOptions, used when a field is zero.
const (
	// DefaultReloadInterval is how often the tables are reloaded even
	// without a refresh message, as a safety net.
	DefaultReloadInterval = 60 * time.Second
	// DefaultReloadTimeout bounds one reload.
	DefaultReloadTimeout = 10 * time.Second
	// DefaultRetryMin and DefaultRetryMax bound the backoff between attempts
	// to resubscribe, and to reload after a failed reload.
	DefaultRetryMin = 100 * time.Millisecond
	DefaultRetryMax = 5 * time.Second
)

// ErrNotLoaded means the tables have never been loaded: the registry was
// unreachable since the replica started.
var ErrNotLoaded = errors.New("routing tables not loaded yet")

// RegistrySource reads a consistent snapshot of the persistent registry.
// *fleet.Store implements it.
type RegistrySource interface {
	Servers(ctx context.Context) ([]fleet.Server, error)
}

// Snapshot is one immutable version of the routing tables. It is shared by
// every reader: neither it nor the slices it returns may be modified.
type Snapshot struct {
	servers    []fleet.Server
	byProvider map[string][]fleet.Server
	urls       []string
	loaded     bool
	generation uint64
	loadedAt   time.Time
}

// newSnapshot orders servers by provider as in fleet.Providers, then by URL,
// and indexes them; it keeps servers.
func newSnapshot(servers []fleet.Server, generation uint64, at time.Time) *Snapshot {
	slices.SortStableFunc(servers, func(a, b fleet.Server) int {
		if c := cmp.Compare(providerRank(a.Provider), providerRank(b.Provider)); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.Provider, b.Provider), cmp.Compare(a.URL, b.URL))
	})
	s := &Snapshot{
		servers:    servers,
		byProvider: make(map[string][]fleet.Server, len(fleet.Providers)),
		loaded:     true,
		generation: generation,
		loadedAt:   at,
	}
	seen := make(map[string]bool, len(servers))
	start := 0
	for i, srv := range servers {
		if i+1 == len(servers) || servers[i+1].Provider != srv.Provider {
			s.byProvider[srv.Provider] = servers[start : i+1 : i+1]
			start = i + 1
		}
		if !seen[srv.URL] {
			seen[srv.URL] = true
			s.urls = append(s.urls, srv.URL)
		}
	}
	return s
}

// providerRank places a provider in fleet.Providers order, unknown ones last.
func providerRank(p string) int {
	if i := slices.Index(fleet.Providers, p); i >= 0 {
		return i
	}
	return len(fleet.Providers)
}

// Loaded reports whether the snapshot came from the registry; the empty
// snapshot a replica starts with did not.
func (s *Snapshot) Loaded() bool { return s.loaded }

// Generation counts the reloads that produced this snapshot, from 1.
func (s *Snapshot) Generation() uint64 { return s.generation }

// LoadedAt is when the snapshot was read.
func (s *Snapshot) LoadedAt() time.Time { return s.loadedAt }

// Len is the number of servers across providers; a URL registered under two
// providers counts twice.
func (s *Snapshot) Len() int { return len(s.servers) }

// Servers returns every server, ordered by provider as in fleet.Providers,
// then by URL.
func (s *Snapshot) Servers() []fleet.Server { return s.servers }

// Provider returns the servers of one provider, ordered by URL.
func (s *Snapshot) Provider(provider string) []fleet.Server { return s.byProvider[provider] }

// URLs returns every distinct server URL once, in the order of Servers.
func (s *Snapshot) URLs() []string { return s.urls }

// TablesOptions tunes Tables; every zero field takes its default.
type TablesOptions struct {
	// ReloadInterval is the safety-net period of reloads without a refresh
	// message; zero means DefaultReloadInterval.
	ReloadInterval time.Duration
	// ReloadTimeout bounds one reload; zero means DefaultReloadTimeout.
	ReloadTimeout time.Duration
	// RetryMin and RetryMax bound the backoff of resubscribing and of
	// retrying a failed reload; zero means DefaultRetryMin, DefaultRetryMax.
	RetryMin, RetryMax time.Duration
	// Now is the clock of LoadedAt; nil means time.Now.
	Now func() time.Time
	// Log receives reload and subscription trouble; nil discards it.
	Log *zap.Logger
}

// Tables are one replica's in-memory routing tables: per provider, its
// servers and the models each serves. Reload rebuilds them from the
// registry; Run keeps them fresh from the refresh channel. Readers take a
// Snapshot, which never changes; a reload swaps in a new one atomically.
type Tables struct {
	src    RegistrySource
	client valkey.Client
	opts   TablesOptions

	snap atomic.Pointer[Snapshot]
	// mu serialises reloads, so a slow older read never replaces a newer one.
	mu         sync.Mutex
	generation uint64
	// reloads asks Run's loop for a reload; it holds at most one request, so
	// a burst of refresh messages costs one reload.
	reloads chan struct{}

	// changed is closed, and replaced, by every reload; under changedMu.
	changedMu sync.Mutex
	changed   chan struct{}
}

// NewTables returns empty tables that read the registry from src and
// subscribe to the refresh channel with client. Call Reload or Run to fill
// them.
func NewTables(client valkey.Client, src RegistrySource, o TablesOptions) *Tables {
	if o.ReloadInterval <= 0 {
		o.ReloadInterval = DefaultReloadInterval
	}
	if o.ReloadTimeout <= 0 {
		o.ReloadTimeout = DefaultReloadTimeout
	}
	if o.RetryMin <= 0 {
		o.RetryMin = DefaultRetryMin
	}
	if o.RetryMax <= 0 {
		o.RetryMax = DefaultRetryMax
	}
	o.RetryMax = max(o.RetryMax, o.RetryMin)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	t := &Tables{src: src, client: client, opts: o, reloads: make(chan struct{}, 1), changed: make(chan struct{})}
	t.snap.Store(&Snapshot{byProvider: map[string][]fleet.Server{}})
	return t
}

// Snapshot returns the current tables.
func (t *Tables) Snapshot() *Snapshot { return t.snap.Load() }

// Changed returns a channel that is closed at the next reload. Take it
// before reading the snapshot it should follow, so no reload is missed.
func (t *Tables) Changed() <-chan struct{} {
	t.changedMu.Lock()
	defer t.changedMu.Unlock()
	return t.changed
}

// Reload rebuilds the tables from the registry and swaps them in. On error
// the previous tables stay.
func (t *Tables) Reload(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, t.opts.ReloadTimeout)
	defer cancel()
	servers, err := t.src.Servers(ctx)
	if err != nil {
		return fmt.Errorf("reloading routing tables: %w", err)
	}
	// The snapshot must not share memory with anything the source may keep.
	servers = slices.Clone(servers)
	for i := range servers {
		servers[i].Models = slices.Clip(slices.Clone(servers[i].Models))
	}
	t.generation++
	t.snap.Store(newSnapshot(servers, t.generation, t.opts.Now()))
	t.changedMu.Lock()
	close(t.changed)
	t.changed = make(chan struct{})
	t.changedMu.Unlock()
	return nil
}

// requestReload asks Run's loop for a reload without ever blocking; it is
// called from valkey-go's pipeline goroutine.
func (t *Tables) requestReload() {
	select {
	case t.reloads <- struct{}{}:
	default:
	}
}

// Run keeps the tables fresh until ctx ends, and returns when every
// goroutine it started has stopped. It subscribes to the refresh channel and
// reloads on each message and after each (re)subscription, which covers the
// messages missed while the subscription was down; a broken subscription is
// renewed with bounded backoff. It also reloads every ReloadInterval, and
// retries a failed reload with backoff.
func (t *Tables) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { t.subscribe(ctx) })
	defer wg.Wait()

	t.requestReload()
	safety := time.NewTicker(t.opts.ReloadInterval)
	defer safety.Stop()
	retry := time.NewTimer(0)
	if !retry.Stop() {
		<-retry.C
	}
	defer retry.Stop()
	backoff := t.opts.RetryMin
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.reloads:
		case <-safety.C:
		case <-retry.C:
		}
		if err := t.Reload(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			t.opts.Log.Warn("reloading routing tables failed; retrying", zap.Error(err), zap.Duration("in", backoff))
			retry.Reset(backoff)
			backoff = min(2*backoff, t.opts.RetryMax)
			continue
		}
		retry.Stop()
		backoff = t.opts.RetryMin
	}
}

// subscribe holds the refresh subscription until ctx ends, renewing it with
// bounded backoff whenever it breaks; every message and every confirmed
// (re)subscription asks for a reload.
func (t *Tables) subscribe(ctx context.Context) {
	fleet.WatchRefresh(ctx, t.client, fleet.WatchOptions{
		RetryMin: t.opts.RetryMin, RetryMax: t.opts.RetryMax,
		OnBreak: func(err error, in time.Duration) {
			t.opts.Log.Warn("registry refresh subscription broke; resubscribing", zap.Error(err), zap.Duration("in", in))
		},
	}, t.requestReload)
}
