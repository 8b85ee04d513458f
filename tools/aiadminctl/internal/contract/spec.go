// Package contract checks a running aiadmin deployment against the API's
// OpenAPI document: it derives its checks from the document's operations
// (so an operation added to the spec is checked without a change here),
// sends them, and validates every answer, errors included.
package contract

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// operation is one operation of the spec with what the checks need of it.
type operation struct {
	id     string
	method string
	path   string
	item   *openapi3.PathItem
	op     *openapi3.Operation
	// pathParams and queryParams are the operation's parameters, the path
	// item's included.
	pathParams  []*openapi3.Parameter
	queryParams []*openapi3.Parameter
}

// read reports whether the operation changes nothing, so the suite may
// call it against any deployment.
func (o *operation) read() bool {
	return o.method == http.MethodGet || o.method == http.MethodHead
}

// declares reports whether the spec names status for the operation; the
// default answer covers only error statuses.
func (o *operation) declares(status int) bool {
	if o.op.Responses.Status(status) != nil {
		return true
	}
	return status >= 400 && o.op.Responses.Default() != nil
}

// LoadSpec parses and validates an OpenAPI document.
func LoadSpec(ctx context.Context, doc []byte) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.Context = ctx
	spec, err := loader.LoadFromData(doc)
	if err != nil {
		return nil, fmt.Errorf("loading the spec: %w", err)
	}
	if err := spec.Validate(ctx); err != nil {
		return nil, fmt.Errorf("the spec is invalid: %w", err)
	}
	return spec, nil
}

// operations lists the spec's operations in a stable order: by path, then
// method.
func operations(spec *openapi3.T) []*operation {
	var ops []*operation
	for _, path := range spec.Paths.InMatchingOrder() {
		item := spec.Paths.Value(path)
		for method, op := range item.Operations() {
			o := &operation{id: op.OperationID, method: method, path: path, item: item, op: op}
			if o.id == "" {
				o.id = method + " " + path
			}
			params := append(append(openapi3.Parameters{}, item.Parameters...), op.Parameters...)
			for _, ref := range params {
				switch p := ref.Value; p.In {
				case openapi3.ParameterInPath:
					o.pathParams = append(o.pathParams, p)
				case openapi3.ParameterInQuery:
					o.queryParams = append(o.queryParams, p)
				}
			}
			ops = append(ops, o)
		}
	}
	slices.SortFunc(ops, func(a, b *operation) int {
		if c := strings.Compare(a.path, b.path); c != 0 {
			return c
		}
		return strings.Compare(a.method, b.method)
	})
	return ops
}

// unusedMethod is a method the path does not define, for a 405 check. GET
// comes last: GET /registry/refresh is another operation's path.
func unusedMethod(item *openapi3.PathItem) string {
	for _, m := range []string{http.MethodDelete, http.MethodPut, http.MethodPatch, http.MethodPost, http.MethodGet} {
		if item.GetOperation(m) == nil {
			return m
		}
	}
	return ""
}

// apiPrefix is the longest path prefix every operation shares, such as
// /api/ai/v1/admin; request labels leave it out.
func apiPrefix(ops []*operation) string {
	if len(ops) == 0 {
		return ""
	}
	prefix := strings.Split(ops[0].path, "/")
	for _, o := range ops[1:] {
		segs := strings.Split(o.path, "/")
		n := 0
		for n < len(prefix) && n < len(segs) && prefix[n] == segs[n] && !strings.HasPrefix(segs[n], "{") {
			n++
		}
		prefix = prefix[:n]
	}
	if len(ops) == 1 && len(prefix) > 0 {
		prefix = prefix[:len(prefix)-1]
	}
	return strings.Join(prefix, "/")
}
