package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// validate checks one answer: the status the check wants, a status the
// operation declares, the error format on errors, and the body and headers
// against the operation's response. It returns "" when all hold, or what
// is wrong, naming the JSON path or header at fault and what the spec
// expected.
func validate(spec *openapi3.T, c *check, req *http.Request, status int, header http.Header, body []byte) string {
	if len(c.want) > 0 && !slices.Contains(c.want, status) {
		return fmt.Sprintf("status %d, want %s%s", status, statuses(c.want), said(body))
	}
	if c.op != nil && !c.op.declares(status) {
		return fmt.Sprintf("status %d is not declared for %s%s", status, c.op.id, said(body))
	}
	if status >= 400 {
		if failure := errorFormat(header, body); failure != "" {
			return failure
		}
	}
	if c.op == nil {
		return ""
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req,
			Route:   &routers.Route{Spec: spec, Path: c.op.path, PathItem: c.op.item, Method: c.op.method, Operation: c.op.op},
		},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return describe(err)
	}
	return ""
}

// errorFormat checks what the spec requires of every error answer: the
// x-error and x-error-id headers, and a body {"error": ...} whose error is
// x-error.
func errorFormat(header http.Header, body []byte) string {
	for _, h := range []string{"x-error", "x-error-id"} {
		if header.Get(h) == "" {
			return fmt.Sprintf("header %s: missing; the spec requires it on every error answer", h)
		}
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return "body: not a JSON object; the spec requires {\"error\": string, \"detail\": string}"
	}
	msg, ok := doc["error"].(string)
	if !ok {
		return fmt.Sprintf("$.error: %s; the spec requires a string", jsonType(doc["error"]))
	}
	if msg != header.Get("x-error") {
		return "header x-error: differs from $.error; the spec requires the same message"
	}
	return ""
}

// describe turns a validation error into one line: the JSON path of the
// offending value and what the spec expected of it.
func describe(err error) string {
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		path := jsonPath(se.JSONPointer())
		switch se.SchemaField {
		case "type":
			return fmt.Sprintf("%s: the spec expects %s, got %s", path, strings.Join(se.Schema.Type.Slice(), " or "), jsonType(se.Value))
		case "required":
			return fmt.Sprintf("%s: missing; the spec requires it", path)
		case "enum":
			return fmt.Sprintf("%s: the spec expects one of %v", path, se.Schema.Enum)
		case "":
			return fmt.Sprintf("%s: %s", path, se.Reason)
		}
		return fmt.Sprintf("%s: %s (spec: %s)", path, se.Reason, se.SchemaField)
	}
	var re *openapi3filter.ResponseError
	if errors.As(err, &re) {
		return re.Reason
	}
	return oneLine(err.Error())
}

// jsonPath writes a JSON pointer's segments as a path: $.pods[0].id.
func jsonPath(segments []string) string {
	var b strings.Builder
	b.WriteString("$")
	for _, s := range segments {
		if _, err := strconv.Atoi(s); err == nil {
			b.WriteString("[" + s + "]")
			continue
		}
		b.WriteString("." + s)
	}
	return b.String()
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, json.Number, int64, int:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// said quotes the error message of an error answer, so an unexpected
// status shows why the server gave it.
func said(body []byte) string {
	var doc struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &doc) != nil || doc.Error == "" {
		return ""
	}
	msg := oneLine(doc.Error)
	if len(msg) > 120 {
		msg = msg[:120] + "…"
	}
	return fmt.Sprintf(" (server: %q)", msg)
}

func statuses(want []int) string {
	s := make([]string, len(want))
	for i, w := range want {
		s[i] = strconv.Itoa(w)
	}
	return strings.Join(s, " or ")
}

// oneLine keeps a message on one line, without control characters.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r < 0x20 || r == ' ' || r == 0x7f }), " ")
}

// harvest collects, from a list's answer, every string value and every
// string in an array, by property name, for later checks' path values.
func (r *runner) harvest(source string, body []byte) {
	var doc any
	if json.Unmarshal(body, &doc) != nil {
		return
	}
	into := r.harvested[source]
	if into == nil {
		into = map[string][]string{}
		r.harvested[source] = into
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				switch x := v[k].(type) {
				case string:
					if x != "" {
						into[k] = append(into[k], x)
					}
				case []any:
					for _, e := range x {
						if s, ok := e.(string); ok && s != "" {
							into[k] = append(into[k], s)
						}
					}
				}
				walk(v[k])
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(doc)
}
