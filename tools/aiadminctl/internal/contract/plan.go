package contract

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// credentials say which credentials a check sends.
type credentials int

const (
	validCredentials credentials = iota
	noCredentials
	wrongToken
	wrongKeyPair
	halfKeyPair
	tokenAndKeyPair
)

// label names a credential variant in a request's label.
func (c credentials) label() string {
	return [...]string{"", "no credentials", "wrong token", "wrong key pair", "half a key pair", "token and key pair"}[c]
}

// check is one request and what its answer must be.
type check struct {
	// op is the operation addressed; nil for a path outside the spec.
	op    *operation
	label string
	// method, path (escaped, with the prefix) and raw query of the request.
	method, path, query string
	creds               credentials
	body                []byte
	contentType         string
	note                string
	// want lists the statuses that pass; empty means any the spec declares.
	want []int
	// harvest says to collect values from the answer for later checks.
	harvest bool
}

// invented values for parameters nothing discovered, and for writes.
const (
	inventedValue = "contract0probe"
	missingID     = "contract0missing"
	badID         = "bad-id!"
)

// fill substitutes path parameters into the operation's path, taking each
// value from values or else inventing one.
func (o *operation) fill(values map[string]string) string {
	path := o.path
	for _, p := range o.pathParams {
		v, ok := values[p.Name]
		if !ok {
			v = inventedValue
		}
		path = strings.ReplaceAll(path, "{"+p.Name+"}", url.PathEscape(v))
	}
	return path
}

// readChecks are the checks of one read operation: the plain call, then
// malformed requests derived from its parameters, then credentials.
func readChecks(o *operation, values map[string]string, discovered bool) []*check {
	path := o.fill(values)
	base := &check{op: o, method: o.method, path: path, want: []int{http.StatusOK}}
	if len(o.pathParams) == 0 {
		base.harvest = true
	}
	if !discovered {
		// A parameter nothing listed: any answer the spec declares passes.
		base.want, base.note = nil, "invented "+paramNames(o)
	}
	checks := []*check{base}
	for _, p := range o.queryParams {
		checks = append(checks, queryChecks(o, path, p)...)
	}
	for _, p := range o.pathParams {
		checks = append(checks, pathChecks(o, values, p)...)
	}
	for _, c := range []credentials{noCredentials, wrongToken, wrongKeyPair, halfKeyPair, tokenAndKeyPair} {
		checks = append(checks, &check{op: o, method: o.method, path: path, creds: c, want: []int{http.StatusUnauthorized}})
	}
	return checks
}

func paramNames(o *operation) string {
	names := make([]string, 0, len(o.pathParams))
	for _, p := range o.pathParams {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

// queryChecks send values of an integer query parameter at and beyond its
// bounds, a value that is not an integer, and the parameter twice.
func queryChecks(o *operation, path string, p *openapi3.Parameter) []*check {
	q := func(v ...string) string {
		vals := url.Values{p.Name: v}
		return vals.Encode()
	}
	bad := func(query, note string) *check {
		return &check{op: o, method: o.method, path: path, query: query, note: note, want: []int{http.StatusBadRequest}}
	}
	checks := []*check{bad(q("1", "1"), "given twice")}
	s := p.Schema.Value
	if s == nil || !s.Type.Is(openapi3.TypeInteger) {
		return checks
	}
	checks = append(checks, bad(q("abc"), "not an integer"))
	if s.Min != nil {
		checks = append(checks, bad(q(fmt.Sprint(int64(*s.Min)-1)), "below the minimum"))
	}
	if s.Max != nil {
		checks = append(checks,
			bad(q(fmt.Sprint(int64(*s.Max)+1)), "above the maximum"),
			&check{op: o, method: o.method, path: path, query: q(fmt.Sprint(int64(*s.Max))), note: "the maximum", want: []int{http.StatusOK}})
	}
	return checks
}

// pathChecks send a path parameter its schema forbids, and, where the
// operation declares 404, a well-formed value that names nothing.
func pathChecks(o *operation, values map[string]string, p *openapi3.Parameter) []*check {
	with := func(v string) string {
		vals := map[string]string{}
		for k, x := range values {
			vals[k] = x
		}
		vals[p.Name] = v
		return o.fill(vals)
	}
	var checks []*check
	if v, want := invalidValue(o, p.Schema.Value); v != "" {
		// A parameter may declare its own answer to a value its schema
		// refuses (the pod id's 422).
		if st, ok := p.Extensions["x-invalid-status"].(float64); ok && o.op.Responses.Status(int(st)) != nil {
			want = []int{int(st)}
		}
		checks = append(checks, &check{op: o, method: o.method, path: with(v), note: "invalid " + p.Name, want: want})
	}
	if o.op.Responses.Status(http.StatusNotFound) != nil {
		checks = append(checks, &check{op: o, method: o.method, path: with(missingID), note: "unknown " + p.Name, want: []int{http.StatusNotFound}})
	}
	return checks
}

// invalidValue is a value the parameter's schema refuses, with the
// statuses that may refuse it: too long, or not matching its pattern. A
// parameter without such rules gets a value with punctuation, which the
// operations that declare 422 refuse with it.
func invalidValue(o *operation, s *openapi3.Schema) (string, []int) {
	if s != nil && s.MaxLength != nil && *s.MaxLength < 4096 {
		return strings.Repeat("a", int(*s.MaxLength)+1), []int{http.StatusBadRequest}
	}
	if s != nil && s.Pattern != "" {
		if re, err := regexp.Compile(s.Pattern); err == nil && !re.MatchString("contract-invalid") {
			return "contract-invalid", []int{http.StatusBadRequest}
		}
	}
	if o.op.Responses.Status(http.StatusUnprocessableEntity) == nil {
		return "", nil
	}
	want := []int{http.StatusUnprocessableEntity}
	if o.op.Responses.Status(http.StatusBadRequest) != nil {
		want = append(want, http.StatusBadRequest)
	}
	return badID, want
}

// writeChecks are the checks of a write operation the user allowed: the
// call with a body built from its schema, credentials refused, and, for a
// JSON body, an unknown field and a wrong content type.
func writeChecks(o *operation, values map[string]string, invent func() string, want int) []*check {
	path := o.fill(values)
	var body []byte
	var ct string
	if rb := o.op.RequestBody; rb != nil && rb.Value != nil {
		if mt := rb.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
			body, _ = json.Marshal(example(mt.Schema.Value, invent))
			ct = "application/json"
		}
	}
	checks := []*check{
		{op: o, method: o.method, path: path, body: body, contentType: ct, want: []int{want}},
		{op: o, method: o.method, path: path, body: body, contentType: ct, creds: noCredentials, want: []int{http.StatusUnauthorized}},
	}
	if ct != "" {
		checks = append(checks,
			&check{op: o, method: o.method, path: path, body: []byte(`{"contract_unknown_field":1}`), contentType: ct, note: "unknown field", want: []int{http.StatusBadRequest}},
			&check{op: o, method: o.method, path: path, body: body, contentType: "text/plain", note: "text/plain body", want: []int{http.StatusBadRequest}})
	}
	return checks
}

// example builds a minimal value of a schema: the required properties of an
// object, each string an invented value.
func example(s *openapi3.Schema, invent func() string) any {
	if s == nil {
		return nil
	}
	switch {
	case s.Type.Is(openapi3.TypeObject):
		obj := map[string]any{}
		for _, name := range s.Required {
			if ref := s.Properties[name]; ref != nil {
				obj[name] = example(ref.Value, invent)
			}
		}
		return obj
	case s.Type.Is(openapi3.TypeString):
		if len(s.Enum) > 0 {
			return s.Enum[0]
		}
		return invent()
	case s.Type.Is(openapi3.TypeInteger), s.Type.Is(openapi3.TypeNumber):
		if s.Min != nil {
			return *s.Min
		}
		return 1
	case s.Type.Is(openapi3.TypeBoolean):
		return false
	case s.Type.Is(openapi3.TypeArray):
		return []any{}
	}
	return nil
}

// harvestKeys are the JSON properties whose values may fill a path
// parameter: the parameter's own name, its snake_case form, and the
// properties that hold such values in this API's lists.
func harvestKeys(param string) []string {
	keys := []string{param, snakeCase(param)}
	switch param {
	case "modelId":
		keys = append(keys, "models")
	case "podUrl":
		keys = append(keys, "url")
	}
	return keys
}

func snakeCase(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
