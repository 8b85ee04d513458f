package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/threatwinds/aiadmin/clients/auth"
	"github.com/threatwinds/aiadmin/clients/authapi"
	"github.com/threatwinds/aiadmin/clients/authapi/authapitest"
	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/server/contracttest"
	"github.com/threatwinds/aiadmin/server/httpapi"
)

// Credentials only the stand-in Auth API knows, each with one flaw.
const (
	unverifiedToken  = "tok-unverified-5c2e"
	expiredToken     = "tok-expired-81fa"
	platformToken    = "tok-platform-admin-0b9d" // "admin", not "ai_admin"
	nobodyToken      = "tok-nobody-3e1a"         // answers without a user id
	unverifiedKey    = "k_live_unverified"
	unverifiedSecret = "s3cret-unverified-44"
	expiredKey       = "k_live_expired"
	expiredSecret    = "s3cret-expired-45"
	viewerKey        = "k_live_viewer"
	viewerSecret     = "s3cret-viewer-46"
)

// startAuthAPI starts a stand-in Auth API on loopback that knows the
// environment's credentials (the same users and roles as the credentials
// file) and the flawed ones above.
func startAuthAPI(t *testing.T) *authapitest.Server {
	t.Helper()
	srv := authapitest.NewServer()
	t.Cleanup(srv.Close)
	future, past := time.Now().Add(24*time.Hour), time.Now().Add(-time.Hour)
	srv.AddSession(adminToken, authapitest.Session{SessionID: "ses_ops", UserID: "usr_ops", Verified: true, ExpireAt: future, Roles: []string{"user", auth.AdminRole}, Groups: []string{"public"}})
	srv.AddSession(rolelessToken, authapitest.Session{SessionID: "ses_viewer", UserID: "usr_viewer", Verified: true, ExpireAt: future, Roles: []string{"user"}})
	srv.AddKeyPair(botKey, botSecret, authapitest.KeyPair{KeyID: "key_bot", UserID: "usr_bot", Verified: true, ExpireAt: future, Roles: []string{auth.AdminRole}})

	srv.AddSession(unverifiedToken, authapitest.Session{SessionID: "ses_u", UserID: "usr_u", Verified: false, ExpireAt: future, Roles: []string{auth.AdminRole}})
	srv.AddSession(expiredToken, authapitest.Session{SessionID: "ses_e", UserID: "usr_e", Verified: true, ExpireAt: past, Roles: []string{auth.AdminRole}})
	srv.AddSession(platformToken, authapitest.Session{SessionID: "ses_p", UserID: "usr_p", Verified: true, ExpireAt: future, Roles: []string{"user", "admin"}})
	srv.AddSession(nobodyToken, authapitest.Session{SessionID: "ses_n", Verified: true, ExpireAt: future, Roles: []string{auth.AdminRole}})
	srv.AddKeyPair(unverifiedKey, unverifiedSecret, authapitest.KeyPair{KeyID: "key_u", UserID: "usr_u", Verified: false, ExpireAt: future, Roles: []string{auth.AdminRole}})
	srv.AddKeyPair(expiredKey, expiredSecret, authapitest.KeyPair{KeyID: "key_e", UserID: "usr_e", Verified: true, ExpireAt: past, Roles: []string{auth.AdminRole}})
	srv.AddKeyPair(viewerKey, viewerSecret, authapitest.KeyPair{KeyID: "key_v", UserID: "usr_viewer", Verified: true, ExpireAt: future, Roles: []string{"user"}})
	return srv
}

// newAuthAPIEnv is the test environment in the threatwinds auth mode: the
// server checks every credential with the stand-in over HTTP.
func newAuthAPIEnv(t *testing.T, standIn *authapitest.Server, o authapi.Options, opts ...func(*envOptions)) *testEnv {
	t.Helper()
	if o.BaseURL == "" {
		o.BaseURL = standIn.URL()
	}
	client := authapi.New(o)
	t.Cleanup(client.CloseIdleConnections)
	return newEnv(t, append([]func(*envOptions){func(e *envOptions) { e.authenticator = client }}, opts...)...)
}

// TestContractBothAuthModes runs the fleet-state contract with the
// credentials file and with the ThreatWinds Auth API: the same callers get
// the same answers.
func TestContractBothAuthModes(t *testing.T) {
	t.Run("file", func(t *testing.T) {
		now := time.Now()
		env := newEnv(t, func(o *envOptions) { o.now = func() time.Time { return now } })
		fleetStateContract(t, env, now)
	})
	t.Run("threatwinds", func(t *testing.T) {
		now := time.Now()
		standIn := startAuthAPI(t)
		// A long positive TTL, so the count of upstream calls below does not
		// depend on how fast the machine runs the contract.
		env := newAuthAPIEnv(t, standIn, authapi.Options{PositiveTTL: time.Hour},
			func(o *envOptions) { o.now = func() time.Time { return now } })
		fleetStateContract(t, env, now)
		// Three credentials were used (admin and role-less bearers, the bot's
		// key pair), each checked upstream once and then answered from the
		// cache; the anonymous caller never reaches the Auth API.
		if got := standIn.Calls(); got != 3 {
			t.Errorf("the Auth API was called %d times, want 3 (one per credential)", got)
		}
	})
}

// errorAnswer is the documented error body.
type errorAnswer struct {
	Error  string `json:"error"`
	Detail string `json:"detail"`
}

// expectErrorAnswer checks status, the error message and the error format:
// the JSON body's error equals x-error, and x-error-id is set.
func expectErrorAnswer(t *testing.T, resp *http.Response, body []byte, status int, message string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, status, body)
	}
	var e errorAnswer
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body is not JSON: %q", body)
	}
	if message != "" && e.Error != message {
		t.Errorf("error = %q, want %q", e.Error, message)
	}
	if e.Error == "" || resp.Header.Get("x-error") != e.Error || resp.Header.Get("x-error-id") == "" {
		t.Errorf("error format: body error %q, x-error %q, x-error-id %q", e.Error, resp.Header.Get("x-error"), resp.Header.Get("x-error-id"))
	}
}

// TestThreatWindsAuthRefusals sends credentials the Auth API answers for but
// that must not pass: each is refused with its documented status.
func TestThreatWindsAuthRefusals(t *testing.T) {
	standIn := startAuthAPI(t)
	env := newAuthAPIEnv(t, standIn, authapi.Options{})
	const path = "/api/ai/v1/admin/affinity"
	keyPair := func(k, s string) http.Header { return http.Header{"Api-Key": {k}, "Api-Secret": {s}} }
	cases := []struct {
		name    string
		header  http.Header
		status  int
		message string
	}{
		{"unverified session", bearerHeader(unverifiedToken), 401, "invalid credentials"},
		{"expired session", bearerHeader(expiredToken), 401, "invalid credentials"},
		{"session without a user", bearerHeader(nobodyToken), 401, "invalid credentials"},
		{"unknown session", bearerHeader("tok-never-issued"), 401, "invalid credentials"},
		{"unverified key pair", keyPair(unverifiedKey, unverifiedSecret), 401, "invalid credentials"},
		{"expired key pair", keyPair(expiredKey, expiredSecret), 401, "invalid credentials"},
		{"key with a wrong secret", keyPair(botKey, "s3cret-wrong"), 401, "invalid credentials"},
		{"role-less session", bearerHeader(rolelessToken), 403, "insufficient permissions"},
		{"role-less key pair", keyPair(viewerKey, viewerSecret), 403, "insufficient permissions"},
		{"platform admin without ai_admin", bearerHeader(platformToken), 403, "insufficient permissions"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Twice: the second answer comes from the cache and must agree.
			for range 2 {
				resp, body := env.do(t, http.MethodGet, path, tc.header, "")
				expectErrorAnswer(t, resp, body, tc.status, tc.message)
			}
		})
	}
	// The valid ones pass, so the refusals above are about the flaws.
	for _, h := range []http.Header{bearerHeader(adminToken), keyPair(botKey, botSecret)} {
		if resp, body := env.do(t, http.MethodGet, path, h, ""); resp.StatusCode != 200 {
			t.Errorf("valid credential: %d %s", resp.StatusCode, body)
		}
	}
}

func bearerHeader(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// TestThreatWindsAuthAPIFailing makes the Auth API fail: every check answers
// 503 "auth service unavailable" in the error format, never a 500 and never
// a pass, and the first request after it recovers succeeds (a failure is not
// cached as a refusal).
func TestThreatWindsAuthAPIFailing(t *testing.T) {
	standIn := startAuthAPI(t)
	env := newAuthAPIEnv(t, standIn, authapi.Options{})
	// Credentials never checked before, so no cached answer hides the outage.
	fresh := []struct {
		name   string
		header http.Header
		add    func()
	}{
		{"bearer", bearerHeader("tok-fresh-during-outage"), func() {
			standIn.AddSession("tok-fresh-during-outage", authapitest.Session{UserID: "usr_ops", Verified: true, ExpireAt: time.Now().Add(time.Hour), Roles: []string{auth.AdminRole}})
		}},
		{"key pair", http.Header{"Api-Key": {"k_fresh"}, "Api-Secret": {"s_fresh"}}, func() {
			standIn.AddKeyPair("k_fresh", "s_fresh", authapitest.KeyPair{UserID: "usr_bot", Verified: true, ExpireAt: time.Now().Add(time.Hour), Roles: []string{auth.AdminRole}})
		}},
	}
	for _, f := range fresh {
		f.add()
	}
	for _, status := range []int{500, 502, 503, 429} {
		standIn.SetFailing(status)
		for _, f := range fresh {
			for _, path := range []string{"/api/ai/v1/admin/affinity", "/api/ai/v1/admin/registry/m"} {
				resp, body := env.do(t, http.MethodGet, path, f.header, "")
				expectErrorAnswer(t, resp, body, http.StatusServiceUnavailable, "auth service unavailable")
			}
		}
	}
	// Concurrent callers during the outage all get the 503.
	var wg sync.WaitGroup
	codes := make(chan int, 50)
	for range cap(codes) {
		wg.Go(func() {
			resp, _ := env.do(t, http.MethodGet, "/api/ai/v1/admin/affinity", fresh[0].header, "")
			codes <- resp.StatusCode
		})
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusServiceUnavailable {
			t.Errorf("concurrent call during the outage answered %d", c)
		}
	}
	if strings.Contains(env.logs.String(), `"status":500`) {
		t.Error("a request answered 500 during the outage")
	}

	standIn.SetFailing(0)
	for _, f := range fresh {
		if resp, body := env.do(t, http.MethodGet, "/api/ai/v1/admin/affinity", f.header, ""); resp.StatusCode != 200 {
			t.Errorf("%s after recovery: %d %s", f.name, resp.StatusCode, body)
		}
	}
}

// TestThreatWindsAuthAPIUnreachable points the server at an Auth API that
// accepts no connections.
func TestThreatWindsAuthAPIUnreachable(t *testing.T) {
	gone := httptest.NewServer(http.NotFoundHandler())
	base := gone.URL
	gone.Close()
	env := newAuthAPIEnv(t, nil, authapi.Options{BaseURL: base, Timeout: 2 * time.Second})
	for _, h := range []http.Header{bearerHeader(adminToken), {"Api-Key": {botKey}, "Api-Secret": {botSecret}}} {
		resp, body := env.do(t, http.MethodGet, "/api/ai/v1/admin/affinity", h, "")
		expectErrorAnswer(t, resp, body, http.StatusServiceUnavailable, "auth service unavailable")
	}
}

// TestThreatWindsAuthAPISlow makes the Auth API slower than the client's
// timeout, and then slower than the server's AuthTimeout: both answer 503
// "auth service unavailable" long before the Auth API would have.
func TestThreatWindsAuthAPISlow(t *testing.T) {
	const standInDelay = 2 * time.Second
	// didNotHang bounds a request well under the stand-in's delay.
	const didNotHang = standInDelay * 3 / 4

	t.Run("client timeout", func(t *testing.T) {
		t.Parallel()
		standIn := startAuthAPI(t)
		env := newAuthAPIEnv(t, standIn, authapi.Options{Timeout: 200 * time.Millisecond})
		standIn.SetDelay(standInDelay)
		for _, h := range []http.Header{bearerHeader(adminToken), {"Api-Key": {botKey}, "Api-Secret": {botSecret}}} {
			start := time.Now()
			resp, body := env.do(t, http.MethodGet, "/api/ai/v1/admin/affinity", h, "")
			expectErrorAnswer(t, resp, body, http.StatusServiceUnavailable, "auth service unavailable")
			if d := time.Since(start); d > didNotHang {
				t.Errorf("the answer took %v; the client timeout should have ended the check", d)
			}
		}
	})

	t.Run("server AuthTimeout", func(t *testing.T) {
		t.Parallel()
		standIn := startAuthAPI(t)
		// The client would wait 10 s; the server's AuthTimeout gives up first.
		client := authapi.New(authapi.Options{BaseURL: standIn.URL(), Timeout: 10 * time.Second})
		t.Cleanup(client.CloseIdleConnections)
		url := serveAdminAPI(t, httpapi.HTTPOptions{Authenticator: client, AuthTimeout: 150 * time.Millisecond})
		standIn.SetDelay(standInDelay)
		tr := &contracttest.Transport{Spec: contracttest.Spec(t)}
		hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
		req, err := http.NewRequest(http.MethodGet, url+"/api/ai/v1/admin/affinity", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+adminToken)
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf strings.Builder
		if _, err := io.Copy(&buf, resp.Body); err != nil {
			t.Fatal(err)
		}
		expectErrorAnswer(t, resp, []byte(buf.String()), http.StatusServiceUnavailable, "auth service unavailable")
		if d := time.Since(start); d > didNotHang {
			t.Errorf("the answer took %v; AuthTimeout should have ended the check", d)
		}
		for _, r := range tr.Results() {
			if r.Err != nil {
				t.Errorf("contract violated: %v", r.Err)
			}
		}
	})
}

// serveAdminAPI serves the admin API over loopback with o, filling what o
// leaves out with in-memory parts; it returns the base URL.
func serveAdminAPI(t *testing.T, o httpapi.HTTPOptions) string {
	t.Helper()
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.API == nil {
		o.API = &httpapi.Handlers{Affinity: emptyAffinity{}}
	}
	e, err := httpapi.NewHTTPHandler(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL
}

// emptyAffinity is an affinity store with no data.
type emptyAffinity struct{}

func (emptyAffinity) AffinityMetrics(context.Context) ([]fleet.ProviderAffinity, error) {
	return []fleet.ProviderAffinity{}, nil
}

func (emptyAffinity) ClearAffinity(context.Context, string, *string) (int64, error) { return 0, nil }
