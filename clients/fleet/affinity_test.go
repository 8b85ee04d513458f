package fleet_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/threatwinds/aiadmin/clients/fleet"
)

// lookup is one LookupSession call and what it should answer.
type lookup struct {
	provider, user, model string
	wantURL               string
	wantOK                bool
}

func checkLookups(t *testing.T, s *fleet.Store, lookups []lookup) {
	t.Helper()
	ctx := testContext(t)
	for _, l := range lookups {
		url, ok, err := s.LookupSession(ctx, l.provider, l.user, l.model)
		if err != nil {
			t.Fatal(err)
		}
		if url != l.wantURL || ok != l.wantOK {
			t.Errorf("LookupSession(%s, %s, %s) = %q, %v; want %q, %v", l.provider, l.user, l.model, url, ok, l.wantURL, l.wantOK)
		}
	}
}

func pin(t *testing.T, s *fleet.Store, provider, user, model, url string) {
	t.Helper()
	if err := s.PinSession(testContext(t), provider, user, model, url); err != nil {
		t.Fatal(err)
	}
}

func testPinLookupCounters(t *testing.T, b backend) {
	ctx := testContext(t)
	s := fleet.New(b.client, fleet.Options{AffinityTTL: map[string]time.Duration{fleet.ProviderSGLang: 5 * time.Minute}})

	checkLookups(t, s, []lookup{{provider: fleet.ProviderVLLM, user: "u1", model: "m1"}})
	pin(t, s, fleet.ProviderVLLM, "u1", "m1", "http://a:8000")
	pin(t, s, fleet.ProviderVLLM, "u1", "m2", "http://b:8000")
	pin(t, s, fleet.ProviderVLLM, "u1", "m1", "http://c:8000") // re-pin moves the session
	pin(t, s, fleet.ProviderSGLang, "u1", "m1", "http://d:8000")
	checkLookups(t, s, []lookup{
		{fleet.ProviderVLLM, "u1", "m1", "http://c:8000", true},
		{fleet.ProviderVLLM, "u1", "m2", "http://b:8000", true},
		{fleet.ProviderVLLM, "u2", "m1", "", false},
		{fleet.ProviderSGLang, "u1", "m1", "http://d:8000", true},
		{fleet.ProviderSGLang, "u1", "m2", "", false},
	})
	// Lookups count nothing: the router records one outcome per request.
	got, err := s.AffinityMetrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range got {
		if p.Hits+p.Misses+p.Fallbacks != 0 {
			t.Errorf("lookups were counted: %+v", p)
		}
	}
	outcomes := map[string][]fleet.Outcome{
		fleet.ProviderVLLM:   {fleet.OutcomeHit, fleet.OutcomeMiss, fleet.OutcomeHit},
		fleet.ProviderSGLang: {fleet.OutcomeFallback, fleet.OutcomeFallback, fleet.OutcomeFallback, fleet.OutcomeMiss},
	}
	for p, os := range outcomes {
		for _, o := range os {
			if err := s.RecordOutcome(ctx, p, o); err != nil {
				t.Fatal(err)
			}
		}
	}

	got, err = s.AffinityMetrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []fleet.ProviderAffinity{
		{Name: fleet.ProviderVLLM, Hits: 2, Misses: 1, TTL: 30 * time.Minute},
		{Name: fleet.ProviderSGLang, Misses: 1, Fallbacks: 3, TTL: 5 * time.Minute},
		{Name: fleet.ProviderSpeaches, TTL: 30 * time.Minute},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AffinityMetrics (-want +got):\n%s", diff)
	}
}

func testAffinityClockExpiry(t *testing.T, b backend) {
	clock := newFakeClock()
	s := fleet.New(b.client, fleet.Options{
		Now:                clock.Now,
		DefaultAffinityTTL: time.Hour,
		AffinityTTL:        map[string]time.Duration{fleet.ProviderVLLM: time.Minute},
	})
	pin(t, s, fleet.ProviderVLLM, "u1", "m1", "http://a:8000")
	pin(t, s, fleet.ProviderSGLang, "u1", "m1", "http://b:8000")

	clock.Advance(59 * time.Second)
	checkLookups(t, s, []lookup{
		{fleet.ProviderVLLM, "u1", "m1", "http://a:8000", true},
		{fleet.ProviderSGLang, "u1", "m1", "http://b:8000", true},
	})

	clock.Advance(time.Second) // the vllm pin ends exactly at its TTL
	checkLookups(t, s, []lookup{
		{fleet.ProviderVLLM, "u1", "m1", "", false},
		{fleet.ProviderSGLang, "u1", "m1", "http://b:8000", true},
	})

	// Re-pinning after expiry starts a new TTL.
	pin(t, s, fleet.ProviderVLLM, "u1", "m1", "http://c:8000")
	clock.Advance(30 * time.Second)
	checkLookups(t, s, []lookup{{fleet.ProviderVLLM, "u1", "m1", "http://c:8000", true}})

	clock.Advance(time.Hour)
	cleared, err := s.ClearAffinity(testContext(t), "u1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cleared != 0 {
		t.Errorf("cleared %d expired pins, want 0 counted", cleared)
	}
}

func testClearAffinity(t *testing.T, b backend) {
	m1, m3, none := "m1", "m3", "never-pinned"
	tests := []struct {
		name        string
		user        string
		model       *string
		wantCleared int64
		after       []lookup
	}{
		{
			name: "all models", user: "u1", wantCleared: 3,
			after: []lookup{
				{fleet.ProviderVLLM, "u1", "m1", "", false},
				{fleet.ProviderVLLM, "u1", "m2", "", false},
				{fleet.ProviderSGLang, "u1", "m1", "", false},
				{fleet.ProviderVLLM, "u2", "m1", "http://x:8000", true},
			},
		},
		{
			name: "one model on every provider", user: "u1", model: &m1, wantCleared: 2,
			after: []lookup{
				{fleet.ProviderVLLM, "u1", "m1", "", false},
				{fleet.ProviderSGLang, "u1", "m1", "", false},
				{fleet.ProviderVLLM, "u1", "m2", "http://b:8000", true},
				{fleet.ProviderVLLM, "u2", "m1", "http://x:8000", true},
			},
		},
		{
			name: "only an expired pin", user: "u1", model: &m3, wantCleared: 0,
			after: []lookup{{fleet.ProviderVLLM, "u1", "m2", "http://b:8000", true}},
		},
		{
			name: "model never pinned", user: "u1", model: &none, wantCleared: 0,
			after: []lookup{{fleet.ProviderVLLM, "u1", "m1", "http://a:8000", true}},
		},
		{name: "user without pins", user: "nobody", wantCleared: 0},
		{name: "user without pins, one model", user: "nobody", model: &m1, wantCleared: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			flush(t, b.client)
			clock := newFakeClock()
			s := fleet.New(b.client, fleet.Options{
				Now:         clock.Now,
				AffinityTTL: map[string]time.Duration{fleet.ProviderSpeaches: time.Minute},
			})
			pin(t, s, fleet.ProviderVLLM, "u1", "m1", "http://a:8000")
			pin(t, s, fleet.ProviderVLLM, "u1", "m2", "http://b:8000")
			pin(t, s, fleet.ProviderSGLang, "u1", "m1", "http://c:8000")
			pin(t, s, fleet.ProviderSpeaches, "u1", "m3", "http://d:8000")
			pin(t, s, fleet.ProviderVLLM, "u2", "m1", "http://x:8000")
			clock.Advance(2 * time.Minute) // the speaches pin expires; the others last 30m

			cleared, err := s.ClearAffinity(testContext(t), tc.user, tc.model)
			if err != nil {
				t.Fatal(err)
			}
			if cleared != tc.wantCleared {
				t.Errorf("cleared = %d, want %d", cleared, tc.wantCleared)
			}
			checkLookups(t, s, tc.after)
		})
	}
}

func testAffinityValidation(t *testing.T, b backend) {
	ctx := testContext(t)
	s := fleet.New(b.client, fleet.Options{})
	empty := ""
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"pin unknown provider", func() error { return s.PinSession(ctx, "tgi", "u", "m", "http://a") }, fleet.ErrUnknownProvider},
		{"pin empty user", func() error { return s.PinSession(ctx, fleet.ProviderVLLM, "", "m", "http://a") }, fleet.ErrEmptyUser},
		{"pin empty model", func() error { return s.PinSession(ctx, fleet.ProviderVLLM, "u", "", "http://a") }, fleet.ErrEmptyModel},
		{"pin empty url", func() error { return s.PinSession(ctx, fleet.ProviderVLLM, "u", "m", "") }, fleet.ErrEmptyURL},
		{"lookup unknown provider", func() error { _, _, err := s.LookupSession(ctx, "tgi", "u", "m"); return err }, fleet.ErrUnknownProvider},
		{"lookup empty user", func() error { _, _, err := s.LookupSession(ctx, fleet.ProviderVLLM, "", "m"); return err }, fleet.ErrEmptyUser},
		{"outcome unknown provider", func() error { return s.RecordOutcome(ctx, "tgi", fleet.OutcomeHit) }, fleet.ErrUnknownProvider},
		{"outcome zero", func() error { return s.RecordOutcome(ctx, fleet.ProviderVLLM, 0) }, fleet.ErrInvalidOutcome},
		{"outcome unknown", func() error { return s.RecordOutcome(ctx, fleet.ProviderVLLM, fleet.OutcomeFallback+1) }, fleet.ErrInvalidOutcome},
		{"sessions empty user", func() error { _, err := s.UserSessions(ctx, ""); return err }, fleet.ErrEmptyUser},
		{"clear empty user", func() error { _, err := s.ClearAffinity(ctx, "", nil); return err }, fleet.ErrEmptyUser},
		{"clear empty model", func() error { _, err := s.ClearAffinity(ctx, "u", &empty); return err }, fleet.ErrEmptyModel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	got, err := s.AffinityMetrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range got {
		if p.Hits+p.Misses+p.Fallbacks != 0 {
			t.Errorf("rejected calls were counted: %+v", p)
		}
	}
}

func testUserSessions(t *testing.T, b backend) {
	ctx := testContext(t)
	clock := newFakeClock()
	c, log := loggingClient(t, b.opts)
	s := fleet.New(c, fleet.Options{
		Now:         clock.Now,
		AffinityTTL: map[string]time.Duration{fleet.ProviderSpeaches: time.Minute},
	})
	const user = "u{1}:x"
	pin(t, s, fleet.ProviderVLLM, user, "m2", "http://a:8000")
	pin(t, s, fleet.ProviderVLLM, user, "m1", "http://b:8000")
	pin(t, s, fleet.ProviderSGLang, user, "org/m:v1", "http://d:8000/v1")
	pin(t, s, fleet.ProviderVLLM, "someone else", "m1", "http://e:8000")
	clock.Advance(30 * time.Second)
	pin(t, s, fleet.ProviderSpeaches, user, "whisper", "http://c:8000") // lasts a minute
	clock.Advance(30 * time.Second)
	pin(t, s, fleet.ProviderVLLM, user, "m1", "http://f:8000") // moved, and lasts longer
	// The speaches pin expires but stays in the hash until the next pin.
	clock.Advance(2 * time.Minute)
	if n, err := c.Do(ctx, c.B().Hlen().Key(fleet.AffinityKey(user)).Build()).AsInt64(); err != nil || n != 4 {
		t.Fatalf("HLEN = %d, %v; want 4 pins, one of them expired", n, err)
	}

	log.Reset()
	got, err := s.UserSessions(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if n := log.Count(fleet.AffinityKey(user)); n != 1 {
		t.Errorf("UserSessions took %d round trips, want 1", n)
	}
	want := []fleet.Session{
		{Provider: fleet.ProviderSGLang, ModelID: "org/m:v1", URL: "http://d:8000/v1", ExpiresAt: t0.Add(30 * time.Minute).UTC()},
		{Provider: fleet.ProviderVLLM, ModelID: "m1", URL: "http://f:8000", ExpiresAt: t0.Add(31 * time.Minute).UTC()},
		{Provider: fleet.ProviderVLLM, ModelID: "m2", URL: "http://a:8000", ExpiresAt: t0.Add(30 * time.Minute).UTC()},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UserSessions (-want +got):\n%s", diff)
	}

	none, err := s.UserSessions(ctx, "nobody")
	if err != nil {
		t.Fatal(err)
	}
	if none == nil || len(none) != 0 {
		t.Errorf("UserSessions of an unknown user = %#v, want an empty slice", none)
	}
	clock.Advance(time.Hour)
	gone, err := s.UserSessions(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if gone == nil || len(gone) != 0 {
		t.Errorf("UserSessions after every pin expired = %#v, want an empty slice", gone)
	}
}
