package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
	"github.com/threatwinds/aiadmin/gen/adminclient"
	"github.com/threatwinds/aiadmin/server/contracttest"
)

// TestDrainReachesEveryReplicaAndRouter runs two whole replicas and a router
// built on clients/fleet, all on one Valkey. A drain sent to replica A shows
// on replica B's /servers, and the router gives the drained server no new
// session (a live pin to it falls back elsewhere) while the request already
// in flight there finishes; after an undrain sent to B the router picks the
// server again.
func TestDrainReachesEveryReplicaAndRouter(t *testing.T) {
	vk := valkeytest.StartServer(t)
	creds := contracttest.WriteCredentialsFile(t, "usr_ops", adminToken)
	drained, other := contracttest.InferenceServer(t, "m"), contracttest.InferenceServer(t, "m")
	args := []string{"--valkey", vk.Addr(), "--listen", "127.0.0.1:0", "--auth-file", creds, "--demo=false",
		"--probe-interval", "1s", "--probe-timeout", "500ms"}
	a := startAppReplica(t, "A", args...)
	b := startAppReplica(t, "B", args...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The router: its own connection, its drained view kept by Watch.
	rc := valkeyClient(t, vk.Addr())
	store := fleet.New(rc, fleet.Options{})
	router := fleet.NewRouter(store)
	if err := router.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() { defer close(watched); router.Watch(watchCtx, fleet.WatchOptions{}, nil) }()
	defer func() { stopWatch(); <-watched }()
	// The router prefers the first server whenever it may pick it.
	backends := fleet.Backends{Pick: func(allowed func(string) bool) string {
		for _, u := range []string{drained, other} {
			if allowed(u) {
				return u
			}
		}
		return ""
	}}
	route := func(user string) fleet.Decision {
		t.Helper()
		d, err := router.Route(ctx, "vllm", user, "m", backends)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	for _, u := range []string{drained, other} {
		if err := store.RegisterServer(ctx, "vllm", u, []string{"m"}); err != nil {
			t.Fatal(err)
		}
	}
	if resp, err := a.admin.RefreshRegistryWithResponse(ctx); err != nil || resp.JSON200 == nil {
		t.Fatalf("refresh: %v", err)
	}
	waitForState(t, 15*time.Second, "B lists both servers", func() (bool, string) {
		s1, st1 := b.server(ctx, drained)
		s2, _ := b.server(ctx, other)
		return s1 != nil && s2 != nil, st1
	})

	if d := route("usr_1"); d.URL != drained || d.Outcome != fleet.OutcomeMiss {
		t.Fatalf("first request of usr_1: %+v, want a miss to %s", d, drained)
	}
	if d := route("usr_1"); d.URL != drained || d.Outcome != fleet.OutcomeHit {
		t.Fatalf("second request of usr_1: %+v, want a hit on %s", d, drained)
	}
	inflight, err := store.StartRequest(ctx, drained, "m")
	if err != nil {
		t.Fatal(err)
	}

	reason := "driver update"
	if resp, err := a.admin.DrainServerWithResponse(ctx, adminclient.DrainRequest{Url: drained, Reason: &reason}); err != nil || resp.JSON200 == nil || !resp.JSON200.Draining {
		t.Fatalf("drain through A: %v %d %s", err, resp.StatusCode(), resp.Body)
	}
	waitForState(t, 15*time.Second, "B shows the server draining", func() (bool, string) {
		s, state := b.server(ctx, drained)
		return s != nil && s.Draining && s.DrainReason == reason, state
	})
	waitForState(t, 15*time.Second, "the router sees the drain", func() (bool, string) {
		return router.Drained(drained), fmt.Sprint(router.DrainedView())
	})
	if d := route("usr_1"); d.URL != other || d.Outcome != fleet.OutcomeFallback {
		t.Errorf("usr_1 pinned to the drained server: %+v, want a fallback to %s", d, other)
	}
	if d := route("usr_1"); d.URL != other || d.Outcome != fleet.OutcomeHit {
		t.Errorf("usr_1 after the fallback: %+v, want a hit on %s (re-pinned)", d, other)
	}
	for i := range 5 {
		if d := route(fmt.Sprintf("usr_new_%d", i)); d.URL != other {
			t.Errorf("a new session went to %s while %s drains", d.URL, drained)
		}
	}

	// The request already on the drained server runs on and finishes.
	demand := func(r *appReplica) int64 {
		resp, err := r.admin.GetPodDemandWithResponse(ctx, drained)
		if err != nil || resp.JSON200 == nil {
			t.Fatalf("demand: %v", err)
		}
		return resp.JSON200.Inflight
	}
	if n := demand(b); n != 1 {
		t.Errorf("in flight on the drained server: %d, want the 1 that was running", n)
	}
	if err := store.FinishRequest(ctx, inflight); err != nil {
		t.Fatal(err)
	}
	if n := demand(a); n != 0 {
		t.Errorf("in flight after it finished: %d, want 0", n)
	}

	if resp, err := b.admin.UndrainServerWithResponse(ctx, adminclient.UndrainRequest{Url: drained}); err != nil || resp.JSON200 == nil || resp.JSON200.Draining {
		t.Fatalf("undrain through B: %v", err)
	}
	waitForState(t, 15*time.Second, "the router sees the undrain", func() (bool, string) {
		return !router.Drained(drained), fmt.Sprint(router.DrainedView())
	})
	if d := route("usr_after"); d.URL != drained || d.Outcome != fleet.OutcomeMiss {
		t.Errorf("a new session after the undrain: %+v, want %s again", d, drained)
	}
	if s, state := a.server(ctx, drained); s == nil || s.Draining || s.DrainReason != "" {
		t.Errorf("A after the undrain: %s", state)
	}
}
