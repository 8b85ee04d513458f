package authapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/clients/auth"
	"github.com/threatwinds/aiadmin/clients/authapi/authapitest"
	"github.com/threatwinds/aiadmin/clients/clocktest"
)

// t0 is the fake clock's start; sessions in these tests expire relative to it.
var t0 = time.Unix(1_700_000_000, 0)

func startAuthAPI(t *testing.T) *authapitest.Server {
	t.Helper()
	srv := authapitest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

func newTestClient(t *testing.T, srv *authapitest.Server, clk *clocktest.Clock, o Options) *Client {
	t.Helper()
	o.BaseURL = srv.URL()
	if o.Now == nil {
		o.Now = clk.Now
	}
	c := New(o)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// assertNoCredential fails if err carries a credential or the hash of one.
func assertNoCredential(t *testing.T, err error, creds auth.Credentials) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	key := credentialKey(creds)
	for _, secret := range []string{creds.Bearer, creds.APIKey, creds.APISecret, hex.EncodeToString(key[:]), string(key[:])} {
		if secret != "" && strings.Contains(msg, secret) {
			t.Errorf("error %q holds a credential or its hash", msg)
		}
	}
}

func bearer(token string) auth.Credentials { return auth.Credentials{Bearer: token} }

func keyPair(key, secret string) auth.Credentials {
	return auth.Credentials{APIKey: key, APISecret: secret}
}

func TestAuthenticate(t *testing.T) {
	srv := startAuthAPI(t)
	valid := t0.Add(time.Hour)
	srv.AddSession("tok-admin", authapitest.Session{SessionID: "s1", UserID: "u-admin", Verified: true, ExpireAt: valid, Roles: []string{"user", auth.AdminRole}, Groups: []string{"public"}})
	srv.AddSession("tok-user", authapitest.Session{UserID: "u-user", Verified: true, ExpireAt: valid, Roles: []string{"user"}})
	srv.AddSession("tok-noroles", authapitest.Session{UserID: "u-none", Verified: true, ExpireAt: valid})
	srv.AddSession("tok-unverified", authapitest.Session{UserID: "u-admin", Verified: false, ExpireAt: valid, Roles: []string{auth.AdminRole}})
	srv.AddSession("tok-expired", authapitest.Session{UserID: "u-admin", Verified: true, ExpireAt: t0.Add(-time.Second), Roles: []string{auth.AdminRole}})
	srv.AddSession("tok-expires-now", authapitest.Session{UserID: "u-admin", Verified: true, ExpireAt: t0, Roles: []string{auth.AdminRole}})
	srv.AddSession("tok-nouser", authapitest.Session{Verified: true, ExpireAt: valid, Roles: []string{auth.AdminRole}})
	srv.AddKeyPair("key-admin", "secret-admin", authapitest.KeyPair{KeyID: "k1", UserID: "u-key", Verified: true, ExpireAt: valid, Roles: []string{auth.AdminRole}})
	srv.AddKeyPair("key-unverified", "secret", authapitest.KeyPair{UserID: "u-key", Verified: false, ExpireAt: valid, Roles: []string{auth.AdminRole}})
	srv.AddKeyPair("key-expired", "secret", authapitest.KeyPair{UserID: "u-key", Verified: true, ExpireAt: t0.Add(-time.Hour), Roles: []string{auth.AdminRole}})

	tests := []struct {
		name      string
		creds     auth.Credentials
		want      auth.Principal
		wantErr   error
		wantCalls int64
	}{
		{name: "valid session", creds: bearer("tok-admin"), want: auth.Principal{UserID: "u-admin", Roles: []string{"user", auth.AdminRole}}, wantCalls: 1},
		{name: "valid key pair", creds: keyPair("key-admin", "secret-admin"), want: auth.Principal{UserID: "u-key", Roles: []string{auth.AdminRole}}, wantCalls: 1},
		{name: "session without the admin role is returned for the caller to judge", creds: bearer("tok-user"), want: auth.Principal{UserID: "u-user", Roles: []string{"user"}}, wantCalls: 1},
		{name: "session with no roles", creds: bearer("tok-noroles"), want: auth.Principal{UserID: "u-none", Roles: []string{}}, wantCalls: 1},
		{name: "bearer wins when both forms are set", creds: auth.Credentials{Bearer: "tok-admin", APIKey: "key-admin", APISecret: "wrong"}, want: auth.Principal{UserID: "u-admin", Roles: []string{"user", auth.AdminRole}}, wantCalls: 1},
		{name: "unverified session", creds: bearer("tok-unverified"), wantErr: auth.ErrInvalidCredentials, wantCalls: 1},
		{name: "unverified key pair", creds: keyPair("key-unverified", "secret"), wantErr: auth.ErrInvalidCredentials, wantCalls: 1},
		{name: "expired session", creds: bearer("tok-expired"), wantErr: auth.ErrInvalidCredentials, wantCalls: 1},
		{name: "session expiring this second", creds: bearer("tok-expires-now"), wantErr: auth.ErrInvalidCredentials, wantCalls: 1},
		{name: "expired key pair", creds: keyPair("key-expired", "secret"), wantErr: auth.ErrInvalidCredentials, wantCalls: 1},
		{name: "session without a user", creds: bearer("tok-nouser"), wantErr: auth.ErrInvalidCredentials, wantCalls: 1},
		{name: "unknown token answers 401", creds: bearer("tok-unknown"), wantErr: auth.ErrInvalidCredentials, wantCalls: 1},
		{name: "wrong secret answers 401", creds: keyPair("key-admin", "secret-wrong"), wantErr: auth.ErrInvalidCredentials, wantCalls: 1},
		{name: "no credentials", creds: auth.Credentials{}, wantErr: auth.ErrInvalidCredentials},
		{name: "key without secret", creds: auth.Credentials{APIKey: "key-admin"}, wantErr: auth.ErrInvalidCredentials},
		{name: "token with a line break", creds: bearer("tok-admin\r\nx-injected: 1"), wantErr: auth.ErrInvalidCredentials},
		{name: "secret with a NUL", creds: keyPair("key-admin", "secret\x00admin"), wantErr: auth.ErrInvalidCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.ResetCalls()
			c := newTestClient(t, srv, clocktest.New(t0), Options{})
			got, err := c.Authenticate(context.Background(), tt.creds)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || errors.Is(err, auth.ErrUnavailable) {
					t.Fatalf("Authenticate() error = %v, want %v", err, tt.wantErr)
				}
				assertNoCredential(t, err, tt.creds)
			} else if err != nil {
				t.Fatalf("Authenticate() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("principal (-want +got):\n%s", diff)
			}
			if n := srv.Calls(); n != tt.wantCalls {
				t.Errorf("Auth API calls = %d, want %d", n, tt.wantCalls)
			}
		})
	}
}

func TestRoleCheckIsLeftToTheCaller(t *testing.T) {
	srv := startAuthAPI(t)
	srv.AddSession("tok", authapitest.Session{UserID: "u", Verified: true, ExpireAt: t0.Add(time.Hour), Roles: []string{"user", "admin"}})
	c := newTestClient(t, srv, clocktest.New(t0), Options{})

	p, err := c.Authenticate(context.Background(), bearer("tok"))
	if err != nil {
		t.Fatalf("Authenticate() error = %v", err)
	}
	if p.HasRole(auth.AdminRole) {
		t.Errorf("principal %+v has %s", p, auth.AdminRole)
	}
	if diff := cmp.Diff([]string{"user", "admin"}, p.Roles); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
}

func TestUpstreamStatuses(t *testing.T) {
	tests := []struct {
		status  int
		wantErr error
	}{
		{http.StatusUnauthorized, auth.ErrInvalidCredentials},
		{http.StatusForbidden, auth.ErrInvalidCredentials},
		{http.StatusInternalServerError, auth.ErrUnavailable},
		{http.StatusBadGateway, auth.ErrUnavailable},
		{http.StatusServiceUnavailable, auth.ErrUnavailable},
		{http.StatusTooManyRequests, auth.ErrUnavailable},
		{http.StatusNotFound, auth.ErrUnavailable},
		{http.StatusBadRequest, auth.ErrUnavailable},
		{http.StatusFound, auth.ErrUnavailable},
		{http.StatusAccepted, auth.ErrUnavailable},
	}
	srv := startAuthAPI(t)
	srv.AddSession("tok", authapitest.Session{UserID: "u", Verified: true, ExpireAt: t0.Add(time.Hour)})
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			srv.SetFailing(tt.status)
			c := newTestClient(t, srv, clocktest.New(t0), Options{})
			for _, creds := range []auth.Credentials{bearer("tok"), keyPair("key-abcdef", "secret-abcdef")} {
				_, err := c.Authenticate(context.Background(), creds)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Authenticate() error = %v, want %v", err, tt.wantErr)
				}
				if tt.wantErr == auth.ErrUnavailable && errors.Is(err, auth.ErrInvalidCredentials) {
					t.Fatalf("Authenticate() error = %v is both unavailable and invalid", err)
				}
				assertNoCredential(t, err, creds)
			}
		})
	}
}

func TestMalformedAnswersAreUnavailable(t *testing.T) {
	tests := map[string]string{
		"not json":         "<html>gateway</html>",
		"empty":            "",
		"truncated":        `{"userID": "u", "verified": tr`,
		"json null":        "null",
		"json array":       `[{"userID": "u"}]`,
		"userID of a type": `{"userID": 5, "verified": true, "expireAt": 1800000000}`,
		"expireAt a word":  `{"userID": "u", "verified": true, "expireAt": "soon"}`,
		"expireAt huge":    `{"userID": "u", "verified": true, "expireAt": 1e300}`,
		"trailing garbage": `{"userID": "u", "verified": true, "expireAt": 1800000000} x`,
		"too large":        `{"userID": "u", "verified": true, "expireAt": 1800000000, "pad": "` + strings.Repeat("a", maxAnswerBytes) + `"}`,
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			var calls atomic.Int64
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(body))
			}))
			defer up.Close()
			c := New(Options{BaseURL: up.URL, Now: clocktest.New(t0).Now})
			defer c.CloseIdleConnections()
			for range 2 {
				_, err := c.Authenticate(context.Background(), bearer("tok"))
				if !errors.Is(err, auth.ErrUnavailable) || errors.Is(err, auth.ErrInvalidCredentials) {
					t.Fatalf("Authenticate() error = %v, want only %v", err, auth.ErrUnavailable)
				}
			}
			if n := calls.Load(); n != 2 {
				t.Errorf("upstream calls = %d, want 2 (a malformed answer is not cached)", n)
			}
			if c.Len() != 0 {
				t.Errorf("cache holds %d answers, want 0", c.Len())
			}
		})
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	var leaked atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Add(1)
	}))
	defer elsewhere.Close()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer up.Close()
	c := New(Options{BaseURL: up.URL, HTTPClient: &http.Client{}, Now: clocktest.New(t0).Now})

	_, err := c.Authenticate(context.Background(), keyPair("k", "s"))
	if !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("Authenticate() error = %v, want %v", err, auth.ErrUnavailable)
	}
	if n := leaked.Load(); n != 0 {
		t.Errorf("the redirect target got %d calls carrying the key pair", n)
	}
}

func TestUnreachableAuthAPIIsUnavailable(t *testing.T) {
	up := httptest.NewServer(http.NotFoundHandler())
	base := up.URL
	up.Close()
	c := New(Options{BaseURL: base, Timeout: 2 * time.Second})
	_, err := c.Authenticate(context.Background(), bearer("tok"))
	if !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("Authenticate() error = %v, want %v", err, auth.ErrUnavailable)
	}
}

func TestBadBaseURLIsUnavailable(t *testing.T) {
	c := New(Options{BaseURL: "ftp://example.com/auth"})
	_, err := c.Authenticate(context.Background(), bearer("tok"))
	if !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("Authenticate() error = %v, want %v", err, auth.ErrUnavailable)
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		o       Options
		wantErr bool
	}{
		{name: "zero uses defaults", o: Options{}},
		{name: "custom base", o: Options{BaseURL: "http://127.0.0.1:8080/api/auth/v2/"}},
		{name: "relative base", o: Options{BaseURL: "/api/auth/v2"}, wantErr: true},
		{name: "other scheme", o: Options{BaseURL: "ftp://example.com"}, wantErr: true},
		{name: "user info", o: Options{BaseURL: "https://u:p@example.com"}, wantErr: true},
		{name: "negative timeout", o: Options{Timeout: -time.Second}, wantErr: true},
		{name: "negative positive ttl", o: Options{PositiveTTL: -time.Second}, wantErr: true},
		{name: "negative negative ttl", o: Options{NegativeTTL: -time.Second}, wantErr: true},
		{name: "negative size", o: Options{MaxEntries: -1}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.o.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("Validate() = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestBaseURLPaths(t *testing.T) {
	for _, base := range []string{"https://a.example/api/auth/v2", "https://a.example/api/auth/v2/"} {
		c := New(Options{BaseURL: base})
		if diff := cmp.Diff([]string{"https://a.example/api/auth/v2/session", "https://a.example/api/auth/v2/keypair"}, []string{c.sessionURL, c.keyPairURL}); diff != "" {
			t.Errorf("base %q (-want +got):\n%s", base, diff)
		}
	}
}

func TestSlowAuthAPITimesOut(t *testing.T) {
	srv := startAuthAPI(t)
	srv.AddSession("tok", authapitest.Session{UserID: "u", Verified: true, ExpireAt: t0.Add(time.Hour)})
	srv.SetDelay(10 * time.Second)
	const timeout = 200 * time.Millisecond
	c := newTestClient(t, srv, clocktest.New(t0), Options{Timeout: timeout})

	start := time.Now()
	_, err := c.Authenticate(context.Background(), bearer("tok"))
	elapsed := time.Since(start)
	if !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("Authenticate() error = %v, want %v", err, auth.ErrUnavailable)
	}
	if elapsed < timeout || elapsed > timeout+time.Second {
		t.Errorf("gave up after %v, want about %v", elapsed, timeout)
	}
	if c.Len() != 0 {
		t.Errorf("cache holds %d answers after a timeout, want 0", c.Len())
	}
}

func TestCallerGivingUpDoesNotCancelTheSharedCall(t *testing.T) {
	srv := startAuthAPI(t)
	srv.AddSession("tok", authapitest.Session{UserID: "u", Verified: true, ExpireAt: t0.Add(time.Hour)})
	srv.SetDelay(300 * time.Millisecond)
	c := newTestClient(t, srv, clocktest.New(t0), Options{Timeout: 5 * time.Second})

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Authenticate(ctx, bearer("tok"))
	if !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("Authenticate() with an impatient caller error = %v, want %v", err, auth.ErrUnavailable)
	}
	if elapsed := time.Since(start); elapsed > 250*time.Millisecond {
		t.Errorf("impatient caller waited %v", elapsed)
	}

	// A patient caller joins the call already in flight.
	p, err := c.Authenticate(context.Background(), bearer("tok"))
	if err != nil {
		t.Fatalf("Authenticate() error = %v", err)
	}
	if p.UserID != "u" {
		t.Errorf("UserID = %q, want u", p.UserID)
	}
	if n := srv.Calls(); n != 1 {
		t.Errorf("Auth API calls = %d, want 1", n)
	}
}

func TestCancelledCallerMakesNoCall(t *testing.T) {
	srv := startAuthAPI(t)
	c := newTestClient(t, srv, clocktest.New(t0), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Authenticate(ctx, bearer("tok")); !errors.Is(err, auth.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Authenticate() error = %v, want %v and %v", err, auth.ErrUnavailable, context.Canceled)
	}
	if n := srv.Calls(); n != 0 {
		t.Errorf("Auth API calls = %d, want 0", n)
	}
}

func TestUnavailableIsNotCached(t *testing.T) {
	srv := startAuthAPI(t)
	srv.AddSession("tok", authapitest.Session{UserID: "u", Verified: true, ExpireAt: t0.Add(time.Hour)})
	c := newTestClient(t, srv, clocktest.New(t0), Options{})

	srv.SetFailing(http.StatusInternalServerError)
	if _, err := c.Authenticate(context.Background(), bearer("tok")); !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("Authenticate() while failing error = %v, want %v", err, auth.ErrUnavailable)
	}
	srv.SetFailing(0)
	p, err := c.Authenticate(context.Background(), bearer("tok"))
	if err != nil {
		t.Fatalf("Authenticate() after recovery error = %v", err)
	}
	if p.UserID != "u" {
		t.Errorf("UserID = %q, want u", p.UserID)
	}
	if n := srv.Calls(); n != 2 {
		t.Errorf("Auth API calls = %d, want 2", n)
	}
}

func TestPositiveCache(t *testing.T) {
	srv := startAuthAPI(t)
	srv.AddSession("tok", authapitest.Session{UserID: "u", Verified: true, ExpireAt: t0.Add(time.Hour), Roles: []string{auth.AdminRole}})
	srv.AddKeyPair("k", "s", authapitest.KeyPair{UserID: "uk", Verified: true, ExpireAt: t0.Add(time.Hour), Roles: []string{auth.AdminRole}})
	clk := clocktest.New(t0)
	c := newTestClient(t, srv, clk, Options{PositiveTTL: 30 * time.Second})
	ctx := context.Background()

	steps := []struct {
		advance   time.Duration
		wantCalls int64
	}{
		{0, 2},                // first sight: one call each
		{0, 2},                // cached
		{29 * time.Second, 2}, // still within the TTL
		{time.Second, 4},      // TTL reached: asked again
		{time.Second, 4},      // cached anew
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		for _, creds := range []auth.Credentials{bearer("tok"), keyPair("k", "s")} {
			p, err := c.Authenticate(ctx, creds)
			if err != nil {
				t.Fatalf("step %d: Authenticate() error = %v", i, err)
			}
			if !p.HasRole(auth.AdminRole) {
				t.Fatalf("step %d: principal %+v lacks %s", i, p, auth.AdminRole)
			}
		}
		if n := srv.Calls(); n != s.wantCalls {
			t.Errorf("step %d: Auth API calls = %d, want %d", i, n, s.wantCalls)
		}
	}
}

func TestCachedRolesCannotBeChangedByCallers(t *testing.T) {
	srv := startAuthAPI(t)
	srv.AddSession("tok", authapitest.Session{UserID: "u", Verified: true, ExpireAt: t0.Add(time.Hour), Roles: []string{"user"}})
	c := newTestClient(t, srv, clocktest.New(t0), Options{})

	p, err := c.Authenticate(context.Background(), bearer("tok"))
	if err != nil {
		t.Fatalf("Authenticate() error = %v", err)
	}
	p.Roles[0] = auth.AdminRole
	p, err = c.Authenticate(context.Background(), bearer("tok"))
	if err != nil {
		t.Fatalf("Authenticate() error = %v", err)
	}
	if diff := cmp.Diff([]string{"user"}, p.Roles); diff != "" {
		t.Errorf("cached roles (-want +got):\n%s", diff)
	}
}

func TestCacheNeverOutlivesExpireAt(t *testing.T) {
	srv := startAuthAPI(t)
	srv.AddSession("tok", authapitest.Session{UserID: "u", Verified: true, ExpireAt: t0.Add(10 * time.Second)})
	clk := clocktest.New(t0)
	c := newTestClient(t, srv, clk, Options{PositiveTTL: 30 * time.Second})
	ctx := context.Background()

	if _, err := c.Authenticate(ctx, bearer("tok")); err != nil {
		t.Fatalf("Authenticate() error = %v", err)
	}
	clk.Advance(9 * time.Second)
	if _, err := c.Authenticate(ctx, bearer("tok")); err != nil {
		t.Fatalf("Authenticate() before expireAt error = %v", err)
	}
	if n := srv.Calls(); n != 1 {
		t.Errorf("Auth API calls before expireAt = %d, want 1", n)
	}
	clk.Advance(time.Second)
	_, err := c.Authenticate(ctx, bearer("tok"))
	if !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("Authenticate() at expireAt error = %v, want %v", err, auth.ErrInvalidCredentials)
	}
	if n := srv.Calls(); n != 2 {
		t.Errorf("Auth API calls at expireAt = %d, want 2", n)
	}
}

func TestNegativeCache(t *testing.T) {
	srv := startAuthAPI(t)
	clk := clocktest.New(t0)
	c := newTestClient(t, srv, clk, Options{NegativeTTL: 5 * time.Second})
	ctx := context.Background()

	for range 3 {
		if _, err := c.Authenticate(ctx, bearer("tok")); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Fatalf("Authenticate() error = %v, want %v", err, auth.ErrInvalidCredentials)
		}
	}
	if n := srv.Calls(); n != 1 {
		t.Errorf("Auth API calls for a refused token = %d, want 1", n)
	}

	// The session becomes valid; the refusal is remembered until NegativeTTL.
	srv.AddSession("tok", authapitest.Session{UserID: "u", Verified: true, ExpireAt: t0.Add(time.Hour)})
	clk.Advance(4 * time.Second)
	if _, err := c.Authenticate(ctx, bearer("tok")); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("Authenticate() within NegativeTTL error = %v, want %v", err, auth.ErrInvalidCredentials)
	}
	clk.Advance(time.Second)
	if _, err := c.Authenticate(ctx, bearer("tok")); err != nil {
		t.Fatalf("Authenticate() after NegativeTTL error = %v", err)
	}
	if n := srv.Calls(); n != 2 {
		t.Errorf("Auth API calls = %d, want 2", n)
	}
}

func TestConcurrentChecksOfOneTokenMakeOneCall(t *testing.T) {
	srv := startAuthAPI(t)
	srv.AddSession("tok", authapitest.Session{UserID: "u", Verified: true, ExpireAt: t0.Add(time.Hour), Roles: []string{auth.AdminRole}})
	srv.SetDelay(200 * time.Millisecond)
	c := newTestClient(t, srv, clocktest.New(t0), Options{})

	const callers = 500
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		got   = make([]auth.Principal, callers)
		errs  = make([]error, callers)
	)
	for i := range callers {
		wg.Go(func() {
			<-start
			got[i], errs[i] = c.Authenticate(context.Background(), bearer("tok"))
		})
	}
	close(start)
	wg.Wait()

	want := auth.Principal{UserID: "u", Roles: []string{auth.AdminRole}}
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: Authenticate() error = %v", i, errs[i])
		}
		if diff := cmp.Diff(want, got[i]); diff != "" {
			t.Fatalf("caller %d: principal (-want +got):\n%s", i, diff)
		}
	}
	if n := srv.Calls(); n != 1 {
		t.Errorf("Auth API calls = %d, want 1", n)
	}
}

func TestRandomTokensStayWithinCacheBound(t *testing.T) {
	srv := startAuthAPI(t)
	const (
		tokens     = 100_000
		maxEntries = 1000
		workers    = 32
	)
	c := newTestClient(t, srv, clocktest.New(t0), Options{MaxEntries: maxEntries, HTTPClient: &http.Client{Transport: handlerTransport{srv.Handler()}}})

	var (
		next   atomic.Int64
		wg     sync.WaitGroup
		failed atomic.Int64
	)
	for range workers {
		wg.Go(func() {
			for i := next.Add(1); i <= tokens; i = next.Add(1) {
				_, err := c.Authenticate(context.Background(), bearer(fmt.Sprintf("bad-%d", i)))
				if !errors.Is(err, auth.ErrInvalidCredentials) {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()

	if n := failed.Load(); n != 0 {
		t.Errorf("%d of %d bad tokens were not refused as invalid", n, tokens)
	}
	if n := srv.Calls(); n != tokens {
		t.Errorf("Auth API calls = %d, want %d", n, tokens)
	}
	if n := c.Len(); n > maxEntries {
		t.Errorf("cache holds %d answers, bound is %d", n, maxEntries)
	}
	if n := len(c.cache.keys()); n > maxEntries {
		t.Errorf("cache lists %d keys, bound is %d", n, maxEntries)
	}
}

// handlerTransport answers requests by running an HTTP handler in process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

func TestCacheKeysHoldNoCredential(t *testing.T) {
	srv := startAuthAPI(t)
	srv.AddSession("session-token-valid-0001", authapitest.Session{UserID: "u", Verified: true, ExpireAt: t0.Add(time.Hour)})
	srv.AddKeyPair("api-key-valid-0001", "api-secret-valid-0001", authapitest.KeyPair{UserID: "u", Verified: true, ExpireAt: t0.Add(time.Hour)})
	c := newTestClient(t, srv, clocktest.New(t0), Options{})

	all := []auth.Credentials{
		bearer("session-token-valid-0001"),
		bearer("session-token-refused-01"),
		keyPair("api-key-valid-0001", "api-secret-valid-0001"),
		keyPair("api-key-refused-0001", "api-secret-refused-01"),
		// The same text as a token and as a key must not share an entry.
		bearer("api-key-valid-0001"),
	}
	want := map[cacheKey]bool{}
	for _, creds := range all {
		_, err := c.Authenticate(context.Background(), creds)
		assertNoCredential(t, err, creds)
		sum := sha256.New()
		if creds.IsBearer() {
			sum.Write([]byte("b" + creds.Bearer))
		} else {
			sum.Write([]byte("k" + creds.APIKey + "\x00" + creds.APISecret))
		}
		var k cacheKey
		sum.Sum(k[:0])
		want[k] = true
	}

	keys := c.cache.keys()
	if len(keys) != len(all) {
		t.Fatalf("cache holds %d keys, want %d", len(keys), len(all))
	}
	for _, k := range keys {
		if !want[k] {
			t.Errorf("cache key %x is not the SHA-256 of a credential", k)
		}
		for _, creds := range all {
			for _, secret := range []string{creds.Bearer, creds.APIKey, creds.APISecret} {
				if secret != "" && bytes.Contains(k[:], []byte(secret[:8])) {
					t.Errorf("cache key %x holds part of a credential", k)
				}
			}
		}
	}
}

// TestCloseEndsAbandonedCalls starts a check that the Auth API holds for a
// minute, lets its only caller give up, and closes the client: Close cancels
// the call and returns once it has ended, and a later check answers
// ErrUnavailable without calling the Auth API.
func TestCloseEndsAbandonedCalls(t *testing.T) {
	srv := startAuthAPI(t)
	srv.AddSession("tok", authapitest.Session{UserID: "u", Verified: true, ExpireAt: t0.Add(time.Hour), Roles: []string{auth.AdminRole}})
	srv.SetDelay(time.Minute)
	c := newTestClient(t, srv, clocktest.New(t0), Options{Timeout: 2 * time.Minute})

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.Authenticate(ctx, bearer("tok")); !errors.Is(err, auth.ErrUnavailable) {
		t.Fatalf("the caller that gave up got %v, want %v", err, auth.ErrUnavailable)
	}
	for deadline := time.Now().Add(10 * time.Second); srv.Calls() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the check never reached the Auth API")
		}
	}

	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not end the call the Auth API holds for a minute")
	}
	srv.SetDelay(0)
	if _, err := c.Authenticate(context.Background(), bearer("tok")); !errors.Is(err, auth.ErrUnavailable) {
		t.Errorf("a check after Close got %v, want %v", err, auth.ErrUnavailable)
	}
	if n := srv.Calls(); n != 1 {
		t.Errorf("Auth API calls = %d, want 1: a check after Close must not call it", n)
	}
}
