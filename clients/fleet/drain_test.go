package fleet_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/clients/fleet"
)

func testDrains(t *testing.T, b backend) {
	ctx := testContext(t)
	clock := newFakeClock()
	s := fleet.New(b.client, fleet.Options{Now: clock.Now})
	none, err := s.Drains(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if none == nil || len(none) != 0 {
		t.Errorf("Drains of none = %#v, want an empty map", none)
	}

	// Every write announces itself on the refresh channel.
	refreshes := make(chan struct{}, 16)
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		fleet.WatchRefresh(wctx, b.client, fleet.WatchOptions{}, func() {
			select {
			case refreshes <- struct{}{}:
			default:
			}
		})
	}()
	defer func() { stop(); <-done }()
	awaitRefresh := func(what string) {
		t.Helper()
		select {
		case <-refreshes:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no refresh within 10 s", what)
		}
	}
	awaitRefresh("subscription")

	const a, c = "http://a:8000/v1", "http://{c}:8000"
	long := strings.Repeat("é", fleet.MaxDrainReason) // 256 characters, 512 bytes
	steps := []struct {
		what string
		do   func() error
		want map[string]fleet.Drain
	}{
		{"drain a", func() error { return s.Drain(ctx, a, "kernel upgrade: node 3") }, map[string]fleet.Drain{
			a: {Reason: "kernel upgrade: node 3", Since: t0.UTC()},
		}},
		{"drain c a minute later, with the longest reason", func() error { clock.Advance(time.Minute); return s.Drain(ctx, c, long) }, map[string]fleet.Drain{
			a: {Reason: "kernel upgrade: node 3", Since: t0.UTC()},
			c: {Reason: long, Since: t0.Add(time.Minute).UTC()},
		}},
		{"drain a again: new reason, same since", func() error { clock.Advance(time.Minute); return s.Drain(ctx, a, "") }, map[string]fleet.Drain{
			a: {Reason: "", Since: t0.UTC()},
			c: {Reason: long, Since: t0.Add(time.Minute).UTC()},
		}},
		{"undrain a", func() error { return s.Undrain(ctx, a) }, map[string]fleet.Drain{
			c: {Reason: long, Since: t0.Add(time.Minute).UTC()},
		}},
		{"undrain a again", func() error { return s.Undrain(ctx, a) }, map[string]fleet.Drain{
			c: {Reason: long, Since: t0.Add(time.Minute).UTC()},
		}},
		{"drain a anew: a new since", func() error { return s.Drain(ctx, a, "back in") }, map[string]fleet.Drain{
			a: {Reason: "back in", Since: t0.Add(2 * time.Minute).UTC()},
			c: {Reason: long, Since: t0.Add(time.Minute).UTC()},
		}},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.what, err)
		}
		awaitRefresh(st.what)
		got, err := s.Drains(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(st.want, got); diff != "" {
			t.Errorf("%s: drains (-want +got):\n%s", st.what, diff)
		}
	}
}

func testDrainValidation(t *testing.T, b backend) {
	ctx := testContext(t)
	s := fleet.New(b.client, fleet.Options{})
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"reason of 257 characters", func() error { return s.Drain(ctx, "http://a", strings.Repeat("x", fleet.MaxDrainReason+1)) }, fleet.ErrDrainReasonTooLong},
		{"empty url", func() error { return s.Drain(ctx, "", "r") }, fleet.ErrEmptyURL},
		{"undrain empty url", func() error { return s.Undrain(ctx, "") }, fleet.ErrEmptyURL},
		{"known empty url", func() error { _, err := s.ServerKnown(ctx, ""); return err }, fleet.ErrEmptyURL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if exists(t, b.client, fleet.DrainsKey()) {
		t.Error("refused drains wrote the drains hash")
	}
	// Another writer that breaks the schema is reported, not misread.
	if err := b.client.Do(ctx, b.client.B().Hset().Key(fleet.DrainsKey()).FieldValue().FieldValue("http://a", "soon").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Drains(ctx); err == nil {
		t.Errorf("Drains of a malformed value = %+v, want an error", got)
	}
}

func testServerKnown(t *testing.T, b backend) {
	ctx := testContext(t)
	s := fleet.New(b.client, fleet.Options{})
	if err := s.RegisterServer(ctx, fleet.ProviderSpeaches, "http://s:8000", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterServer(ctx, fleet.ProviderVLLM, "http://v:8000", []string{"m"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterServer(ctx, fleet.ProviderVLLM, "http://gone:8000", []string{"m"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeregisterServer(ctx, fleet.ProviderVLLM, "http://gone:8000"); err != nil {
		t.Fatal(err)
	}
	for url, want := range map[string]bool{"http://s:8000": true, "http://v:8000": true, "http://gone:8000": false, "http://never:8000": false} {
		got, err := s.ServerKnown(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("ServerKnown(%s) = %v, want %v", url, got, want)
		}
	}
}
