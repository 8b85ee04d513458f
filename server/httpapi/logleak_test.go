package httpapi_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/clients/auth"
	"github.com/threatwinds/aiadmin/clients/authapi"
	"github.com/threatwinds/aiadmin/clients/authapi/authapitest"
)

// Credentials presented during the run that nobody issued.
const (
	wrongToken    = "tok-wrong-leak-7f3a9c1d"
	wrongSecret   = "s3cret-wrong-leak-2b8e"
	wrongKey      = "k_live_wrong_leak_5d"
	outageToken   = "tok-outage-leak-6c0f"
	unicodeSecret = "s3cret-ünïcode-leak"
)

// longToken is over the credential length bound, so it is refused unread.
var longToken = "tok-long-leak-" + strings.Repeat("0123456789abcdef", 320)

// secretForms returns every form in which a secret could leak: itself, its
// SHA-256 (hex either case, base64 either alphabet) and the Auth API
// client's cache key hashes.
func secretForms(secrets []string, keyPairs [][2]string) map[string]string {
	forms := map[string]string{}
	add := func(what string, sum [32]byte) {
		forms[hex.EncodeToString(sum[:])] = what
		forms[strings.ToUpper(hex.EncodeToString(sum[:]))] = what
		forms[base64.StdEncoding.EncodeToString(sum[:])] = what
		forms[base64.RawURLEncoding.EncodeToString(sum[:])] = what
	}
	for _, s := range secrets {
		forms[s] = s
		if len(s) > 64 {
			forms[s[len(s)/2:len(s)/2+40]] = s + " (a slice of it)"
		}
		add("sha256("+s+")", sha256.Sum256([]byte(s)))
		add("bearer cache key of "+s, sha256.Sum256([]byte("b"+s)))
	}
	for _, kp := range keyPairs {
		add("key pair cache key of "+kp[0], sha256.Sum256([]byte("k"+kp[0]+"\x00"+kp[1])))
	}
	return forms
}

// leakRecorder sends requests and keeps everything that came back.
type leakRecorder struct {
	env     *testEnv
	answers []string
}

func (r *leakRecorder) do(t *testing.T, method, path string, header http.Header, body string) int {
	t.Helper()
	resp, b := r.env.do(t, method, path, header, body)
	var all strings.Builder
	all.Write(b)
	for k, vs := range resp.Header {
		all.WriteString("\n" + k + ": " + strings.Join(vs, ", "))
	}
	r.answers = append(r.answers, all.String())
	return resp.StatusCode
}

// credentialRun makes successful and failing requests with every kind of
// credential, right and wrong, and with credentials where they do not
// belong (query, body, path).
func credentialRun(t *testing.T, r *leakRecorder) {
	t.Helper()
	bearerH := func(tok string) http.Header {
		return http.Header{"Authorization": {"Bearer " + tok}, "Content-Type": {"application/json"}}
	}
	keyH := func(k, s string) http.Header {
		return http.Header{"Api-Key": {k}, "Api-Secret": {s}, "Content-Type": {"application/json"}}
	}
	steps := []struct {
		method, path string
		header       http.Header
		body         string
		want         int
	}{
		{"GET", "/api/ai/v1/admin/affinity", bearerH(adminToken), "", 200},
		{"POST", "/api/ai/v1/admin/affinity/clear", bearerH(adminToken), `{"user_id":"usr_abc123"}`, 200},
		{"POST", "/api/ai/v1/admin/registry/refresh", keyH(botKey, botSecret), "", 200},
		{"GET", "/api/ai/v1/admin/registry/m?limit=3", keyH(botKey, botSecret), "", 200},
		{"GET", "/api/ai/v1/admin/demand/" + url.QueryEscape("https://pod-1.proxy.runpod.net/v1"), bearerH(adminToken), "", 200},
		{"GET", "/api/ai/v1/admin/affinity", bearerH(rolelessToken), "", 403},
		{"POST", "/api/ai/v1/admin/affinity/clear", bearerH(rolelessToken), `{"user_id":"u"}`, 403},
		{"GET", "/api/ai/v1/admin/affinity", bearerH(wrongToken), "", 401},
		{"GET", "/api/ai/v1/admin/affinity", keyH(botKey, wrongSecret), "", 401},
		{"GET", "/api/ai/v1/admin/affinity", keyH(wrongKey, botSecret), "", 401},
		{"GET", "/api/ai/v1/admin/affinity", keyH(botKey, unicodeSecret), "", 401},
		{"GET", "/api/ai/v1/admin/affinity", bearerH(longToken), "", 401},
		{"GET", "/api/ai/v1/admin/affinity", http.Header{"Authorization": {"Bearer " + adminToken, "Bearer " + wrongToken}}, "", 401},
		{"GET", "/api/ai/v1/admin/affinity", http.Header{"Authorization": {"Bearer " + adminToken}, "Api-Key": {botKey}, "Api-Secret": {botSecret}}, "", 401},
		{"GET", "/api/ai/v1/admin/affinity", http.Header{"Api-Secret": {botSecret}}, "", 401},
		{"GET", "/api/ai/v1/admin/affinity", http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("usr_ops:"+adminToken))}}, "", 401},
		{"GET", "/api/ai/v1/admin/affinity", http.Header{"Authorization": {"Bearer " + adminToken + " " + wrongToken}}, "", 401},
		{"GET", "/api/ai/v1/admin/affinity", http.Header{"Authorization": {adminToken}}, "", 401},
		// Credentials where they do not belong, in requests that fail.
		{"GET", "/api/ai/v1/admin/registry/m?page=" + adminToken, bearerH(adminToken), "", 400},
		{"GET", "/api/ai/v1/admin/registry/m?limit=" + url.QueryEscape(botSecret), keyH(botKey, botSecret), "", 400},
		{"POST", "/api/ai/v1/admin/affinity/clear", bearerH(adminToken), `{"user_id":["` + wrongSecret + `"]}`, 400},
		{"POST", "/api/ai/v1/admin/affinity/clear", bearerH(adminToken), `{"user_id":"u","model_id":{"token":"` + wrongToken + `"}}`, 400},
		{"POST", "/api/ai/v1/admin/affinity/clear", bearerH(adminToken), `{"user_id":"` + strings.Repeat(botSecret, 20) + `"}`, 400},
		{"GET", "/api/ai/v1/admin/" + adminToken, bearerH(adminToken), "", 404},
		{"DELETE", "/api/ai/v1/admin/pods?secret=" + botSecret, keyH(botKey, botSecret), "", 405},
	}
	for _, s := range steps {
		if got := r.do(t, s.method, s.path, s.header, s.body); got != s.want {
			t.Errorf("%s %.80s: status %d, want %d", s.method, s.path, got, s.want)
		}
	}
}

// expectNoLeak fails for every secret form found in the log, the answers or
// the metrics.
func expectNoLeak(t *testing.T, r *leakRecorder, forms map[string]string) {
	t.Helper()
	metrics := ""
	if resp, body := r.env.do(t, http.MethodGet, "/metrics", nil, ""); resp.StatusCode == 200 {
		metrics = string(body)
	} else {
		t.Errorf("GET /metrics: %d", resp.StatusCode)
	}
	logs := r.env.logs.String()
	if !strings.Contains(logs, `"status":401`) || !strings.Contains(logs, `"msg":"audit"`) {
		t.Fatalf("the log does not hold the run (no 401 or no audit line):\n%.2000s", logs)
	}
	for form, what := range forms {
		if strings.Contains(logs, form) {
			t.Errorf("the log holds %s", what)
		}
		if strings.Contains(metrics, form) {
			t.Errorf("the metrics hold %s", what)
		}
		for _, a := range r.answers {
			if strings.Contains(a, form) {
				t.Errorf("an answer holds %s: %.300s", what, a)
			}
		}
	}
}

// TestNoCredentialLeaksFileMode runs every kind of credential, right and
// wrong, against the credentials file, then a Valkey outage, and looks for
// any credential or hash of one in the log, the answers and the metrics.
func TestNoCredentialLeaksFileMode(t *testing.T) {
	env := newEnv(t)
	r := &leakRecorder{env: env}
	credentialRun(t, r)

	env.valkey.Stop()
	for _, h := range []http.Header{authHeader(), {"Api-Key": {botKey}, "Api-Secret": {botSecret}}} {
		if got := r.do(t, "GET", "/api/ai/v1/admin/affinity", h, ""); got != http.StatusServiceUnavailable {
			t.Errorf("during the outage: %d", got)
		}
	}
	env.valkey.Start()

	expectNoLeak(t, r, secretForms(
		[]string{adminToken, rolelessToken, botSecret, botKey, wrongToken, wrongSecret, wrongKey, unicodeSecret, longToken},
		[][2]string{{botKey, botSecret}, {botKey, wrongSecret}, {wrongKey, botSecret}},
	))
}

// TestNoCredentialLeaksThreatWindsMode does the same with the Auth API,
// including its failures and slowness, whose causes are logged.
func TestNoCredentialLeaksThreatWindsMode(t *testing.T) {
	standIn := startAuthAPI(t)
	env := newAuthAPIEnv(t, standIn, authapi.Options{Timeout: 300 * time.Millisecond})
	r := &leakRecorder{env: env}
	credentialRun(t, r)

	standIn.AddSession(outageToken, authapitest.Session{UserID: "usr_ops", Verified: true, ExpireAt: time.Now().Add(time.Hour), Roles: []string{auth.AdminRole}})
	standIn.SetFailing(http.StatusInternalServerError)
	for _, h := range []http.Header{bearerHeader(outageToken), {"Api-Key": {wrongKey}, "Api-Secret": {wrongSecret}}} {
		if got := r.do(t, "GET", "/api/ai/v1/admin/affinity", h, ""); got != http.StatusServiceUnavailable {
			t.Errorf("Auth API failing: %d", got)
		}
	}
	standIn.SetFailing(0)
	standIn.SetDelay(time.Second)
	if got := r.do(t, "GET", "/api/ai/v1/admin/affinity", bearerHeader(outageToken), ""); got != http.StatusServiceUnavailable {
		t.Errorf("Auth API slow: %d", got)
	}
	standIn.SetDelay(0)
	if !strings.Contains(env.logs.String(), `"cause":"`) {
		t.Error("no cause of the Auth API failures was logged, so the log was not put to the test")
	}

	expectNoLeak(t, r, secretForms(
		[]string{adminToken, rolelessToken, botSecret, botKey, wrongToken, wrongSecret, wrongKey, unicodeSecret, longToken, outageToken},
		[][2]string{{botKey, botSecret}, {botKey, wrongSecret}, {wrongKey, botSecret}, {wrongKey, wrongSecret}},
	))
}
