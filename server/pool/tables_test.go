package pool_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/embedded"
	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
	"github.com/threatwinds/aiadmin/server/pool"
)

func TestTablesReloadBuildsOrderedSnapshot(t *testing.T) {
	_, client, store := standalone(t)
	ctx := testContext(t)
	tables := pool.NewTables(client, store, pool.TablesOptions{})
	if s := tables.Snapshot(); s.Loaded() || s.Len() != 0 || s.Generation() != 0 {
		t.Fatalf("before the first reload: loaded %v, %d servers, generation %d", s.Loaded(), s.Len(), s.Generation())
	}
	if err := store.RegisterServer(ctx, fleet.ProviderSpeaches, "http://s-1", []string{"whisper"}); err != nil {
		t.Fatal(err)
	}
	if err := store.RegisterServer(ctx, fleet.ProviderVLLM, "http://v-2", []string{"b", "a"}); err != nil {
		t.Fatal(err)
	}
	if err := store.RegisterServer(ctx, fleet.ProviderVLLM, "http://v-1", nil); err != nil {
		t.Fatal(err)
	}
	// The same URL under two providers is two servers, one URL.
	if err := store.RegisterServer(ctx, fleet.ProviderSGLang, "http://v-1", []string{"c"}); err != nil {
		t.Fatal(err)
	}
	if err := tables.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	first := tables.Snapshot()
	want := []fleet.Server{
		{Provider: fleet.ProviderVLLM, URL: "http://v-1", Models: []string{}},
		{Provider: fleet.ProviderVLLM, URL: "http://v-2", Models: []string{"a", "b"}},
		{Provider: fleet.ProviderSGLang, URL: "http://v-1", Models: []string{"c"}},
		{Provider: fleet.ProviderSpeaches, URL: "http://s-1", Models: []string{"whisper"}},
	}
	if diff := cmp.Diff(want, first.Servers()); diff != "" {
		t.Errorf("Servers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[:2], first.Provider(fleet.ProviderVLLM)); diff != "" {
		t.Errorf("Provider(vllm) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"http://v-1", "http://v-2", "http://s-1"}, first.URLs()); diff != "" {
		t.Errorf("URLs (-want +got):\n%s", diff)
	}
	if !first.Loaded() || first.Generation() != 1 || first.Len() != 4 {
		t.Errorf("loaded %v, generation %d, len %d", first.Loaded(), first.Generation(), first.Len())
	}

	// A reload swaps in a new snapshot; the old one does not change.
	if err := store.DeregisterServer(ctx, fleet.ProviderVLLM, "http://v-2"); err != nil {
		t.Fatal(err)
	}
	if err := tables.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got := tables.Snapshot(); got.Len() != 3 || got.Generation() != 2 {
		t.Errorf("after deregistering: %d servers, generation %d", got.Len(), got.Generation())
	}
	if diff := cmp.Diff(want, first.Servers()); diff != "" {
		t.Errorf("the old snapshot changed (-want +got):\n%s", diff)
	}
}

// TestTablesFollowRefreshChannel runs the tables on every backend: a refresh
// message makes them reload. The safety-net reload is an hour away, so only
// the message can do it.
func TestTablesFollowRefreshChannel(t *testing.T) {
	emb, err := embedded.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Close)
	backends := []struct {
		name string
		opts fleet.ConnectOptions
	}{
		{"standalone", fleet.ConnectOptions{Addrs: []string{valkeytest.StartServer(t).Addr()}}},
		{"cluster", fleet.ConnectOptions{Addrs: valkeytest.StartCluster(t)}},
		{"embedded", fleet.ConnectOptions{Addrs: []string{emb.Addr()}, Embedded: true}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			checkLeaks := goroutineBaseline(t)
			ctx := testContext(t)
			client, err := fleet.Connect(ctx, b.opts)
			if err != nil {
				t.Fatal(err)
			}
			store := fleet.New(client, fleet.Options{})
			tables := pool.NewTables(client, store, pool.TablesOptions{ReloadInterval: time.Hour})
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- tables.Run(runCtx) }()
			eventually(t, 10*time.Second, "first load", func() bool { return tables.Snapshot().Loaded() })

			register(t, store, fleet.ProviderVLLM, "http://new-"+b.name)
			// A cluster forwards a message to every node, which can take a
			// moment after the subscription: publish until it arrives.
			publishUntil(t, store, 10*time.Second, "server listed after a refresh", func() bool {
				return tables.Snapshot().Len() == 1
			})
			stop()
			if err := <-done; err != nil {
				t.Errorf("Run = %v", err)
			}
			client.Close()
			checkLeaks()
		})
	}
}

// publishUntil publishes a refresh every 100ms until cond holds.
func publishUntil(t *testing.T, store *fleet.Store, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		// A publish on a connection that has not yet noticed a Valkey
		// restart may fail once; the next round retries it.
		if err := store.PublishRefresh(testContext(t)); err != nil {
			t.Logf("publishing a refresh: %v (retrying)", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestTablesResubscribeAfterValkeyRestart stops and restarts Valkey under
// running tables. After the restart (the data is gone) a server registered
// without any refresh appears, because the tables reload after
// resubscribing; then a refresh message reaches the new subscription.
func TestTablesResubscribeAfterValkeyRestart(t *testing.T) {
	srv, client, store := standalone(t)
	ctx := testContext(t)
	register(t, store, fleet.ProviderVLLM, "http://before")
	core, logs := observer.New(zap.WarnLevel)
	tables := pool.NewTables(client, store, pool.TablesOptions{
		ReloadInterval: time.Hour, RetryMin: 50 * time.Millisecond, RetryMax: 300 * time.Millisecond,
		Log: zap.New(core),
	})
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	wg.Go(func() { _ = tables.Run(runCtx) })
	eventually(t, 5*time.Second, "first load", func() bool { return tables.Snapshot().Len() == 1 })

	srv.Stop()
	time.Sleep(500 * time.Millisecond) // the subscription breaks and retries fail
	srv.Start()
	gen := tables.Snapshot().Generation()
	// Valkey came back empty, and nothing announced that: the tables reload
	// because they resubscribed. The reload may come before or after the
	// registration below, so it is checked by its generation; the refresh
	// through the new subscription then shows both servers.
	eventually(t, 10*time.Second, "reload after resubscribing", func() bool {
		return tables.Snapshot().Generation() > gen
	})
	// The test's own client may need a try to notice the restart.
	eventually(t, 5*time.Second, "registering after the restart", func() bool {
		return store.RegisterServer(ctx, fleet.ProviderVLLM, "http://after-restart", nil) == nil
	})

	if n := logs.FilterMessageSnippet("subscription broke").Len(); n == 0 {
		t.Error("the subscription never broke, so this test proves nothing")
	}

	eventually(t, 5*time.Second, "registering the announced server", func() bool {
		return store.RegisterServer(ctx, fleet.ProviderSGLang, "http://announced", []string{"m"}) == nil
	})
	publishUntil(t, store, 10*time.Second, "refresh through the new subscription", func() bool {
		s := tables.Snapshot()
		if s.Len() != 2 {
			return false
		}
		urls := []string{s.Servers()[0].URL, s.Servers()[1].URL}
		return slices.Contains(urls, "http://after-restart") && slices.Contains(urls, "http://announced")
	})
}

// TestTablesSafetyNetReload reloads without any message, every
// ReloadInterval.
func TestTablesSafetyNetReload(t *testing.T) {
	_, client, store := standalone(t)
	ctx := testContext(t)
	tables := pool.NewTables(client, store, pool.TablesOptions{ReloadInterval: 100 * time.Millisecond})
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	wg.Go(func() { _ = tables.Run(runCtx) })
	eventually(t, 5*time.Second, "first load", func() bool { return tables.Snapshot().Loaded() })
	register(t, store, fleet.ProviderSpeaches, "http://quiet")
	eventually(t, 5*time.Second, "periodic reload", func() bool { return tables.Snapshot().Len() == 1 })
}
