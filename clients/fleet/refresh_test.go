package fleet_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
)

// TestWatchRefreshResubscribes watches the refresh channel across a restart
// of the server: onRefresh runs on the first subscription, on a refresh, on
// the resubscription after the restart and on a refresh after it, and
// WatchRefresh returns when its context ends.
func TestWatchRefreshResubscribes(t *testing.T) {
	srv := valkeytest.StartServer(t)
	c := connect(t, fleet.ConnectOptions{Addrs: []string{srv.Addr()}})
	s := fleet.New(c, fleet.Options{})
	ctx := testContext(t)

	calls := make(chan struct{}, 64)
	var breaks atomic.Int64
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		fleet.WatchRefresh(wctx, c, fleet.WatchOptions{
			RetryMin: 50 * time.Millisecond, RetryMax: 300 * time.Millisecond,
			OnBreak: func(error, time.Duration) { breaks.Add(1) },
		}, func() {
			select {
			case calls <- struct{}{}:
			default:
			}
		})
	}()
	await := func(what string, poke func()) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			if poke != nil {
				poke()
			}
			select {
			case <-calls:
				return
			case <-deadline:
				t.Fatalf("%s: onRefresh not called within 10 s", what)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	// A publish on a connection that has not yet noticed the restart may
	// fail once; the next poke retries it.
	publish := func() { _ = s.PublishRefresh(ctx) }

	await("the first subscription", nil)
	await("a refresh", publish)
	// Nothing can confirm a subscription while the server is down, so any
	// call after the drain is the resubscription's.
	for drained := false; !drained; {
		select {
		case <-calls:
		default:
			drained = true
		}
	}
	srv.Stop()
	time.Sleep(300 * time.Millisecond)
	srv.Start()
	await("the resubscription after the restart", nil)
	await("a refresh after the restart", publish)
	// A refresh published twice by the pokes above can be delivered late and
	// satisfy an await before the break is noticed; the break must still be
	// told, soon.
	for deadline := time.Now().Add(10 * time.Second); breaks.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if breaks.Load() == 0 {
		t.Error("OnBreak was never told of the broken subscription")
	}
	stop()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("WatchRefresh did not return after its context ended")
	}
}
