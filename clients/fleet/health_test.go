package fleet_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/valkey-io/valkey-go"
)

func testHealth(t *testing.T, b backend) {
	ctx := testContext(t)
	s := fleet.New(b.client, fleet.Options{})
	up, down := true, false
	writes := []struct {
		url string
		h   fleet.ServerHealth
	}{
		{podURL(1), fleet.ServerHealth{Healthy: &up, ConsecutiveSuccesses: 4, LastCheckMs: 1_700_000_000_000, LastFailureMs: 1_600_000_000_000}},
		{podURL(2), fleet.ServerHealth{Healthy: &down, ConsecutiveFailures: 2, LastCheckMs: 1_700_000_000_500, LastFailureMs: 1_700_000_000_500}},
		{podURL(3), fleet.ServerHealth{Healthy: &up, ConsecutiveSuccesses: 1}},
		{podURL(3), fleet.ServerHealth{ConsecutiveFailures: 1, LastCheckMs: 5}}, // replaces the first
	}
	for _, w := range writes {
		if err := s.RecordHealth(ctx, w.url, w.h); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.HealthMany(ctx, []string{podURL(2), podURL(1), "http://never:1", podURL(3)})
	if err != nil {
		t.Fatal(err)
	}
	want := []fleet.ServerHealth{writes[1].h, writes[0].h, {}, writes[3].h}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("HealthMany (-want +got):\n%s", diff)
	}

	pttl, err := b.client.Do(ctx, b.client.B().Pttl().Key(fleet.HealthKey(podURL(1))).Build()).AsInt64()
	if err != nil {
		t.Fatal(err)
	}
	if pttl <= 0 || pttl > fleet.DefaultHealthRetention.Milliseconds() {
		t.Errorf("health PTTL = %dms, want within the retention", pttl)
	}

	got, err = s.HealthMany(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]fleet.ServerHealth{}, got); diff != "" {
		t.Errorf("HealthMany(nil) (-want +got):\n%s", diff)
	}
	if err := s.RecordHealth(ctx, "", fleet.ServerHealth{}); !errors.Is(err, fleet.ErrEmptyURL) {
		t.Errorf("RecordHealth with empty url: err = %v, want %v", err, fleet.ErrEmptyURL)
	}
}

func testPublishRefresh(t *testing.T, b backend) {
	ctx, cancel := context.WithTimeout(testContext(t), 20*time.Second)
	defer cancel()
	s := fleet.New(b.client, fleet.Options{})

	var once sync.Once
	subscribed := make(chan struct{})
	received := make(chan string, 1)
	sub := b.client.B().Subscribe().Channel(fleet.RefreshChannel()).Build()
	done := make(chan error, 1)
	go func() {
		done <- b.client.Receive(valkey.WithOnSubscriptionHook(ctx, func(valkey.PubSubSubscription) { once.Do(func() { close(subscribed) }) }), sub,
			func(m valkey.PubSubMessage) {
				select {
				case received <- m.Channel:
				default:
				}
			})
	}()
	select {
	case <-subscribed:
	case <-ctx.Done():
		t.Fatal("not subscribed before the deadline")
	}
	// A cluster forwards a message to every node, which can take a moment
	// after the subscription; publish until it arrives.
	for {
		if err := s.PublishRefresh(testContext(t)); err != nil {
			t.Fatal(err)
		}
		select {
		case ch := <-received:
			if ch != fleet.RefreshChannel() {
				t.Errorf("message on %q, want %q", ch, fleet.RefreshChannel())
			}
			cancel()
			<-done
			return
		case <-ctx.Done():
			t.Fatal("no refresh message before the deadline")
		case <-time.After(100 * time.Millisecond):
		}
	}
}
