package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/server/httpapi"
	"github.com/threatwinds/aiadmin/server/pods"
)

// absentPods is a pod service that knows no pod: every id that passes the
// handler's own check is a 404, so the suite sees what the handler decides
// about the id without a RunPod stand-in.
type absentPods struct{}

func (absentPods) List(context.Context, int64, int64) (pods.Page, error) {
	return pods.Page{Pods: []pods.Pod{}}, nil
}

func (absentPods) Get(context.Context, string) (pods.Pod, pods.Freshness, error) {
	return pods.Pod{}, pods.Freshness{}, pods.ErrPodNotFound
}

func (absentPods) Restart(context.Context, string) error { return pods.ErrPodNotFound }

// hostileCase is one hostile request and the answer it must get.
type hostileCase struct {
	name, method, path string
	header             http.Header
	body               string
	// chunked sends the body without a Content-Length.
	chunked bool
	status  int
	// message is the expected error message; empty checks the format only.
	message string
	// marker is hostile text that must not come back, in any header or the body.
	marker string
}

// sendHostile sends one case through the environment's validating transport.
func sendHostile(t *testing.T, env *testEnv, tc hostileCase) (*http.Response, []byte) {
	t.Helper()
	var body io.Reader = http.NoBody
	if tc.body != "" {
		body = strings.NewReader(tc.body)
		if tc.chunked {
			// A reader of unknown length makes the client send it chunked.
			body = io.MultiReader(strings.NewReader(tc.body))
		}
	}
	req, err := http.NewRequest(tc.method, env.url+tc.path, body)
	if err != nil {
		t.Fatalf("building the request: %v", err)
	}
	for k, vs := range tc.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if tc.chunked && req.ContentLength > 0 {
		t.Fatalf("the body would be sent with a Content-Length of %d", req.ContentLength)
	}
	resp, err := env.http.Do(req)
	if err != nil {
		t.Fatalf("%s %.80s: %v", tc.method, tc.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// Paths of the suite.
const (
	hBase     = "/api/ai/v1/admin"
	hPods     = hBase + "/pods"
	hClear    = hBase + "/affinity/clear"
	hAffinity = hBase + "/affinity"
	hRegistry = hBase + "/registry/"
	hDemand   = hBase + "/demand/"
	hDrain    = hBase + "/servers/drain"
	hSessions = hBase + "/affinity/users/"
	hAudit    = hBase + "/audit"
)

// nestedJSON wraps leaf in depth openings and closings; with closing empty
// the document is left open.
func nestedJSON(opening, leaf, closing string, depth int) string {
	return strings.Repeat(opening, depth) + leaf + strings.Repeat(closing, depth)
}

// paddedHeader returns h with one more header, of n bytes.
func paddedHeader(h http.Header, n int) http.Header {
	h = h.Clone()
	h.Set("X-Pad", strings.Repeat("p", n))
	return h
}

// manyHeaders returns h with n more headers, of size bytes each.
func manyHeaders(h http.Header, n, size int) http.Header {
	h = h.Clone()
	for i := range n {
		h.Set(fmt.Sprintf("X-Pad-%04d", i), strings.Repeat("q", size))
	}
	return h
}

// hostileCases is the suite: every case answers a 4xx.
func hostileCases() []hostileCase {
	auth := authHeader()
	js := jsonHeader()
	kp := func(k, s string) http.Header { return http.Header{"Api-Key": {k}, "Api-Secret": {s}} }
	big := strings.Repeat("a", 2<<20)
	overLimit := strings.Repeat("a", 1<<20+64<<10)

	return []hostileCase{
		// Oversized bodies: refused before authentication and before decoding.
		// A body announced by Content-Length is refused unread; the client
		// asks first (Expect: 100-continue), as a well-behaved one does, or
		// the server's close after an unread megabyte could reset the
		// connection before the client reads the 413. A chunked body is read
		// up to the limit; it is kept within what the server drains
		// afterwards (256 KiB) for the same reason.
		{name: "body over 1 MiB with Content-Length", method: "POST", path: hClear, header: with(js, "Expect", "100-continue"), body: `{"user_id":"` + big + `"}`, status: 413, message: "request body too large"},
		{name: "body over 1 MiB chunked", method: "POST", path: hClear, header: js, body: `{"user_id":"` + overLimit + `"}`, chunked: true, status: 413, message: "request body too large"},
		{name: "body over 1 MiB chunked, invalid UTF-8", method: "POST", path: hClear, header: js, body: "\xff" + overLimit, chunked: true, status: 413, message: "request body too large"},
		{name: "body over 1 MiB without credentials", method: "POST", path: hClear, header: http.Header{"Content-Type": {"application/json"}, "Expect": {"100-continue"}}, body: big, status: 413, message: "request body too large"},
		{name: "body over 1 MiB on a GET", method: "GET", path: hAffinity, header: with(auth, "Expect", "100-continue"), body: big, status: 413, message: "request body too large"},
		{name: "body over 1 MiB to an unknown route", method: "POST", path: hBase + "/nothing", header: with(js, "Expect", "100-continue"), body: big, status: 413, message: "request body too large"},

		// Deeply nested and huge JSON within the limit.
		{name: "10,000 levels of [", method: "POST", path: hClear, header: js, body: strings.Repeat("[", 10000), status: 400, message: "invalid request body"},
		{name: "100,000 levels of [ closed", method: "POST", path: hClear, header: js, body: nestedJSON("[", "", "]", 100000), status: 400, message: "invalid request body"},
		{name: `100,000 levels of {"a":`, method: "POST", path: hClear, header: js, body: nestedJSON(`{"a":`, "1", "}", 100000), status: 400, message: "invalid request body"},
		{name: "deep nesting in model_id", method: "POST", path: hClear, header: js, body: `{"user_id":"u","model_id":` + nestedJSON("[", "", "]", 50000) + `}`, status: 400, message: "invalid request body"},
		{name: "deep nesting in an unknown field", method: "POST", path: hClear, header: js, body: `{"user_id":"u","x":` + nestedJSON(`{"a":`, "1", "}", 20000) + `}`, status: 400, message: "invalid request body"},
		{name: "huge user_id string", method: "POST", path: hClear, header: js, body: `{"user_id":"` + strings.Repeat("u", 900<<10) + `"}`, status: 400, message: "invalid request body"},
		{name: "huge top-level array", method: "POST", path: hClear, header: js, body: "[" + strings.Repeat("1,", 400000) + "1]", status: 400, message: "invalid request body"},
		{name: "huge array as model_id", method: "POST", path: hClear, header: js, body: `{"user_id":"u","model_id":[` + strings.Repeat(`"m",`, 200000) + `"m"]}`, status: 400, message: "invalid request body"},
		{name: "60,000 keys and an empty user_id", method: "POST", path: hClear, header: js, body: manyJSONKeys(60000) + `"user_id":""}`, status: 400, message: "invalid request body"},
		{name: "huge number as user_id", method: "POST", path: hClear, header: js, body: `{"user_id":1e999999}`, status: 400, message: "invalid request body"},
		{name: "duplicate keys, the last empty", method: "POST", path: hClear, header: js, body: `{"user_id":"usr_abc123","user_id":""}`, status: 400, message: "invalid request body"},
		{name: "duplicate keys, the last valid", method: "POST", path: hClear, header: js, body: `{"user_id":"","user_id":"usr_abc123"}`, status: 400, message: "invalid request body"},
		{name: "an unknown field", method: "POST", path: hClear, header: js, body: `{"user_id":"usr_abc123","reason":"ticket 42"}`, status: 400, message: "invalid request body", marker: "reason"},
		{name: "trailing second document", method: "POST", path: hClear, header: js, body: `{"user_id":"u"} {"user_id":"v"}`, status: 400, message: "invalid request body"},
		{name: "JSON null", method: "POST", path: hClear, header: js, body: `null`, status: 400, message: "invalid request body"},
		{name: "JSON string", method: "POST", path: hClear, header: js, body: `"usr_abc123"`, status: 400, message: "invalid request body"},

		// Invalid UTF-8 and NUL bytes in bodies.
		{name: "invalid UTF-8 in a string", method: "POST", path: hClear, header: js, body: "{\"user_id\":\"\xff\xfe\"}", status: 400, message: "invalid request body"},
		{name: "overlong UTF-8 encoding of /", method: "POST", path: hClear, header: js, body: "{\"user_id\":\"\xc0\xaf\"}", status: 400, message: "invalid request body"},
		{name: "UTF-16 body", method: "POST", path: hClear, header: js, body: "\xff\xfe{\x00\"\x00u\x00\"\x00:\x00\"\x00a\x00\"\x00}\x00", status: 400, message: "invalid request body"},
		{name: "UTF-8 byte order mark", method: "POST", path: hClear, header: js, body: "\xef\xbb\xbf{\"user_id\":\"u\"}", status: 400, message: "invalid request body"},
		{name: "raw NUL inside a string", method: "POST", path: hClear, header: js, body: "{\"user_id\":\"a\x00b\"}", status: 400, message: "invalid request body"},
		{name: "raw CR LF inside a string", method: "POST", path: hClear, header: js, body: "{\"user_id\":\"a\r\nX-Injected: 1\"}", status: 400, message: "invalid request body", marker: "X-Injected"},

		// Keys the validator and the handler's decoder could read differently:
		// the decoder matches keys regardless of case and keeps the last.
		{name: "user_id again in upper case", method: "POST", path: hClear, header: js, body: `{"user_id":"a","USER_ID":"x\u0001y"}`, status: 400, message: "invalid request body"},
		{name: "user_id again in mixed case, oversized", method: "POST", path: hClear, header: js, body: `{"user_id":"a","User_Id":"` + strings.Repeat("u", 5000) + `"}`, status: 400, message: "invalid request body"},
		{name: "model_id in upper case with NUL", method: "POST", path: hClear, header: js, body: `{"user_id":"a","model_id":"m","MODEL_ID":"n\u0000"}`, status: 400, message: "invalid request body"},
		{name: "only an upper-case MODEL_ID", method: "POST", path: hClear, header: js, body: `{"user_id":"a","MODEL_ID":"n\u0000"}`, status: 400, message: "invalid request body", marker: "MODEL_ID"},
		{name: "misspelt model_id", method: "POST", path: hClear, header: js, body: `{"user_id":"a","modelid":"m"}`, status: 400, message: "invalid request body", marker: "modelid"},
		{name: "repeated key inside a nested value", method: "POST", path: hClear, header: js, body: `{"user_id":"a","x":{"k":1,"K":2}}`, status: 400, message: "invalid request body"},
		{name: "user_id again with a long s (U+017F), which the decoder folds to s", method: "POST", path: hClear, header: js, body: `{"user_id":"a","uſer_id":"x\u0001"}`, status: 400, message: "invalid request body"},
		{name: "user_id of spaces only", method: "POST", path: hClear, header: js, body: `{"user_id":"   "}`, status: 400, message: "invalid request body"},

		// Content-Type forms that could skip the body checks.
		{name: "empty media type parameter, trailing garbage", method: "POST", path: hClear, header: with(auth, "Content-Type", "application/json;;"), body: `{"user_id":"a"}garbage`, status: 400, message: "invalid request body"},
		{name: "latin1 charset with an empty parameter", method: "POST", path: hClear, header: with(auth, "Content-Type", "application/json; charset=latin1;;"), body: `{"user_id":"a"}`, status: 400, message: "invalid request body"},
		{name: "latin1 charset", method: "POST", path: hClear, header: with(auth, "Content-Type", "application/json; charset=latin1"), body: `{"user_id":"a"}`, status: 400, message: "invalid request body"},
		{name: "unknown media type parameter", method: "POST", path: hClear, header: with(auth, "Content-Type", "application/json; profile=x"), body: `{"user_id":"a"}`, status: 400, message: "invalid request body"},
		{name: "two Content-Type headers", method: "POST", path: hClear, header: with(js, "Content-Type", "text/plain"), body: `{"user_id":"a"}`, status: 400, message: "invalid request body"},

		// Wrong content types.
		{name: "text/plain", method: "POST", path: hClear, header: with(auth, "Content-Type", "text/plain"), body: `{"user_id":"u"}`, status: 400, message: "invalid request body"},
		{name: "form encoded", method: "POST", path: hClear, header: with(auth, "Content-Type", "application/x-www-form-urlencoded"), body: `user_id=u`, status: 400, message: "invalid request body"},
		{name: "multipart", method: "POST", path: hClear, header: with(auth, "Content-Type", "multipart/form-data; boundary=x"), body: "--x\r\nContent-Disposition: form-data; name=\"user_id\"\r\n\r\nu\r\n--x--\r\n", status: 400, message: "invalid request body"},
		{name: "xml", method: "POST", path: hClear, header: with(auth, "Content-Type", "application/xml"), body: `<user_id>u</user_id>`, status: 400, message: "invalid request body"},
		{name: "a JSON-looking type", method: "POST", path: hClear, header: with(auth, "Content-Type", "application/json-patch+json"), body: `{"user_id":"u"}`, status: 400, message: "invalid request body"},
		{name: "a content type extending json", method: "POST", path: hClear, header: with(auth, "Content-Type", "application/jsonx"), body: `{"user_id":"u"}`, status: 400, message: "invalid request body"},

		// Oversized headers: our limit (32 KiB, in the error format) is below
		// what net/http refuses by itself (MaxHeaderBytes: 1 MiB in the app
		// and in httptest), which answers a plain-text 431 our code never
		// sees; these stay well below it so they reach the middleware.
		{name: "one 40 KiB header", method: "GET", path: hAffinity, header: paddedHeader(auth, 40<<10), status: 431, message: "request headers too large"},
		{name: "one 60 KiB header", method: "GET", path: hAffinity, header: paddedHeader(auth, 60<<10), status: 431, message: "request headers too large"},
		{name: "600 headers of 80 bytes", method: "GET", path: hAffinity, header: manyHeaders(auth, 600, 80), status: 431, message: "request headers too large"},
		{name: "40 KiB bearer token", method: "GET", path: hAffinity, header: bearerHeader(strings.Repeat("t", 40<<10)), status: 431, message: "request headers too large"},
		{name: "big headers on an unknown route", method: "GET", path: hBase + "/nothing", header: paddedHeader(http.Header{}, 40<<10), status: 431, message: "request headers too large"},

		// Duplicate and conflicting credentials: refused, never guessed at.
		{name: "the same bearer twice", method: "GET", path: hAffinity, header: http.Header{"Authorization": {"Bearer " + adminToken, "Bearer " + adminToken}}, status: 401, message: "duplicate credential headers"},
		{name: "two api keys", method: "GET", path: hAffinity, header: http.Header{"Api-Key": {botKey, botKey}, "Api-Secret": {botSecret}}, status: 401, message: "duplicate credential headers"},
		{name: "two api secrets", method: "GET", path: hAffinity, header: http.Header{"Api-Key": {botKey}, "Api-Secret": {botSecret, "x"}}, status: 401, message: "duplicate credential headers"},
		{name: "role-less bearer with an admin key pair", method: "GET", path: hAffinity, header: http.Header{"Authorization": {"Bearer " + rolelessToken}, "Api-Key": {botKey}, "Api-Secret": {botSecret}}, status: 401, message: "ambiguous credentials"},
		{name: "bearer with only an api key", method: "GET", path: hAffinity, header: http.Header{"Authorization": {"Bearer " + adminToken}, "Api-Key": {botKey}}, status: 401, message: "ambiguous credentials"},
		{name: "bearer with only an api secret", method: "GET", path: hAffinity, header: http.Header{"Authorization": {"Bearer " + adminToken}, "Api-Secret": {botSecret}}, status: 401, message: "ambiguous credentials"},
		{name: "empty api key", method: "GET", path: hAffinity, header: kp("", botSecret), status: 401, message: "incomplete key pair"},
		{name: "empty authorization", method: "GET", path: hAffinity, header: http.Header{"Authorization": {""}}, status: 401, message: "malformed authorization header"},
		{name: "bearer with no space", method: "GET", path: hAffinity, header: http.Header{"Authorization": {"Bearer" + adminToken}}, status: 401, message: "malformed authorization header"},
		{name: "bearer with a trailing word", method: "GET", path: hAffinity, header: http.Header{"Authorization": {"Bearer " + adminToken + " extra"}}, status: 401, message: "malformed authorization header"},
		{name: "bearer with a tab inside", method: "GET", path: hAffinity, header: http.Header{"Authorization": {"Bearer tok\tadmin"}}, status: 401, message: "malformed authorization header"},
		{name: "bearer with UTF-8", method: "GET", path: hAffinity, header: bearerHeader("tök€n"), status: 401, message: "malformed authorization header"},
		{name: "bearer with Latin-1 bytes", method: "GET", path: hAffinity, header: bearerHeader("tok\xff\xfe"), status: 401, message: "malformed authorization header"},
		{name: "bearer of 5,000 characters", method: "GET", path: hAffinity, header: bearerHeader(strings.Repeat("t", 5000)), status: 401, message: "malformed authorization header"},
		{name: "api key with UTF-8", method: "GET", path: hAffinity, header: kp("k\u2028ey", botSecret), status: 401, message: "malformed key pair"},
		{name: "encoded CR LF in a bearer", method: "GET", path: hAffinity, header: bearerHeader("x%0d%0aX-Injected:%201"), status: 401, message: "invalid credentials", marker: "X-Injected"},
		{name: "encoded CR LF in an api secret", method: "GET", path: hAffinity, header: kp(botKey, "x%0d%0aSet-Cookie:%20a=b"), status: 401, message: "invalid credentials", marker: "Set-Cookie"},

		// {id}: only 1 to 64 letters and digits; anything else is a 422.
		{name: "id with NUL", method: "GET", path: hPods + "/abc%00def", header: auth, status: 422, message: "invalid pod id"},
		{name: "id path traversal encoded", method: "GET", path: hPods + "/..%2F..%2Fetc%2Fpasswd", header: auth, status: 422, message: "invalid pod id", marker: "passwd"},
		{name: "id %2e%2e", method: "GET", path: hPods + "/%2e%2e", header: auth, status: 422, message: "invalid pod id"},
		{name: "id double-encoded traversal", method: "GET", path: hPods + "/..%252F..%252Fetc%252Fpasswd", header: auth, status: 422, message: "invalid pod id", marker: "passwd"},
		{name: "id invalid UTF-8", method: "GET", path: hPods + "/ab%ff%fe", header: auth, status: 422, message: "invalid pod id"},
		{name: "id unicode digits", method: "GET", path: hPods + "/%D9%A1%D9%A2%D9%A3", header: auth, status: 422, message: "invalid pod id"},
		{name: "id encoded CR LF", method: "GET", path: hPods + "/a%0d%0aX-Injected:%201", header: auth, status: 422, message: "invalid pod id", marker: "X-Injected"},
		{name: "id of 65 characters", method: "GET", path: hPods + "/" + strings.Repeat("a", 65), header: auth, status: 422, message: "invalid pod id"},
		{name: "restart of an id with NUL", method: "POST", path: hPods + "/abc%00/restart", header: auth, status: 422, message: "invalid pod id"},
		{name: "restart of a traversal id", method: "POST", path: hPods + "/..%2F..%2Fetc%2Fpasswd/restart", header: auth, status: 422, message: "invalid pod id", marker: "passwd"},
		{name: "restart of a U+2028 id", method: "POST", path: hPods + "/a%E2%80%A8b/restart", header: auth, status: 422, message: "invalid pod id"},
		{name: "literal /../ after pods", method: "GET", path: hPods + "/../../../etc/passwd", header: auth, status: 404, message: "route not found", marker: "passwd"},

		// {modelId}: an opaque id, but printable, without traversal or a
		// second layer of encoding.
		{name: "model id with NUL", method: "GET", path: hRegistry + "model%00x", header: auth, status: 400, message: "invalid path parameter modelId"},
		{name: "model id path traversal encoded", method: "GET", path: hRegistry + "..%2F..%2Fetc%2Fpasswd", header: auth, status: 400, message: "invalid path parameter modelId", marker: "passwd"},
		{name: "model id %2e%2e", method: "GET", path: hRegistry + "%2e%2e", header: auth, status: 400, message: "invalid path parameter modelId"},
		{name: "model id literal ..", method: "GET", path: hRegistry + "..", header: auth, status: 400, message: "invalid path parameter modelId"},
		{name: "model id double-encoded traversal", method: "GET", path: hRegistry + "..%252F..%252Fetc%252Fpasswd", header: auth, status: 400, message: "invalid path parameter modelId", marker: "passwd"},
		{name: "model id double-encoded slash", method: "GET", path: hRegistry + "org%252Fmodel", header: auth, status: 400, message: "invalid path parameter modelId"},
		{name: "model id invalid UTF-8", method: "GET", path: hRegistry + "m%ff%fe", header: auth, status: 400, message: "invalid path parameter modelId"},
		{name: "model id encoded CR LF", method: "GET", path: hRegistry + "m%0d%0aX-Injected:%201", header: auth, status: 400, message: "invalid path parameter modelId", marker: "X-Injected"},
		{name: "model id U+2028", method: "GET", path: hRegistry + "m%E2%80%A8x", header: auth, status: 400, message: "invalid path parameter modelId"},
		{name: "model id backslash traversal", method: "GET", path: hRegistry + "..%5C..%5Cwindows", header: auth, status: 400, message: "invalid path parameter modelId"},
		{name: "model id of 257 characters", method: "GET", path: hRegistry + strings.Repeat("m", 257), header: auth, status: 400, message: "invalid path parameter modelId"},
		{name: "model id of 30,000 characters", method: "GET", path: hRegistry + strings.Repeat("m", 30000), header: auth, status: 400, message: "invalid path parameter modelId"},
		// A bad escape (%zz) never reaches the server's code: net/http
		// refuses the request line with a plain 400 first.

		// {podUrl}: an absolute http(s) URL, once encoded.
		{name: "pod url with NUL", method: "GET", path: hDemand + url.PathEscape("https://pod-1\x00.proxy.runpod.net/v1"), header: auth, status: 400, message: "invalid path parameter podUrl"},
		{name: "pod url path traversal", method: "GET", path: hDemand + url.PathEscape("https://pod-1.proxy.runpod.net/v1/../../etc/passwd"), header: auth, status: 400, message: "invalid path parameter podUrl", marker: "passwd"},
		{name: "pod url %2e%2e segments", method: "GET", path: hDemand + "https%3A%2F%2Fpod-1%2F%2e%2e%2F%2e%2e%2Fetc", header: auth, status: 400, message: "invalid path parameter podUrl"},
		{name: "pod url double-encoded", method: "GET", path: hDemand + "https%253A%252F%252Fpod-1.proxy.runpod.net%252Fv1", header: auth, status: 400, message: "invalid path parameter podUrl"},
		{name: "pod url double-encoded after the host", method: "GET", path: hDemand + "https%3A%2F%2Fpod-1%252F..%252F..%252Fetc", header: auth, status: 400, message: "invalid path parameter podUrl"},
		{name: "pod url invalid UTF-8", method: "GET", path: hDemand + "https%3A%2F%2Fpod%ff.proxy.runpod.net", header: auth, status: 400, message: "invalid path parameter podUrl"},
		{name: "pod url encoded CR LF", method: "GET", path: hDemand + "https%3A%2F%2Fpod-1%0d%0aSet-Cookie:%20a=b", header: auth, status: 400, message: "invalid path parameter podUrl", marker: "Set-Cookie"},
		{name: "pod url with user info", method: "GET", path: hDemand + url.PathEscape("https://user:pass@pod-1.proxy.runpod.net/v1"), header: auth, status: 400, message: "invalid path parameter podUrl", marker: "pass@"},
		{name: "pod url javascript", method: "GET", path: hDemand + url.PathEscape("javascript:alert(1)//"), header: auth, status: 400, message: "invalid path parameter podUrl"},
		{name: "pod url of 3,000 characters", method: "GET", path: hDemand + url.PathEscape("https://pod-1.proxy.runpod.net/"+strings.Repeat("v", 3000)), header: auth, status: 400, message: "invalid path parameter podUrl"},

		// Query strings net/url cannot parse: Query() would drop the pair and
		// the default would answer in its place.
		{name: "limit with a bad escape", method: "GET", path: hBase + "/servers?limit=%zz", header: auth, status: 400, message: "invalid query string"},
		{name: "limit with a trailing %", method: "GET", path: hBase + "/servers?limit=5%", header: auth, status: 400, message: "invalid query string"},
		{name: "out-of-range limit behind a semicolon", method: "GET", path: hBase + "/servers?limit=500;x", header: auth, status: 400, message: "invalid query string"},
		{name: "page 0 then 10,001 pairs", method: "GET", path: hPods + "?page=0&" + strings.Repeat("a=1&", 10001), header: auth, status: 400, message: "invalid query string"},

		// Absurd page and limit.
		{name: "page -1", method: "GET", path: hRegistry + "m?page=-1", header: auth, status: 400, message: "invalid query parameter page"},
		{name: "page 1e30", method: "GET", path: hRegistry + "m?page=1e30", header: auth, status: 400, message: "invalid query parameter page"},
		{name: "page 2^63", method: "GET", path: hRegistry + "m?page=9223372036854775808", header: auth, status: 400, message: "invalid query parameter page", marker: "9223372036854775808"},
		{name: "page 2^63-1", method: "GET", path: hRegistry + "m?page=9223372036854775807", header: auth, status: 400, message: "invalid query parameter page"},
		{name: "page -2^63", method: "GET", path: hPods + "?page=-9223372036854775808", header: auth, status: 400, message: "invalid query parameter page"},
		{name: "page hex", method: "GET", path: hRegistry + "m?page=0x10", header: auth, status: 400, message: "invalid query parameter page"},
		{name: "page octal-looking", method: "GET", path: hRegistry + "m?page=0o7", header: auth, status: 400, message: "invalid query parameter page"},
		{name: "page arabic-indic digit", method: "GET", path: hRegistry + "m?page=%D9%A1", header: auth, status: 400, message: "invalid query parameter page"},
		{name: "page fullwidth digit", method: "GET", path: hRegistry + "m?page=%EF%BC%91", header: auth, status: 400, message: "invalid query parameter page"},
		{name: "page with NUL", method: "GET", path: hRegistry + "m?page=1%00", header: auth, status: 400, message: "invalid query parameter page"},
		{name: "page with encoded CR LF", method: "GET", path: hRegistry + "m?page=1%0d%0aX-Injected:%201", header: auth, status: 400, message: "invalid query parameter page", marker: "X-Injected"},
		{name: "page with spaces", method: "GET", path: hRegistry + "m?page=%201%20", header: auth, status: 400, message: "invalid query parameter page"},
		{name: "page of 30,000 digits", method: "GET", path: hRegistry + "m?page=" + strings.Repeat("9", 30000), header: auth, status: 400, message: "invalid query parameter page"},
		{name: "limit NaN", method: "GET", path: hRegistry + "m?limit=NaN", header: auth, status: 400, message: "invalid query parameter limit"},
		{name: "limit Infinity", method: "GET", path: hRegistry + "m?limit=Infinity", header: auth, status: 400, message: "invalid query parameter limit"},
		{name: "limit -0", method: "GET", path: hRegistry + "m?limit=-0", header: auth, status: 400, message: "invalid query parameter limit"},
		{name: "limit 1.0", method: "GET", path: hRegistry + "m?limit=1.0", header: auth, status: 400, message: "invalid query parameter limit"},
		{name: "servers limit -1", method: "GET", path: hBase + "/servers?limit=-1", header: auth, status: 400, message: "invalid query parameter limit"},
		{name: "pods page 2^64", method: "GET", path: hPods + "?page=18446744073709551616", header: auth, status: 400, message: "invalid query parameter page"},
		{name: "duplicate page", method: "GET", path: hRegistry + "m?page=1&page=2", header: auth, status: 400, message: "invalid query parameter page"},
		{name: "duplicate limit on pods", method: "GET", path: hPods + "?limit=5&limit=500", header: auth, status: 400, message: "invalid query parameter limit"},

		// Methods the API does not have.
		{name: "TRACE", method: "TRACE", path: hAffinity, header: auth, status: 405, message: "method not allowed"},
		{name: "PUT", method: "PUT", path: hClear, header: js, body: `{"user_id":"u"}`, status: 405, message: "method not allowed"},
		{name: "PATCH", method: "PATCH", path: hPods + "/abc123", header: js, body: `{}`, status: 405, message: "method not allowed"},
		{name: "DELETE refresh", method: "DELETE", path: hBase + "/registry/refresh", header: auth, status: 405, message: "method not allowed"},
		{name: "PROPFIND", method: "PROPFIND", path: hPods, header: auth, status: 405, message: "method not allowed"},
		{name: "TRACE without credentials", method: "TRACE", path: hPods, status: 405, message: "method not allowed"},

		// Traversal in the route itself.
		{name: "literal /../ out of the API", method: "GET", path: hBase + "/../../../etc/passwd", header: auth, status: 404, message: "route not found", marker: "passwd"},
		{name: "encoded %2e%2e out of the API", method: "GET", path: hBase + "/%2e%2e/%2e%2e/etc/passwd", header: auth, status: 404, message: "route not found", marker: "passwd"},
		{name: "extra segment after restart", method: "POST", path: hPods + "/abc/restart/now", header: auth, status: 404, message: "route not found"},
		{name: "very long unknown path", method: "GET", path: hBase + "/" + strings.Repeat("x/", 15000), header: auth, status: 404, message: "route not found"},

		// The operator operations' inputs.
		{name: "drain: url with CRLF", method: "POST", path: hDrain, header: js, body: `{"url":"https://pod-1\r\nSet-Cookie: a=b/v1"}`, status: 400, message: "invalid request body", marker: "Set-Cookie"},
		{name: "drain: url with user info", method: "POST", path: hDrain, header: js, body: `{"url":"https://admin:hunter2@pod-1/v1"}`, status: 400, message: "invalid request body", marker: "hunter2"},
		{name: "drain: url with traversal", method: "POST", path: hDrain, header: js, body: `{"url":"https://pod-1/v1/../../etc/passwd"}`, status: 400, message: "invalid request body", marker: "passwd"},
		{name: "drain: javascript url", method: "POST", path: hDrain, header: js, body: `{"url":"javascript:alert(1)"}`, status: 400, message: "invalid request body", marker: "alert"},
		{name: "drain: reason of 257 characters", method: "POST", path: hDrain, header: js, body: `{"url":"https://pod-1/v1","reason":"` + strings.Repeat("r", 257) + `"}`, status: 400, message: "invalid request body"},
		{name: "drain: reason with a NUL", method: "POST", path: hDrain, header: js, body: `{"url":"https://pod-1/v1","reason":"a\u0000b"}`, status: 400, message: "invalid request body"},
		{name: "drain: reason with an escape sequence", method: "POST", path: hDrain, header: js, body: `{"url":"https://pod-1/v1","reason":"\u001b[31mred"}`, status: 400, message: "invalid request body"},
		{name: "drain: url as a number", method: "POST", path: hDrain, header: js, body: `{"url":1}`, status: 400, message: "invalid request body"},
		{name: "drain: url repeated in another case", method: "POST", path: hDrain, header: js, body: `{"url":"https://pod-1/v1","Url":"https://pod-2/v1"}`, status: 400, message: "invalid request body"},
		{name: "drain: no body", method: "POST", path: hDrain, header: js, status: 400, message: "invalid request body"},
		{name: "undrain: a reason it does not take", method: "POST", path: hBase + "/servers/undrain", header: js, body: `{"url":"https://pod-1/v1","reason":"x"}`, status: 400, message: "invalid request body"},
		{name: "drain: unknown server", method: "POST", path: hDrain, header: js, body: `{"url":"https://pod-404.example/v1","reason":"<script>x</script>"}`, status: 404, message: "server not found", marker: "<script>"},
		{name: "sessions: NUL in the user id", method: "GET", path: hSessions + "usr%00abc", header: auth, status: 400, message: "invalid path parameter userId"},
		{name: "sessions: CRLF in the user id", method: "GET", path: hSessions + "usr%0d%0aSet-Cookie:%20a", header: auth, status: 400, message: "invalid path parameter userId", marker: "Set-Cookie"},
		{name: "sessions: slash in the user id", method: "GET", path: hSessions + "usr%2F..%2Fadmin", header: auth, status: 400, message: "invalid path parameter userId"},
		{name: "sessions: user id of spaces", method: "GET", path: hSessions + "%20%20%20", header: auth, status: 400, message: "invalid path parameter userId"},
		{name: "sessions: user id of 257 characters", method: "GET", path: hSessions + strings.Repeat("u", 257), header: auth, status: 400, message: "invalid path parameter userId"},
		{name: "audit: before that is a range", method: "GET", path: hAudit + "?before=-", header: auth, status: 400, message: "invalid query parameter before"},
		{name: "audit: before with an exclusive prefix", method: "GET", path: hAudit + "?before=(1-0", header: auth, status: 400, message: "invalid query parameter before"},
		{name: "audit: before past 64 bits", method: "GET", path: hAudit + "?before=18446744073709551616-0", header: auth, status: 400, message: "invalid query parameter before"},
		{name: "audit: before with a command", method: "GET", path: hAudit + "?before=1-0%20COUNT%201000000", header: auth, status: 400, message: "invalid query parameter before", marker: "COUNT"},
		{name: "audit: limit past 200", method: "GET", path: hAudit + "?limit=201", header: auth, status: 400, message: "invalid query parameter limit"},
		{name: "audit: limit negative", method: "GET", path: hAudit + "?limit=-1", header: auth, status: 400, message: "invalid query parameter limit"},
	}
}

// manyJSONKeys opens an object with n distinct keys, leaving it open.
func manyJSONKeys(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, `"k%d":0,`, i)
	}
	return b.String()
}

// TestHostileInput sends every hostile case to the real server: each answers
// its 4xx in the error format, none a 5xx, no hostile text comes back, and
// the server keeps serving.
func TestHostileInput(t *testing.T) {
	env := newEnv(t, func(o *envOptions) {
		o.handlers = func(h *httpapi.Handlers, _ *fleet.Store) { h.Pods = absentPods{} }
	})
	cases := hostileCases()
	if len(cases) < 60 {
		t.Fatalf("only %d hostile cases, want at least 60", len(cases))
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		if seen[tc.name] {
			t.Fatalf("two cases named %q", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			if tc.status < 400 || tc.status > 499 {
				t.Fatalf("case expects %d: every hostile case must answer a 4xx", tc.status)
			}
			resp, body := sendHostile(t, env, tc)
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d; body %.300s", resp.StatusCode, tc.status, body)
			}
			expectErrorAnswer(t, resp, body, tc.status, tc.message)
			expectNothingEchoed(t, resp, body, tc.marker)
		})
	}

	// The server still serves after all of that.
	resp, err := env.admin.GetAffinityMetricsWithResponse(context.Background())
	if err != nil || resp.JSON200 == nil {
		t.Fatalf("after the hostile suite: %v %d %s", err, resp.StatusCode(), resp.Body)
	}
	if r, body := env.do(t, http.MethodGet, "/healthz", nil, ""); r.StatusCode != 200 {
		t.Fatalf("healthz after the hostile suite: %d %s", r.StatusCode, body)
	}
}

// expectNothingEchoed checks that x-error is printable ASCII, that no
// header was injected, and that marker appears nowhere in the answer.
func expectNothingEchoed(t *testing.T, resp *http.Response, body []byte, marker string) {
	t.Helper()
	xe := resp.Header.Get("x-error")
	for i := 0; i < len(xe); i++ {
		if xe[i] < 0x20 || xe[i] > 0x7e {
			t.Errorf("x-error holds byte %#x: %q", xe[i], xe)
		}
	}
	for _, h := range []string{"X-Injected", "Set-Cookie"} {
		if v := resp.Header.Values(h); len(v) > 0 {
			t.Errorf("injected header %s: %q", h, v)
		}
	}
	if !utf8.Valid(body) {
		t.Errorf("the answer body is not UTF-8: %q", body)
	}
	if marker == "" {
		return
	}
	if bytes.Contains(body, []byte(marker)) {
		t.Errorf("the body echoes %q: %s", marker, body)
	}
	for k, vs := range resp.Header {
		for _, v := range vs {
			if strings.Contains(v, marker) {
				t.Errorf("header %s echoes %q: %q", k, marker, v)
			}
		}
	}
}

// TestHostileInputDocumentedChoices pins what the API accepts on purpose
// where a hostile-looking request is a valid one.
func TestHostileInputDocumentedChoices(t *testing.T) {
	env := newEnv(t)
	longModel := strings.Repeat("m", 256)
	cases := []struct {
		name, method, path string
		header             http.Header
		body               string
		want               string
	}{
		// Media types ignore letter case, and UTF-8 may be said explicitly.
		{"upper-case JSON media type", "POST", hClear, with(authHeader(), "Content-Type", "APPLICATION/JSON"), `{"user_id":"usr_abc123"}`, `"user_id":"usr_abc123"`},
		{"mixed-case media type with charset UTF-8", "POST", hClear, with(authHeader(), "Content-Type", "Application/Json; Charset=UTF-8"), `{"user_id":"usr_abc123","model_id":"m"}`, `"model_id":"m"`},
		// A null model_id clears every model, as an absent one does.
		{"model_id null", "POST", hClear, jsonHeader(), `{"user_id":"usr_abc123","model_id":null}`, `"user_id":"usr_abc123"`},
		{"a 256-character model id", "GET", hRegistry + longModel, authHeader(), "", `"model_id":"` + longModel + `"`},
		{"a model id with a slash, encoded once", "GET", hRegistry + "Qwen%2FQwen3-27B", authHeader(), "", `"model_id":"Qwen/Qwen3-27B"`},
		{"a model id with unicode letters", "GET", hRegistry + "mod%C3%A8le", authHeader(), "", `"model_id":"modèle"`},
		{"lower-case bearer scheme", "GET", hAffinity, http.Header{"Authorization": {"bearer " + adminToken}}, "", `"providers"`},
		{"page with a plus sign", "GET", hRegistry + "m?page=%2B1", authHeader(), "", `"page":1`},
		{"unknown query parameters are ignored", "GET", hRegistry + "m?page=1&debug=%00%0d%0a", authHeader(), "", `"page":1`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := env.do(t, tc.method, tc.path, tc.header, tc.body)
			if resp.StatusCode != 200 || !strings.Contains(string(body), tc.want) {
				t.Errorf("status %d body %s; want 200 with %s", resp.StatusCode, body, tc.want)
			}
		})
	}
}

// TestHostileMethodsDoNotGrowMetrics sends requests with made-up methods,
// without credentials: each answers in the error format, and the metrics
// grow no series per method, or anyone could exhaust the server's memory.
func TestHostileMethodsDoNotGrowMetrics(t *testing.T) {
	env := newEnv(t)
	const invented = 40
	for i := range invented {
		for _, path := range []string{hBase + "/nothing", hAffinity} {
			resp, body := env.do(t, fmt.Sprintf("XMETHOD%02d", i), path, nil, "")
			if resp.StatusCode != 404 && resp.StatusCode != 405 {
				t.Fatalf("invented method on %s: %d %s", path, resp.StatusCode, body)
			}
		}
	}
	resp, body := env.do(t, http.MethodGet, "/metrics", nil, "")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	methods := map[string]bool{}
	for line := range strings.SplitSeq(string(body), "\n") {
		if !strings.HasPrefix(line, "aiadmin_http_requests_total{") {
			continue
		}
		if _, rest, ok := strings.Cut(line, `method="`); ok {
			m, _, _ := strings.Cut(rest, `"`)
			methods[m] = true
		}
	}
	// The methods HTTP defines, and one label for the rest.
	if len(methods) == 0 || len(methods) > 10 {
		t.Errorf("%d method labels after %d invented methods, want a fixed set of at most 10: %v", len(methods), invented, slices.Sorted(maps.Keys(methods)))
	}
}
