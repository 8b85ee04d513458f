package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/threatwinds/aiadmin/clients/auth"
	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/gen/adminapi"
	"github.com/threatwinds/aiadmin/server/contracttest"
	"github.com/threatwinds/aiadmin/server/pods"
	"github.com/threatwinds/aiadmin/server/pool"
)

// The messages parseCredentials may answer with, and their details: a
// refusal is one of these, so it can quote nothing the caller sent.
var credentialRefusals = map[string]map[string]bool{
	"duplicate credential headers":   {"": true},
	"ambiguous credentials":          {"send either Authorization: Bearer or api-key with api-secret, not both": true},
	"malformed authorization header": {"expected Authorization: Bearer <token>": true},
	"incomplete key pair":            {"api-key and api-secret must be sent together": true},
	"malformed key pair":             {"": true},
	"missing credentials":            {"send Authorization: Bearer <token>, or api-key and api-secret": true},
}

// FuzzParseCredentials feeds arbitrary credential headers, each present
// zero, one or two times, to parseCredentials: it never panics, an accepted
// credential is exactly one well-formed form taken from exactly one header
// set, and a refusal is a 401 that quotes nothing it was sent.
func FuzzParseCredentials(f *testing.F) {
	f.Add("Bearer tok-admin", "", "", "", "", "", uint8(0b000001))
	f.Add("", "", "k_live_bot", "", "s3cret", "", uint8(0b010100))
	f.Add("Bearer a", "Bearer b", "", "", "", "", uint8(0b000011))
	f.Add("Bearer a", "", "k", "", "s", "", uint8(0b010101))
	f.Add("", "", "k", "", "", "", uint8(0b000100))
	f.Add("", "", "", "", "s", "", uint8(0b010000))
	f.Add("bearer \t tok \t", "", "", "", "", "", uint8(0b000001))
	f.Add("Basic dXNlcjpwYXNz", "", "", "", "", "", uint8(0b000001))
	f.Add("Bearer tök€n", "", "", "", "", "", uint8(0b000001))
	f.Add("Bearer ", "", "", "", "", "", uint8(0b000001))
	f.Add("", "", "k\x00", "", "s\r\n", "", uint8(0b010100))
	f.Add("", "", "", "", "", "", uint8(0))
	f.Fuzz(func(t *testing.T, authz1, authz2, key1, key2, secret1, secret2 string, present uint8) {
		h := http.Header{}
		// Bits 0-1: Authorization values; 2-3: api-key; 4-5: api-secret.
		for i, kv := range []struct{ name, value string }{
			{"Authorization", authz1}, {"Authorization", authz2},
			{"Api-Key", key1}, {"Api-Key", key2},
			{"Api-Secret", secret1}, {"Api-Secret", secret2},
		} {
			if present&(1<<i) != 0 {
				h.Add(kv.name, kv.value)
			}
		}
		creds, apiErr := parseCredentials(h)
		if apiErr != nil {
			if creds != (auth.Credentials{}) {
				t.Errorf("a refusal also returned credentials %+v", creds)
			}
			if apiErr.Status != http.StatusUnauthorized {
				t.Errorf("refusal status %d, want 401", apiErr.Status)
			}
			details, ok := credentialRefusals[apiErr.Message]
			if !ok || !details[apiErr.Detail] {
				t.Errorf("refusal %q / %q is not one of the fixed messages", apiErr.Message, apiErr.Detail)
			}
			for _, v := range []string{authz1, authz2, key1, key2, secret1, secret2} {
				if len(v) >= 6 && !strings.Contains(fixedRefusalText, v) && (strings.Contains(apiErr.Message, v) || strings.Contains(apiErr.Detail, v) || strings.Contains(apiErr.Error(), v)) {
					t.Errorf("the refusal quotes input %q: %v", v, apiErr)
				}
			}
			return
		}
		authz, keys, secrets := h.Values("Authorization"), h.Values("Api-Key"), h.Values("Api-Secret")
		switch {
		case creds.Bearer != "":
			if creds.APIKey != "" || creds.APISecret != "" {
				t.Fatalf("accepted two forms at once: %+v", creds)
			}
			if len(authz) != 1 || len(keys) != 0 || len(secrets) != 0 {
				t.Fatalf("accepted a bearer from headers %q", h)
			}
			scheme, token, _ := strings.Cut(authz[0], " ")
			if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) != creds.Bearer {
				t.Errorf("bearer %q is not the token of %q", creds.Bearer, authz[0])
			}
			if !credentialSafe(creds.Bearer) {
				t.Errorf("accepted an unsafe bearer %q", creds.Bearer)
			}
		case creds.APIKey != "" && creds.APISecret != "":
			if len(authz) != 0 || len(keys) != 1 || len(secrets) != 1 || keys[0] != creds.APIKey || secrets[0] != creds.APISecret {
				t.Fatalf("accepted key pair %+v from headers %q", creds, h)
			}
			if !credentialSafe(creds.APIKey) || !credentialSafe(creds.APISecret) {
				t.Errorf("accepted an unsafe key pair %+v", creds)
			}
		default:
			t.Fatalf("accepted no complete credential: %+v from %q", creds, h)
		}
	})
}

// fixedRefusalText is every fixed refusal text, so an input that happens to
// be part of it (a token named "Bearer") is not taken for an echo.
var fixedRefusalText = func() string {
	var b strings.Builder
	for m, ds := range credentialRefusals {
		b.WriteString(m + "\n401 " + m + "\n")
		for d := range ds {
			b.WriteString(d + "\n")
		}
	}
	return b.String()
}()

// Fakes of the handlers' small interfaces, with a little data each.
type (
	fuzzAffinity  struct{}
	fuzzRegistry  struct{}
	fuzzRefresher struct{}
	fuzzDemand    struct{}
	fuzzPods      struct{}
	fuzzServers   struct{}
)

func (fuzzAffinity) AffinityMetrics(context.Context) ([]fleet.ProviderAffinity, error) {
	return []fleet.ProviderAffinity{{Name: fleet.ProviderVLLM, Hits: 3, Misses: 1, TTL: 30 * time.Minute}}, nil
}

func (fuzzAffinity) ClearAffinity(context.Context, string, *string) (int64, error) { return 1, nil }

func (fuzzRegistry) RegistryPage(_ context.Context, _ string, offset, limit int64) ([]string, int64, error) {
	all := []string{"https://pod-1.proxy.runpod.net/v1", "https://pod-2.proxy.runpod.net/v1"}
	if offset >= int64(len(all)) {
		return []string{}, int64(len(all)), nil
	}
	return all[offset:min(int64(len(all)), offset+limit)], int64(len(all)), nil
}

func (fuzzRefresher) PublishRefresh(context.Context) error { return nil }

func (fuzzDemand) Demand(_ context.Context, url string) (fleet.Demand, error) {
	return fleet.Demand{URL: url, Inflight: 1, LastUseMs: 1_700_000_000_000, Models: []fleet.ModelDemand{{ModelID: "m", Inflight: 1, Rate5m: 4}}}, nil
}

func (fuzzPods) List(context.Context, int64, int64) (pods.Page, error) {
	return pods.Page{Pods: []pods.Pod{}}, nil
}

func (fuzzPods) Get(context.Context, string) (pods.Pod, pods.Freshness, error) {
	return pods.Pod{}, pods.Freshness{}, pods.ErrPodNotFound
}

func (fuzzPods) Restart(context.Context, string) error { return nil }

func (fuzzServers) ListServers(context.Context, int64, int64) ([]pool.ServerStatus, int64, error) {
	return []pool.ServerStatus{}, 0, nil
}

// Credentials the fuzzed server accepts.
const (
	fuzzAdminToken    = "tok-fuzz-admin"
	fuzzViewerToken   = "tok-fuzz-viewer"
	fuzzBotKey        = "k_fuzz_bot"
	fuzzBotSecret     = "s_fuzz_bot"
	fuzzCredentialSet = 6
)

// fuzzHandler is the full echo instance under fuzzing, built once.
var fuzzHandler = sync.OnceValues(func() (*echo.Echo, error) {
	a, err := auth.NewFileAuthenticator([]auth.FileEntry{
		{UserID: "usr_ops", Roles: []string{auth.AdminRole}, BearerSHA256: auth.HashSecret(fuzzAdminToken)},
		{UserID: "usr_viewer", Roles: []string{"user"}, BearerSHA256: auth.HashSecret(fuzzViewerToken)},
		{UserID: "usr_bot", Roles: []string{auth.AdminRole}, APIKey: fuzzBotKey, APISecretSHA256: auth.HashSecret(fuzzBotSecret)},
	})
	if err != nil {
		return nil, err
	}
	h := &Handlers{
		Affinity: fuzzAffinity{}, Registry: fuzzRegistry{}, Refresher: fuzzRefresher{}, Demand: fuzzDemand{},
		Pods: fuzzPods{}, Servers: fuzzServers{},
		Now: func() time.Time { return time.UnixMilli(1_700_000_060_000) },
	}
	return NewHTTPHandler(HTTPOptions{Logger: zap.NewNop(), Authenticator: a, API: h})
})

// fuzzCredentialHeaders returns the raw header lines of one kind of caller.
func fuzzCredentialHeaders(kind uint8) string {
	switch kind % fuzzCredentialSet {
	case 1:
		return "Authorization: Bearer " + fuzzAdminToken + "\r\n"
	case 2:
		return "Api-Key: " + fuzzBotKey + "\r\nApi-Secret: " + fuzzBotSecret + "\r\n"
	case 3:
		return "Authorization: Bearer " + fuzzViewerToken + "\r\n"
	case 4:
		return "Authorization: Bearer " + fuzzAdminToken + "\r\nApi-Key: " + fuzzBotKey + "\r\nApi-Secret: " + fuzzBotSecret + "\r\n"
	case 5:
		return "Authorization: Bearer tok-wrong\r\n"
	}
	return ""
}

var fuzzSpec = sync.OnceValue(func() *openapi3.T {
	spec, err := adminapi.GetSpec()
	if err != nil {
		panic(err)
	}
	spec.Servers = nil
	return spec
})

// FuzzRequestDecoding sends arbitrary requests, parsed from raw HTTP/1.1 as
// the server's connection would parse them, to the full echo handler (every
// middleware, the validator, the strict handlers over in-memory fakes): no
// answer is a 5xx, every error has x-error, x-error-id and a JSON error body
// equal to x-error, and every answer to an admin operation matches the
// spec.
func FuzzRequestDecoding(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add(s.method, s.target, s.contentType, s.extra, []byte(s.body), s.cred)
	}
	e, err := fuzzHandler()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, target, contentType, extraHeader string, body []byte, cred uint8) {
		checkOneRequest(t, e, method, target, contentType, extraHeader, body, cred)
	})
}

// requestSeed is one request of the seed corpus of FuzzRequestDecoding.
type requestSeed struct {
	method, target, contentType, extra, body string
	cred                                     uint8
}

// requestSeeds are valid and hostile requests to every operation; each
// reaches the handler (TestRequestSeedsReachTheHandler).
var requestSeeds = []requestSeed{
	{"GET", "/api/ai/v1/admin/affinity", "", "", "", 1},
	{"POST", "/api/ai/v1/admin/affinity/clear", "application/json", "", `{"user_id":"usr_abc123","model_id":"m"}`, 2},
	{"POST", "/api/ai/v1/admin/affinity/clear", "application/json", "", `{"user_id":"u","model_id":null}`, 1},
	{"POST", "/api/ai/v1/admin/affinity/clear", "application/json", "", `{"user_id":""}`, 1},
	{"POST", "/api/ai/v1/admin/affinity/clear", "text/plain", "", `{"user_id":"u"}`, 1},
	{"POST", "/api/ai/v1/admin/affinity/clear", "application/json", "", "[[[[[[[[[[", 1},
	{"POST", "/api/ai/v1/admin/affinity/clear", "application/json", "", "{\"user_id\":\"\xff\"}", 1},
	{"GET", "/api/ai/v1/admin/registry/threatwinds-qwen3-6-27b?page=2&limit=1", "", "", "", 1},
	{"GET", "/api/ai/v1/admin/registry/..%2F..%2Fetc%2Fpasswd", "", "", "", 1},
	{"GET", "/api/ai/v1/admin/registry/m?page=1&page=2", "", "", "", 1},
	{"GET", "/api/ai/v1/admin/registry/m?limit=0x10", "", "", "", 2},
	{"GET", "/api/ai/v1/admin/registry/%00", "", "", "", 1},
	{"POST", "/api/ai/v1/admin/registry/refresh", "", "", "", 2},
	{"GET", "/api/ai/v1/admin/registry/refresh", "", "", "", 1},
	{"GET", "/api/ai/v1/admin/demand/https%3A%2F%2Fpod-1.proxy.runpod.net%2Fv1", "", "", "", 1},
	{"GET", "/api/ai/v1/admin/demand/https%253A%252F%252Fpod-1", "", "", "", 1},
	{"GET", "/api/ai/v1/admin/demand/https:%2F%2Fpod%0d%0a", "", "", "", 1},
	{"GET", "/api/ai/v1/admin/pods?page=1&limit=100", "", "", "", 1},
	{"GET", "/api/ai/v1/admin/pods/abc123", "", "", "", 2},
	{"GET", "/api/ai/v1/admin/pods/%2e%2e", "", "", "", 1},
	{"POST", "/api/ai/v1/admin/pods/abc123/restart", "", "", "", 1},
	{"POST", "/api/ai/v1/admin/pods/..%2F..%2F/restart", "", "", "", 1},
	{"GET", "/api/ai/v1/admin/servers?limit=101", "", "", "", 1},
	{"GET", "/api/ai/v1/admin/servers", "", "", "", 3},
	{"GET", "/api/ai/v1/admin/affinity", "", "", "", 4},
	{"GET", "/api/ai/v1/admin/affinity", "", "", "", 5},
	{"GET", "/api/ai/v1/admin/affinity", "", "", "", 0},
	{"GET", "/api/ai/v1/admin/affinity", "", "Authorization: Bearer x", "", 1},
	{"TRACE", "/api/ai/v1/admin/pods", "", "", "", 1},
	{"HEAD", "/api/ai/v1/admin/affinity", "", "", "", 1},
	{"OPTIONS", "/api/ai/v1/admin/affinity", "", "", "", 1},
	{"DELETE", "/api/ai/v1/admin/pods/abc", "", "", "", 1},
	{"GET", "/api/ai/v1/admin/../../etc/passwd", "", "", "", 1},
	{"GET", "/healthz", "", "", "", 0},
	{"GET", "/readyz", "", "", "", 0},
	{"GET", "/nothing?x=%ff", "", "", "", 0},
	{"GET", "*", "", "", "", 0},
}

// checkOneRequest builds the raw request, parses it as the server's
// connection would, serves it and checks the answer. It reports whether the
// request reached the handler.
func checkOneRequest(t *testing.T, e *echo.Echo, method, target, contentType, extraHeader string, body []byte, cred uint8) bool {
	t.Helper()
	var raw strings.Builder
	fmt.Fprintf(&raw, "%s %s HTTP/1.1\r\nHost: aiadmin.test\r\n", method, target)
	if contentType != "" {
		raw.WriteString("Content-Type: " + contentType + "\r\n")
	}
	if extraHeader != "" {
		raw.WriteString(extraHeader + "\r\n")
	}
	raw.WriteString(fuzzCredentialHeaders(cred))
	fmt.Fprintf(&raw, "Content-Length: %d\r\n\r\n", len(body))
	raw.Write(body)
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw.String())))
	if err != nil || !reachesHandler(req) {
		return false // net/http refuses it before any of our code runs
	}

	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	res := rec.Result()
	respBody := rec.Body.Bytes()

	if res.StatusCode >= 500 {
		t.Fatalf("%s %q answered %d: %s", method, target, res.StatusCode, respBody)
	}
	if res.StatusCode >= 400 {
		xe := res.Header.Get("x-error")
		if xe == "" || res.Header.Get("x-error-id") == "" {
			t.Fatalf("%s %q -> %d without x-error or x-error-id", method, target, res.StatusCode)
		}
		for i := 0; i < len(xe); i++ {
			if xe[i] < 0x20 || xe[i] > 0x7e {
				t.Fatalf("x-error holds byte %#x: %q", xe[i], xe)
			}
		}
		if req.Method != http.MethodHead {
			var eb struct {
				Error *string `json:"error"`
			}
			if err := json.Unmarshal(respBody, &eb); err != nil || eb.Error == nil || *eb.Error != xe {
				t.Fatalf("%s %q -> %d: error body %q does not match x-error %q", method, target, res.StatusCode, respBody, xe)
			}
		}
	}
	// Answers to admin operations follow the spec, whatever was asked.
	if strings.HasPrefix(req.URL.Path, AdminPrefix) {
		if err := contracttest.Validate(fuzzSpec(), req, res.StatusCode, res.Header, respBody); err != nil {
			t.Fatalf("contract: %v", err)
		}
	}
	return true
}

// TestRequestSeedsReachTheHandler keeps FuzzRequestDecoding honest: every
// seed passes net/http's checks and is served, so the target is not
// refusing everything before the handler.
func TestRequestSeedsReachTheHandler(t *testing.T) {
	e, err := fuzzHandler()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range requestSeeds {
		if !checkOneRequest(t, e, s.method, s.target, s.contentType, s.extra, []byte(s.body), s.cred) {
			t.Errorf("seed %s %s never reached the handler", s.method, s.target)
		}
	}
}

// reachesHandler does the checks net/http's server makes after parsing a
// request and before calling the handler: a valid Host, valid header names
// and values. (The server also refuses several Host headers, which
// http.ReadRequest folds into one; serving the first is harmless.)
func reachesHandler(req *http.Request) bool {
	// http.ReadRequest has already moved the Host header to req.Host.
	if req.Host == "" || !headerValueOK(req.Host) {
		return false
	}
	for name, values := range req.Header {
		if name == "" || strings.ContainsFunc(name, func(r rune) bool {
			return r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r)
		}) {
			return false
		}
		for _, v := range values {
			if !headerValueOK(v) {
				return false
			}
		}
	}
	req.RemoteAddr = "192.0.2.1:1234"
	return true
}

// headerValueOK reports whether v has no control character but tab.
func headerValueOK(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < ' ' && b != '\t' || b == 0x7f {
			return false
		}
	}
	return true
}

// TestPathParameterRules pins what the spec's schemas of {modelId} and
// {podUrl} accept, with their lengths and the formats defined here.
func TestPathParameterRules(t *testing.T) {
	spec, err := adminapi.GetSpec()
	if err != nil {
		t.Fatal(err)
	}
	accepts := func(param, v string) bool {
		return spec.Components.Parameters[param].Value.Schema.Value.VisitJSON(v) == nil
	}
	validModelID := func(id string) bool { return accepts("ModelID", id) }
	validPodURL := func(u string) bool { return accepts("PodURL", u) }
	models := map[string]bool{
		"threatwinds-qwen3-6-27b": true, "refresh": true, "Qwen/Qwen3-27B": true, "modèle": true,
		"a:b@c+d=e,f;g": true, strings.Repeat("m", 256): true,
		"": false, strings.Repeat("m", 257): false, "..": false, ".": false, "a/../b": false,
		"../etc/passwd": false, "/abs": false, "trail/": false, "a//b": false, `..\..\x`: false,
		"a%2Fb": false, "%2e%2e": false, "a\x00b": false, "a\r\nb": false, "a\tb": false, "a b": false,
		"a\u2028b": false, "a\u00a0b": false, "\xff\xfe": false, "a\x7fb": false, "a\u0085b": false,
	}
	for id, want := range models {
		if got := validModelID(id); got != want {
			t.Errorf("validModelID(%q) = %v, want %v", id, got, want)
		}
	}
	urls := map[string]bool{
		"https://pod-1.proxy.runpod.net/v1": true, "http://10.0.0.7:8000/v1": true, "https://pod-1.proxy.runpod.net": true,
		"http://[::1]:8000/v1": true, "https://host/a.b/c..d": true,
		"": false, "pod-1/v1": false, "ftp://pod-1/v1": false, "javascript:alert(1)": false, "https://": false,
		"https://user:pass@pod-1/v1": false, "https://pod-1/v1/../../etc": false, "https://pod-1/./v1": false,
		"https://pod-1%2Fx": false, "https://pod-1/v1%2F..": false, "https://pod\x00-1/v1": false,
		"https://pod-1\r\nSet-Cookie: a=b": false, "https://pod 1/v1": false, "https://pod\xff/v1": false,
		`https://pod-1\..\x`: false, "https:pod-1": false, "https://" + strings.Repeat("p", 2048): false,
	}
	for u, want := range urls {
		if got := validPodURL(u); got != want {
			t.Errorf("validPodURL(%q) = %v, want %v", u, got, want)
		}
	}
	for _, name := range []string{"ModelID", "PodURL"} {
		d, _ := spec.Components.Parameters[name].Value.Extensions["x-invalid-detail"].(string)
		if sanitize(d) != d || !strings.Contains(d, "must be") {
			t.Errorf("the answer's detail for %s is %q, want header-safe text saying what it must be", name, d)
		}
	}
}
