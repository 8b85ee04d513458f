package fleet

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/valkey-io/valkey-go"
)

// Default backoff of WatchRefresh between attempts to resubscribe.
const (
	DefaultWatchRetryMin = 200 * time.Millisecond
	DefaultWatchRetryMax = 5 * time.Second
)

// WatchOptions tune WatchRefresh. Zero values take the defaults.
type WatchOptions struct {
	// RetryMin and RetryMax bound the wait before resubscribing after the
	// subscription broke; it doubles after each attempt that never got a
	// subscription confirmed.
	RetryMin, RetryMax time.Duration
	// OnBreak, when set, is told why the subscription broke and when the
	// next attempt comes.
	OnBreak func(err error, retryIn time.Duration)
}

// WatchRefresh subscribes to RefreshChannel with client and calls
// onRefresh on every refresh message and after every subscription is
// confirmed, including the client's own resubscription after a reconnect,
// because messages may have been missed while it was down: reload the
// routing tables each time. A subscription that breaks is renewed with
// bounded backoff. WatchRefresh returns when ctx ends.
//
// onRefresh runs on the client's pipeline goroutine and must not block: hand
// the reload to another goroutine (a channel of one element is enough, as a
// burst of refreshes needs one reload).
func WatchRefresh(ctx context.Context, client valkey.Client, o WatchOptions, onRefresh func()) {
	if o.RetryMin <= 0 {
		o.RetryMin = DefaultWatchRetryMin
	}
	if o.RetryMax <= 0 {
		o.RetryMax = DefaultWatchRetryMax
	}
	o.RetryMax = max(o.RetryMax, o.RetryMin)
	backoff := o.RetryMin
	for {
		var confirmed atomic.Bool
		hctx := valkey.WithOnSubscriptionHook(ctx, func(s valkey.PubSubSubscription) {
			if s.Kind == "subscribe" {
				confirmed.Store(true)
				onRefresh()
			}
		})
		err := client.Receive(hctx, client.B().Subscribe().Channel(RefreshChannel()).Build(),
			func(valkey.PubSubMessage) { onRefresh() })
		if ctx.Err() != nil {
			return
		}
		if confirmed.Load() {
			backoff = o.RetryMin
		}
		if o.OnBreak != nil {
			o.OnBreak(err, backoff)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, o.RetryMax)
	}
}
