package pool_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/server/pool"
)

// countingHealth records every HealthMany call.
type countingHealth struct {
	pool.HealthReader
	mu    sync.Mutex
	calls [][]string
}

func (c *countingHealth) HealthMany(ctx context.Context, urls []string) ([]fleet.ServerHealth, error) {
	c.mu.Lock()
	c.calls = append(c.calls, urls)
	c.mu.Unlock()
	return c.HealthReader.HealthMany(ctx, urls)
}

func (c *countingHealth) take() [][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	calls := c.calls
	c.calls = nil
	return calls
}

func TestServerListPages(t *testing.T) {
	_, client, store := standalone(t)
	ctx := testContext(t)
	if err := store.RegisterServer(ctx, fleet.ProviderSpeaches, "http://s-1", []string{"whisper"}); err != nil {
		t.Fatal(err)
	}
	if err := store.RegisterServer(ctx, fleet.ProviderVLLM, "http://v-2", []string{"qwen"}); err != nil {
		t.Fatal(err)
	}
	if err := store.RegisterServer(ctx, fleet.ProviderVLLM, "http://v-1", []string{"qwen", "llama"}); err != nil {
		t.Fatal(err)
	}
	if err := store.RegisterServer(ctx, fleet.ProviderSGLang, "http://v-1", nil); err != nil {
		t.Fatal(err)
	}
	if err := store.RegisterServer(ctx, fleet.ProviderSGLang, "http://g-1", []string{"qwen"}); err != nil {
		t.Fatal(err)
	}
	up, down := true, false
	hv1 := fleet.ServerHealth{Healthy: &up, ConsecutiveSuccesses: 5, LastCheckMs: 1_700_000_000_000, LastFailureMs: 1_600_000_000_000}
	hg1 := fleet.ServerHealth{Healthy: &down, ConsecutiveFailures: 4, LastCheckMs: 1_700_000_000_001, LastFailureMs: 1_700_000_000_001}
	if err := store.RecordHealth(ctx, "http://v-1", hv1); err != nil {
		t.Fatal(err)
	}
	if err := store.RecordHealth(ctx, "http://g-1", hg1); err != nil {
		t.Fatal(err)
	}
	tables := pool.NewTables(client, store, pool.TablesOptions{})
	hr := &countingHealth{HealthReader: store}
	list := pool.NewServerList(tables, hr)

	v1 := pool.ServerStatus{Provider: "vllm", URL: "http://v-1", Healthy: true, ConsecutiveSuccesses: 5,
		LastCheckMs: 1_700_000_000_000, LastFailureMs: 1_600_000_000_000, Models: []string{"llama", "qwen"}}
	v2 := pool.ServerStatus{Provider: "vllm", URL: "http://v-2", Models: []string{"qwen"}} // never probed
	g1 := pool.ServerStatus{Provider: "sglang", URL: "http://g-1", ConsecutiveFailures: 4,
		LastCheckMs: 1_700_000_000_001, LastFailureMs: 1_700_000_000_001, Models: []string{"qwen"}}
	gv1 := v1 // the same URL under sglang shares its health, not its models
	gv1.Provider, gv1.Models = "sglang", []string{}
	s1 := pool.ServerStatus{Provider: "speaches", URL: "http://s-1", Models: []string{"whisper"}}

	tests := []struct {
		offset, limit int64
		want          []pool.ServerStatus
	}{
		// The first call finds the tables never loaded and loads them.
		{0, 2, []pool.ServerStatus{v1, v2}},
		{2, 2, []pool.ServerStatus{g1, gv1}},
		{4, 2, []pool.ServerStatus{s1}},
		{5, 2, []pool.ServerStatus{}},
		{1000, 10, []pool.ServerStatus{}},
		{0, 100, []pool.ServerStatus{v1, v2, g1, gv1, s1}},
	}
	for _, tt := range tests {
		got, total, err := list.ListServers(ctx, tt.offset, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if total != 5 {
			t.Errorf("offset %d: total %d, want 5", tt.offset, total)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("offset %d limit %d (-want +got):\n%s", tt.offset, tt.limit, diff)
		}
		for _, s := range got {
			if s.Models == nil {
				t.Errorf("%s %s: models is nil", s.Provider, s.URL)
			}
		}
		// Health of exactly the page, in one call.
		calls := hr.take()
		var urls []string
		for _, s := range tt.want {
			urls = append(urls, s.URL)
		}
		if len(calls) != 1 || !cmp.Equal(urls, calls[0], cmpopts.EquateEmpty()) {
			t.Errorf("offset %d: HealthMany calls %q, want one call for %q", tt.offset, calls, urls)
		}
	}

	if _, _, err := list.ListServers(ctx, -1, 10); !errors.Is(err, fleet.ErrInvalidPage) {
		t.Errorf("negative offset: %v", err)
	}
	if _, _, err := list.ListServers(ctx, 0, 0); !errors.Is(err, fleet.ErrInvalidPage) {
		t.Errorf("zero limit: %v", err)
	}
}

func TestServerListStoreDown(t *testing.T) {
	srv, client, store := standalone(t)
	ctx := testContext(t)
	register(t, store, fleet.ProviderVLLM, "http://v-1")

	// Never loaded and the store is down: the error says both.
	srv.Stop()
	tables := pool.NewTables(client, store, pool.TablesOptions{})
	list := pool.NewServerList(tables, store)
	if _, _, err := list.ListServers(ctx, 0, 10); !errors.Is(err, pool.ErrNotLoaded) {
		t.Errorf("tables never loaded, store down: err = %v, want %v", err, pool.ErrNotLoaded)
	}

	// Loaded, then the store goes down: the health read fails.
	srv.Start()
	register2 := func() bool { return store.RegisterServer(ctx, fleet.ProviderVLLM, "http://v-1", nil) == nil }
	eventually(t, 5*time.Second, "registering after the restart", register2)
	// Each pooled connection learns of the restart on its next use, so the
	// first read on another one may still fail once.
	eventually(t, 5*time.Second, "reloading after the restart", func() bool { return tables.Reload(ctx) == nil })
	srv.Stop()
	if _, _, err := list.ListServers(ctx, 0, 10); err == nil {
		t.Error("health unreadable: no error")
	}
}
