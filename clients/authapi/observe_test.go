package authapi_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/clients/auth"
	"github.com/threatwinds/aiadmin/clients/authapi"
	"github.com/threatwinds/aiadmin/clients/authapi/authapitest"
	"github.com/threatwinds/aiadmin/clients/clocktest"
)

// observed records what the client reports.
type observed struct {
	mu    sync.Mutex
	calls []string // endpoint/outcome
	cache []authapi.CacheResult
}

func (o *observed) call(c authapi.Call) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if c.Duration <= 0 {
		panic("a call without a duration")
	}
	o.calls = append(o.calls, c.Endpoint+"/"+c.Outcome)
}

func (o *observed) cached(r authapi.CacheResult) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.cache = append(o.cache, r)
}

func (o *observed) take() ([]string, []authapi.CacheResult) {
	o.mu.Lock()
	defer o.mu.Unlock()
	calls, cache := o.calls, o.cache
	o.calls, o.cache = nil, nil
	return calls, cache
}

// TestObserveCallsAndCache: every Auth API call is reported with its
// endpoint and outcome, and every check with what the cache said.
func TestObserveCallsAndCache(t *testing.T) {
	srv := authapitest.NewServer()
	t.Cleanup(srv.Close)
	clock := clocktest.New(time.Unix(1_700_000_000, 0))
	valid := clock.Now().Add(time.Hour)
	srv.AddSession("tok-admin", authapitest.Session{UserID: "u1", Verified: true, ExpireAt: valid, Roles: []string{auth.AdminRole}})
	srv.AddKeyPair("key", "secret", authapitest.KeyPair{UserID: "u2", Verified: true, ExpireAt: valid, Roles: []string{auth.AdminRole}})
	var o observed
	c := authapi.New(authapi.Options{BaseURL: srv.URL(), Now: clock.Now, ObserveCall: o.call, ObserveCache: o.cached,
		PositiveTTL: time.Minute, NegativeTTL: 5 * time.Second, Timeout: 2 * time.Second})
	t.Cleanup(c.Close)
	ctx := context.Background()
	check := func(creds auth.Credentials) { _, _ = c.Authenticate(ctx, creds) }

	steps := []struct {
		what      string
		do        func()
		wantCalls []string
		wantCache []authapi.CacheResult
	}{
		{"a new session", func() { check(auth.Credentials{Bearer: "tok-admin"}) },
			[]string{"session/valid"}, []authapi.CacheResult{authapi.CacheMiss}},
		{"the same session, cached", func() { check(auth.Credentials{Bearer: "tok-admin"}) },
			nil, []authapi.CacheResult{authapi.CacheHit}},
		{"a key pair", func() { check(auth.Credentials{APIKey: "key", APISecret: "secret"}) },
			[]string{"keypair/valid"}, []authapi.CacheResult{authapi.CacheMiss}},
		{"a wrong token", func() { check(auth.Credentials{Bearer: "tok-wrong"}) },
			[]string{"session/invalid"}, []authapi.CacheResult{authapi.CacheMiss}},
		{"the wrong token again, refused from the cache", func() { check(auth.Credentials{Bearer: "tok-wrong"}) },
			nil, []authapi.CacheResult{authapi.CacheRefusal}},
		{"the Auth API failing", func() {
			srv.SetFailing(http.StatusBadGateway)
			defer srv.SetFailing(0)
			check(auth.Credentials{Bearer: "tok-other"})
		}, []string{"session/unavailable"}, []authapi.CacheResult{authapi.CacheMiss}},
	}
	for _, st := range steps {
		st.do()
		calls, cache := o.take()
		if diff := cmp.Diff(st.wantCalls, calls); diff != "" {
			t.Errorf("%s: calls (-want +got):\n%s", st.what, diff)
		}
		if diff := cmp.Diff(st.wantCache, cache); diff != "" {
			t.Errorf("%s: cache (-want +got):\n%s", st.what, diff)
		}
	}
}
