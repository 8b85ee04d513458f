package openapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// validateParameter checks value as the server's validator does: decoded
// once from the path, then through openapi3filter, whose parameter decoding
// supports fewer schema forms than the schema validation itself (no "not").
func validateParameter(t *testing.T, doc *openapi3.T, method, path, name, value string) error {
	t.Helper()
	item := doc.Paths.Value(path)
	if item == nil || item.GetOperation(method) == nil {
		t.Fatalf("the spec has no operation %s %s", method, path)
	}
	op := item.GetOperation(method)
	param := op.Parameters.GetByInAndName(openapi3.ParameterInPath, name)
	if param == nil {
		t.Fatalf("%s %s has no path parameter %s", method, path, name)
	}
	req, err := http.NewRequest(method, "http://127.0.0.1/", nil)
	if err != nil {
		t.Fatal(err)
	}
	in := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: map[string]string{name: value},
		Route:      &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op},
		Options:    &openapi3filter.Options{MultiError: true},
	}
	return openapi3filter.ValidateParameter(context.Background(), in, param)
}

// TestPathParameterRules checks the input rules the spec's path parameters
// state, on the values the validator sees: decoded once from the path. The
// server checks these rules nowhere else, so what the schema lets through
// reaches the handlers and the store.
func TestPathParameterRules(t *testing.T) {
	doc := loadSpec(t)
	podID := struct{ accept, refuse []string }{
		accept: []string{"abc123", "A", "0", strings.Repeat("a", 64)},
		refuse: []string{"", strings.Repeat("a", 65), "abc-123", "abc_123", "abc 123", "ábc", "abc\x00", "../etc", "a/b", "abc%2F1", "\xff"},
	}
	cases := []struct {
		method, path, param string
		accept, refuse      []string
	}{
		{method: "GET", path: "/api/ai/v1/admin/pods/{id}", param: "id", accept: podID.accept, refuse: podID.refuse},
		{method: "POST", path: "/api/ai/v1/admin/pods/{id}/restart", param: "id", accept: podID.accept, refuse: podID.refuse},
		{
			method: "GET", path: "/api/ai/v1/admin/registry/{modelId}", param: "modelId",
			accept: []string{
				"threatwinds-qwen3-6-27b", "Qwen/Qwen3-8B", "org/model:tag", "model@v1", "...", ".hidden", "a..b",
				"modèle", "模型", "refresh", strings.Repeat("m", 256),
			},
			refuse: []string{
				"", "model\x00x", "../../etc/passwd", "..", ".", "a/../b", "a/./b", "org%2Fmodel", "m\xff\xfe",
				"m\r\nX-Injected: 1", "m\u2028x", `..\..\windows`, "a//b", "/a", "a/", "m x", "m\u00a0x",
				"m\ufeffx", "m\x7fx", "m\u200bx", "m\ue000x", "m\ufffdx", strings.Repeat("m", 257),
			},
		},
		{
			method: "GET", path: "/api/ai/v1/admin/demand/{podUrl}", param: "podUrl",
			accept: []string{
				"https://pod-1.proxy.runpod.net/v1", "http://127.0.0.1:8000/v1", "HTTPS://POD-1/v1",
				"http://[::1]:8080/v1", "http://[fe80::1]/", "https://pod-1/v1?x=1#top", "https://pod-1/v1/",
				"http://h/...", "http://h/.well-known/x", "http://h", "http://h:", "http://h//v1",
				"https://pod-1/v1?next=/a/../b", "https://bücher.example/v1",
				"https://pod-1.proxy.runpod.net/" + strings.Repeat("v", 2000),
			},
			refuse: []string{
				"", "pod-1", "ftp://pod-1/v1", "javascript:alert(1)//", "//pod-1/v1", "https:/pod-1/v1", "http:///v1",
				"https://pod-1\x00.proxy.runpod.net/v1", "https://pod-1.proxy.runpod.net/v1/../../etc/passwd",
				"https://pod-1/./v1", "https://pod-1/v1/..", "https://pod-1/v1/.?x",
				"https%3A%2F%2Fpod-1.proxy.runpod.net%2Fv1", "https://pod-1%2F..%2F..%2Fetc",
				"https://pod\xff.proxy.runpod.net", "https://pod-1\r\nSet-Cookie: a=b",
				"https://user:pass@pod-1.proxy.runpod.net/v1", "https://@pod-1/v1", `https://pod-1\v1`,
				"https://pod 1/v1", "https://pod-1/v 1", "http://a:b/", "http://a:1:2/", "http://[1.2.3.4]/",
				"http://[::1/", "http://a[b]/", "http://a{b}/", "https://pod-1/v1#\u2028",
				"https://pod-1.proxy.runpod.net/" + strings.Repeat("v", 3000),
			},
		},
	}
	for _, c := range cases {
		where := fmt.Sprintf("%s %s parameter %s", c.method, c.path, c.param)
		for _, v := range c.accept {
			if err := validateParameter(t, doc, c.method, c.path, c.param, v); err != nil {
				t.Errorf("%s refuses %q: %v", where, v, err)
			}
		}
		for _, v := range c.refuse {
			if validateParameter(t, doc, c.method, c.path, c.param, v) == nil {
				t.Errorf("%s accepts %q", where, v)
			}
		}
	}
}

// invalidAnswer reads the status a parameter's x-invalid-status names, 0 if
// none.
func invalidAnswer(t *testing.T, where string, p *openapi3.Parameter) int {
	t.Helper()
	raw, ok := p.Extensions["x-invalid-status"]
	if !ok {
		return 0
	}
	// Extensions arrive as encoding/json decoded them; a status must be an
	// integer whatever the representation.
	data, _ := json.Marshal(raw)
	var status int
	if err := json.Unmarshal(data, &status); err != nil || status < 400 || status > 499 {
		t.Errorf("%s: x-invalid-status %s is not a 4xx status", where, data)
	}
	return status
}

// TestInvalidParameterAnswersAreDeclared checks that a parameter naming its
// own answer for an invalid value (x-invalid-status, x-invalid-error) names
// both, and that every operation using it declares that status, so the
// answer the validator gives is in the contract.
func TestInvalidParameterAnswersAreDeclared(t *testing.T) {
	doc := loadSpec(t)
	podID := map[string]bool{}
	for _, o := range operations(doc) {
		for _, ref := range append(slices.Clone(o.item.Parameters), o.op.Parameters...) {
			p := ref.Value
			where := fmt.Sprintf("%s parameter %s", o.name, p.Name)
			status := invalidAnswer(t, where, p)
			msg, hasMsg := p.Extensions["x-invalid-error"].(string)
			if (status != 0) != hasMsg || (hasMsg && msg == "") {
				t.Errorf("%s: x-invalid-status and x-invalid-error come together (got %v and %q)", where, p.Extensions["x-invalid-status"], msg)
			}
			if detail, ok := p.Extensions["x-invalid-detail"]; ok {
				if s, isString := detail.(string); !isString || s == "" {
					t.Errorf("%s: x-invalid-detail is not a sentence: %v", where, detail)
				}
			}
			if status == 0 {
				continue
			}
			if o.op.Responses.Status(status) == nil {
				t.Errorf("%s: answers %d for an invalid value, which the operation does not declare", where, status)
			}
			if p.In == openapi3.ParameterInPath && p.Name == "id" && status == 422 && msg == "invalid pod id" {
				podID[o.op.OperationID] = true
			}
		}
	}
	// The API document's answer to a malformed pod id, on both operations
	// that take one.
	for _, op := range []string{"GetPod", "RestartPod"} {
		if !podID[op] {
			t.Errorf("%s: the id parameter does not answer 422 invalid pod id", op)
		}
	}
}
