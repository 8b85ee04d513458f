// Package contracttest checks HTTP answers of a running aiadmin against its
// OpenAPI contract. It is a test-support package: an http.RoundTripper that
// validates every response it carries, for use under the generated client.
package contracttest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/threatwinds/aiadmin/gen/adminapi"
)

// Spec loads the embedded contract and checks that it is a valid document.
func Spec(tb testing.TB) *openapi3.T {
	tb.Helper()
	spec, err := adminapi.GetSpec()
	if err != nil {
		tb.Fatalf("loading the embedded spec: %v", err)
	}
	if err := spec.Validate(context.Background()); err != nil {
		tb.Fatalf("the spec is invalid: %v", err)
	}
	spec.Servers = nil
	return spec
}

// FindRoute matches a request to the operation it addresses, preferring
// literal path segments over parameters, as the server's router does.
func FindRoute(spec *openapi3.T, method, rawPath string) (*routers.Route, map[string]string, error) {
	segs := strings.Split(strings.TrimPrefix(rawPath, "/"), "/")
	var best *routers.Route
	var bestParams map[string]string
	bestScore := -1
	for path, item := range spec.Paths.Map() {
		op := item.GetOperation(method)
		if op == nil {
			continue
		}
		tsegs := strings.Split(strings.TrimPrefix(path, "/"), "/")
		if len(tsegs) != len(segs) {
			continue
		}
		score, params, ok := 0, map[string]string{}, true
		for i, t := range tsegs {
			if strings.HasPrefix(t, "{") {
				v, err := url.PathUnescape(segs[i])
				if err != nil {
					v = segs[i]
				}
				params[strings.Trim(t, "{}")] = v
				continue
			}
			if t != segs[i] {
				ok = false
				break
			}
			score++
		}
		if ok && score > bestScore {
			best = &routers.Route{Spec: spec, Path: path, PathItem: item, Method: method, Operation: op}
			bestParams, bestScore = params, score
		}
	}
	if best == nil {
		return nil, nil, fmt.Errorf("no operation for %s %s", method, rawPath)
	}
	return best, bestParams, nil
}

// Result is one validated exchange.
type Result struct {
	Method string
	Path   string
	Status int
	Err    error
}

// Transport validates every response to an admin operation against the
// contract and records the outcome. Responses to paths outside the contract
// are recorded with Err set.
type Transport struct {
	Spec *openapi3.T
	Base http.RoundTripper

	mu      sync.Mutex
	results []Result
}

// RoundTrip sends the request and validates its response.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	r := Result{Method: req.Method, Path: req.URL.EscapedPath(), Status: resp.StatusCode}
	r.Err = Validate(t.Spec, req, resp.StatusCode, resp.Header, body)
	t.mu.Lock()
	t.results = append(t.results, r)
	t.mu.Unlock()
	return resp, nil
}

// Results returns every exchange seen so far.
func (t *Transport) Results() []Result {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Result(nil), t.results...)
}

// Validate checks one response against the contract: its status is
// declared, its body matches the schema, and an error answer carries both
// error headers and the error fields.
func Validate(spec *openapi3.T, req *http.Request, status int, header http.Header, body []byte) error {
	route, params, err := FindRoute(spec, req.Method, req.URL.EscapedPath())
	if err != nil {
		// Outside the contract (unknown routes, wrong methods, /healthz):
		// only the error format applies.
		if status < 400 {
			return nil
		}
		return checkErrorFormat(req, status, header, body)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s %s -> %d: %w", req.Method, req.URL.EscapedPath(), status, err)
	}
	if status >= 400 {
		return checkErrorFormat(req, status, header, body)
	}
	return nil
}

// checkErrorFormat checks the documented error format: both headers, a JSON
// body with a string error equal to x-error.
func checkErrorFormat(req *http.Request, status int, header http.Header, body []byte) error {
	where := fmt.Sprintf("%s %s -> %d", req.Method, req.URL.EscapedPath(), status)
	if header.Get("x-error") == "" || header.Get("x-error-id") == "" {
		return fmt.Errorf("%s: error answer without x-error or x-error-id", where)
	}
	if req.Method == http.MethodHead {
		return nil
	}
	var e struct {
		Error *string `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error == nil {
		return fmt.Errorf("%s: error answer is not {\"error\": ...}: %q", where, body)
	}
	if *e.Error != header.Get("x-error") {
		return fmt.Errorf("%s: x-error %q differs from the body's error %q", where, header.Get("x-error"), *e.Error)
	}
	return nil
}
