package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
	"github.com/threatwinds/aiadmin/gen/adminclient"
	"github.com/threatwinds/aiadmin/server"
	"github.com/threatwinds/aiadmin/server/contracttest"
	"github.com/threatwinds/aiadmin/server/pool"
)

// appReplica is one whole aiadmin replica built by server.NewApp from
// command-line arguments, running until stop is called.
type appReplica struct {
	name  string
	app   *server.App
	logs  *lockedBuffer
	tr    *contracttest.Transport
	admin *adminclient.ClientWithResponses

	cancel  context.CancelFunc
	done    chan error
	stopped bool
}

// startAppReplica parses args as main does, builds the replica and runs it.
// The replica is stopped when the test ends if the test did not stop it.
func startAppReplica(t *testing.T, name string, args ...string) *appReplica {
	t.Helper()
	cfg, err := server.ParseConfig(args, func(string) string { return "" })
	if err != nil {
		t.Fatalf("replica %s: %v", name, err)
	}
	r := &appReplica{name: name, logs: &lockedBuffer{}, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.app, err = server.NewApp(ctx, cfg, zap.New(zapcoreFor(r.logs)))
	if err != nil {
		cancel()
		t.Fatalf("replica %s: %v", name, err)
	}
	go func() { r.done <- r.app.Run(ctx) }()

	r.tr = &contracttest.Transport{Spec: contracttest.Spec(t)}
	r.admin, err = adminclient.NewClientWithResponses("http://"+r.app.Addr(),
		adminclient.WithHTTPClient(&http.Client{Transport: r.tr, Timeout: 30 * time.Second}),
		adminclient.WithRequestEditorFn(bearer(adminToken)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !r.stopped {
			r.stop(t)
		}
		for _, res := range r.tr.Results() {
			if res.Err != nil {
				t.Errorf("replica %s: contract violated: %v", name, res.Err)
			}
		}
		if strings.Contains(r.logs.String(), adminToken) {
			t.Errorf("replica %s: the admin token reached the log", name)
		}
	})
	return r
}

// stop cancels the replica's context and checks that Run returns nil within
// a bounded time.
func (r *appReplica) stop(t *testing.T) {
	t.Helper()
	r.stopped = true
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("replica %s: Run returned %v after its context ended, want nil", r.name, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("replica %s: Run did not return after its context ended", r.name)
	}
}

// server returns the /servers entry of url as this replica lists it, and a
// description of what it saw for failure messages.
func (r *appReplica) server(ctx context.Context, url string) (*adminclient.Server, string) {
	return contracttest.ListedServer(ctx, r.admin, url)
}

// leaseAcquired reports whether this replica's prober logged taking the
// prober lease as holder.
func (r *appReplica) leaseAcquired(holder string) bool {
	for _, line := range strings.Split(r.logs.String(), "\n") {
		if strings.Contains(line, "prober lease acquired") && strings.Contains(line, `"holder":"`+holder+`"`) {
			return true
		}
	}
	return false
}

// waitForState polls cond every 100ms until it holds, failing the test with
// the last state cond described when timeout passes first.
func waitForState(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last seen: %s", what, timeout, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestTwoAppReplicasShareRefreshProbingAndLease runs two whole replicas, as
// main builds them, on one Valkey: a server registered and a refresh sent to
// replica A is listed by replica B with the verdict of the prober App.Run
// started, the refresh is in the audit trail, and stopping the replica that
// holds the prober lease hands probing to the other within 15 s.
func TestTwoAppReplicasShareRefreshProbingAndLease(t *testing.T) {
	vk := valkeytest.StartServer(t)
	creds := contracttest.WriteCredentialsFile(t, "usr_ops", adminToken)
	serverURL := contracttest.InferenceServer(t, "m")

	args := []string{"--valkey", vk.Addr(), "--listen", "127.0.0.1:0", "--auth-file", creds, "--demo=false",
		"--probe-interval", "1s", "--probe-timeout", "500ms"}
	a := startAppReplica(t, "A", args...)
	b := startAppReplica(t, "B", args...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Both replicas subscribed to the refresh channel before the server is
	// registered, so that B learns of it from the refresh sent to A rather
	// than from its first load (its periodic reload is a minute away).
	watcher := valkeyClient(t, vk.Addr())
	waitForState(t, 15*time.Second, "both replicas subscribed to the refresh channel", func() (bool, string) {
		res, err := watcher.Do(ctx, watcher.B().PubsubNumsub().Channel(fleet.RefreshChannel()).Build()).ToArray()
		if err != nil || len(res) != 2 {
			return false, fmt.Sprintf("%v %v", res, err)
		}
		n, err := res[1].AsInt64()
		return err == nil && n == 2, fmt.Sprintf("%d subscribers, %v", n, err)
	})

	if err := a.app.Store.RegisterServer(ctx, "vllm", serverURL, []string{"m"}); err != nil {
		t.Fatal(err)
	}
	refresh, err := a.admin.RefreshRegistryWithResponse(ctx)
	if err != nil {
		t.Fatalf("refresh through A: %v", err)
	}
	if refresh.JSON200 == nil || refresh.JSON200.Status != "triggered" {
		t.Fatalf("refresh through A: %d %s", refresh.StatusCode(), refresh.Body)
	}

	waitForState(t, 15*time.Second, "B lists the server refreshed through A", func() (bool, string) {
		s, state := b.server(ctx, serverURL)
		return s != nil, state
	})
	waitForState(t, 15*time.Second, "B shows the server probed and healthy", func() (bool, string) {
		s, state := b.server(ctx, serverURL)
		return s != nil && s.LastCheckMs > 0 && s.Healthy, state
	})
	if s, state := b.server(ctx, serverURL); s == nil || string(s.Provider) != "vllm" || len(s.Models) != 1 || s.Models[0] != "m" {
		t.Errorf("B lists the server as %s, want provider vllm serving [m]", state)
	}

	// The refresh is in the shared audit trail, whichever replica reads it.
	waitForState(t, 15*time.Second, "the refresh in the audit trail", func() (bool, string) {
		entries, err := b.app.Store.RecentAudit(ctx, 10)
		if err != nil {
			return false, err.Error()
		}
		for _, e := range entries {
			if e.Action == "registry.refresh" && e.UserID == "usr_ops" && e.Outcome == "triggered" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", entries)
	})

	// Stop the replica holding the prober lease. Both replicas run on this
	// host with random holder ids, so the holder is told by its own log,
	// written just after it took the lease.
	var holder string
	waitForState(t, 15*time.Second, "a prober lease holder", func() (bool, string) {
		h, err := a.app.Store.LeaseHolder(ctx, pool.LeaseName)
		holder = h
		return err == nil && h != "", fmt.Sprintf("%q %v", h, err)
	})
	leader, survivor := a, b
	identified := false
	for deadline := time.Now().Add(5 * time.Second); !identified && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		switch {
		case a.leaseAcquired(holder):
			identified = true
		case b.leaseAcquired(holder):
			leader, survivor, identified = b, a, true
		}
	}
	if !identified {
		// The logs no longer tell; stopping A still proves that the survivor
		// probes, by the counters below.
		t.Logf("neither replica's log names lease holder %q; stopping A", holder)
	}
	leader.stop(t)
	before, state := survivor.server(ctx, serverURL)
	if before == nil {
		t.Fatalf("%s no longer lists the server: %s", survivor.name, state)
	}
	stoppedAt := time.Now()
	if identified {
		waitForState(t, 15*time.Second, survivor.name+" takes the prober lease", func() (bool, string) {
			h, err := survivor.app.Store.LeaseHolder(ctx, pool.LeaseName)
			return err == nil && h != "" && h != holder, fmt.Sprintf("holder %q (the stopped %s held %q), %v", h, leader.name, holder, err)
		})
	}
	// Only the survivor runs now, so advancing counters are its probes.
	waitForState(t, 15*time.Second, survivor.name+" probes after the handover", func() (bool, string) {
		s, state := survivor.server(ctx, serverURL)
		return s != nil && s.LastCheckMs > before.LastCheckMs && s.Healthy, state
	})
	t.Logf("probing continued on %s %s after %s stopped", survivor.name, time.Since(stoppedAt).Round(time.Millisecond), leader.name)
	survivor.stop(t)
}
