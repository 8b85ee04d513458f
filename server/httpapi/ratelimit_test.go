package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/clients/authapi"
	"github.com/threatwinds/aiadmin/clients/clocktest"
	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
	"github.com/threatwinds/aiadmin/server/httpapi"
)

// replicas starts two replicas of one deployment, sharing one Valkey and one
// clock, with the given rate limits; edit adjusts each replica's options.
func replicas(t *testing.T, limits httpapi.RateLimits, edit ...func(i int, o *envOptions)) (*clocktest.Clock, [2]*testEnv) {
	t.Helper()
	clock := clocktest.New(time.Date(2026, 6, 25, 10, 0, 0, 0, time.UTC))
	shared := valkeytest.StartServer(t)
	var envs [2]*testEnv
	for i := range envs {
		envs[i] = newEnv(t, func(o *envOptions) {
			o.valkey, o.now, o.limits = shared, clock.Now, limits
			for _, f := range edit {
				f(i, o)
			}
		})
	}
	return clock, envs
}

// limitAnswer is a response's status, error message and Retry-After.
type limitAnswer struct {
	Status     int
	Error      string
	RetryAfter string
}

func (env *testEnv) answer(t *testing.T, method, path string, h http.Header) limitAnswer {
	t.Helper()
	resp, body := env.do(t, method, path, h, "")
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return limitAnswer{Status: resp.StatusCode, Error: e.Error, RetryAfter: resp.Header.Get("Retry-After")}
}

func header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

var (
	ok200   = limitAnswer{Status: http.StatusOK}
	unauth  = limitAnswer{Status: http.StatusUnauthorized, Error: "invalid credentials"}
	limited = func(retry string) limitAnswer {
		return limitAnswer{Status: http.StatusTooManyRequests, Error: "rate limited", RetryAfter: retry}
	}
)

// expect asserts one answer.
func expect(t *testing.T, what string, got, want limitAnswer) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %+v, want %+v", what, got, want)
	}
}

// TestRateLimitReadsSharedByReplicas: a user's reads are counted across
// replicas; past the limit each gets 429 with Retry-After, other users and
// the user's writes are untouched, and the budget comes back with time.
func TestRateLimitReadsSharedByReplicas(t *testing.T) {
	clock, r := replicas(t, httpapi.RateLimits{Reads: 3, Writes: 60})
	admin := header("Authorization", "Bearer "+adminToken)
	const path = "/api/ai/v1/admin/affinity"
	expect(t, "read 1 on replica 0", r[0].answer(t, "GET", path, admin), ok200)
	expect(t, "read 2 on replica 1", r[1].answer(t, "GET", path, admin), ok200)
	expect(t, "read 3 on replica 0", r[0].answer(t, "GET", path, admin), ok200)
	// Three a minute: one more is earned every 20 s.
	expect(t, "read 4 on replica 1", r[1].answer(t, "GET", path, admin), limited("20"))
	expect(t, "read 4 on replica 0", r[0].answer(t, "GET", path+"?x", admin), limited("20"))

	bot := header("api-key", botKey, "api-secret", botSecret)
	expect(t, "another user", r[1].answer(t, "GET", path, bot), ok200)
	expect(t, "the user's write", r[1].answer(t, "POST", "/api/ai/v1/admin/registry/refresh", admin), ok200)
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		expect(t, p+" is never limited", r[0].answer(t, "GET", p, admin), ok200)
	}

	clock.Advance(19500 * time.Millisecond)
	expect(t, "half a second early", r[0].answer(t, "GET", path, admin), limited("1"))
	clock.Advance(500 * time.Millisecond)
	expect(t, "after Retry-After", r[0].answer(t, "GET", path, admin), ok200)
	expect(t, "and only that one", r[1].answer(t, "GET", path, admin), limited("20"))

	for _, env := range r {
		scrapeHas(t, env, `aiadmin_rate_limited_total{kind="read"}`, "2")
	}
}

// TestRateLimitWrites: restart, clear, refresh, drain and undrain share a
// budget of their own.
func TestRateLimitWrites(t *testing.T) {
	_, r := replicas(t, httpapi.RateLimits{Reads: 100, Writes: 2})
	admin := header("Authorization", "Bearer "+adminToken, "Content-Type", "application/json")
	expect(t, "refresh on replica 0", r[0].answer(t, "POST", "/api/ai/v1/admin/registry/refresh", admin), ok200)
	resp, _ := r[1].do(t, "POST", "/api/ai/v1/admin/affinity/clear", admin, `{"user_id": "usr_abc123"}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("clear on replica 1: %d", resp.StatusCode)
	}
	// Two a minute: the next is 30 s away, on any replica, for any write.
	resp, _ = r[0].do(t, "POST", "/api/ai/v1/admin/servers/drain", admin, `{"url": "https://pod-1.proxy.runpod.net/v1"}`)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "30" {
		t.Fatalf("drain past the limit: %d, Retry-After %q; want 429 and 30", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	expect(t, "refresh past the limit", r[1].answer(t, "POST", "/api/ai/v1/admin/registry/refresh", admin), limited("30"))
	expect(t, "reads go on", r[1].answer(t, "GET", "/api/ai/v1/admin/affinity", admin), ok200)
	scrapeHas(t, r[1], `aiadmin_rate_limited_total{kind="write"}`, "1")
}

// TestRateLimitAuthFailures: an address that failed authentication too often
// gets 429 on every replica, without its credentials being checked: the
// Auth API is not called, not even for a valid credential.
func TestRateLimitAuthFailures(t *testing.T) {
	standIn := startAuthAPI(t)
	_, r := replicas(t, httpapi.RateLimits{AuthFailures: 3}, func(_ int, o *envOptions) {
		c := authapi.New(authapi.Options{BaseURL: standIn.URL()})
		t.Cleanup(c.Close)
		o.authenticator = c
	})
	const path = "/api/ai/v1/admin/affinity"
	wrong := func(i int) http.Header { return header("Authorization", fmt.Sprintf("Bearer tok-wrong-%d", i)) }
	admin := header("Authorization", "Bearer "+adminToken)
	expect(t, "a valid credential first", r[0].answer(t, "GET", path, admin), ok200)
	standIn.ResetCalls()

	expect(t, "failure 1 on replica 0", r[0].answer(t, "GET", path, wrong(1)), unauth)
	expect(t, "failure 2 on replica 1", r[1].answer(t, "GET", path, wrong(2)), unauth)
	expect(t, "failure 3 (missing credentials count too)", r[0].answer(t, "GET", path, nil),
		limitAnswer{Status: http.StatusUnauthorized, Error: "missing credentials"})
	if got := standIn.Calls(); got != 2 {
		t.Fatalf("Auth API calls for two wrong tokens: %d, want 2", got)
	}
	expect(t, "a fourth try on replica 1", r[1].answer(t, "GET", path, wrong(4)), limited("20"))
	expect(t, "a fourth try on replica 0", r[0].answer(t, "GET", path, wrong(5)), limited("20"))
	expect(t, "even a valid credential", r[0].answer(t, "GET", path, header("api-key", botKey, "api-secret", botSecret)), limited("20"))
	if got := standIn.Calls(); got != 2 {
		t.Fatalf("Auth API calls after the limit: %d, want still 2", got)
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		expect(t, p+" is never limited", r[1].answer(t, "GET", p, nil), ok200)
	}
	scrapeHas(t, r[0], `aiadmin_rate_limited_total{kind="auth_failure"}`, "2")
}

// TestRateLimitClientAddress: X-Forwarded-For names the client only when a
// trusted proxy sent it, and then its rightmost untrusted hop; anyone
// else's header is ignored.
func TestRateLimitClientAddress(t *testing.T) {
	loopback := netip.MustParsePrefix("127.0.0.0/8")
	_, r := replicas(t, httpapi.RateLimits{AuthFailures: 2}, func(i int, o *envOptions) {
		if i == 0 {
			// Replica 0 is behind a proxy on loopback; replica 1 faces
			// clients directly.
			o.limits.TrustedProxies = []netip.Prefix{loopback}
		}
	})
	const path = "/api/ai/v1/admin/affinity"
	fail := func(xff ...string) http.Header {
		h := header("Authorization", "Bearer tok-wrong")
		for _, v := range xff {
			h.Add("X-Forwarded-For", v)
		}
		return h
	}
	behind := r[0]
	expect(t, "client A, failure 1", behind.answer(t, "GET", path, fail("198.51.100.7")), unauth)
	expect(t, "client A, failure 2, through two proxies", behind.answer(t, "GET", path, fail("198.51.100.7, 127.0.0.9")), unauth)
	expect(t, "client A limited", behind.answer(t, "GET", path, fail("198.51.100.7")), limited("30"))
	// A client that writes its own header cannot hide behind it: the
	// rightmost untrusted hop is still client A.
	expect(t, "client A spoofing a hop", behind.answer(t, "GET", path, fail("203.0.113.1, 198.51.100.7")), limited("30"))
	expect(t, "client A in a second header", behind.answer(t, "GET", path, fail("203.0.113.1", "198.51.100.7")), limited("30"))
	expect(t, "client B is another address", behind.answer(t, "GET", path, fail("198.51.100.8")), unauth)
	expect(t, "an IPv6 client", behind.answer(t, "GET", path, fail("2001:db8:1:2::1")), unauth)
	expect(t, "the same /64", behind.answer(t, "GET", path, fail("2001:db8:1:2::99")), unauth)
	expect(t, "an IPv6 client's /64 limited", behind.answer(t, "GET", path, fail("2001:db8:1:2:ffff::1")), limited("30"))
	expect(t, "another /64", behind.answer(t, "GET", path, fail("2001:db8:1:3::1")), unauth)

	// Replica 1 trusts no proxy: the header is ignored, every failure is
	// the peer's (loopback), whatever it claims.
	direct := r[1]
	expect(t, "direct failure 1", direct.answer(t, "GET", path, fail("198.51.100.20")), unauth)
	expect(t, "direct failure 2", direct.answer(t, "GET", path, fail("198.51.100.21")), unauth)
	expect(t, "the peer is limited whatever its header says", direct.answer(t, "GET", path, fail("198.51.100.22")), limited("30"))
}

// TestRateLimitStoreDown: with the limits' store gone, requests go on and
// succeed or fail on their own merits, and the failure is logged once.
func TestRateLimitStoreDown(t *testing.T) {
	limitsValkey := valkeytest.StartServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := fleet.Connect(ctx, fleet.ConnectOptions{Addrs: []string{limitsValkey.Addr()}, CommandTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	env := newEnv(t, func(o *envOptions) {
		o.limits = httpapi.RateLimits{Store: fleet.New(client, fleet.Options{}), Reads: 1, Writes: 1, AuthFailures: 1}
	})
	admin := header("Authorization", "Bearer "+adminToken)
	const path = "/api/ai/v1/admin/affinity"
	expect(t, "read 1", env.answer(t, "GET", path, admin), ok200)
	expect(t, "read 2, past the limit", env.answer(t, "GET", path, admin), limited("60"))

	limitsValkey.Stop()
	for i := range 5 {
		expect(t, fmt.Sprintf("read %d with the store down", i+3), env.answer(t, "GET", path, admin), ok200)
		expect(t, "a wrong token with the store down", env.answer(t, "GET", path, header("Authorization", "Bearer tok-wrong")), unauth)
	}
	if n := strings.Count(env.logs.String(), "rate limit not checked"); n != 1 {
		t.Errorf("the store's failure was logged %d times, want once (sampled)", n)
	}
	scrapeHas(t, env, `aiadmin_rate_limit_unchecked_total{kind="read"}`, "5")
}

// scrapeHas fetches env's /metrics and asserts that series has value.
func scrapeHas(t *testing.T, env *testEnv, series, value string) {
	t.Helper()
	got := scrape(t, env.url, series)
	if got != value {
		t.Fatalf("%s = %q, want %q", series, got, value)
	}
}

// scrape returns the value of one series from the /metrics of base, or ""
// when it is absent.
func scrape(t *testing.T, base, series string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}
