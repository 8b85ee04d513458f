// Package openapi_test checks the contract itself, before any code reads it:
// the spec is valid, every example it gives is valid against its schema, and
// the input rules of its parameters accept and refuse what they promise.
package openapi_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// specFile is the contract, relative to this package's directory, where
// `go test` runs.
const specFile = "admin.yaml"

// loadSpec loads and validates the contract. Examples are left to
// TestEveryExampleMatchesItsSchema, which names the operation, status and
// example that is wrong.
func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	data, err := os.ReadFile(specFile)
	if err != nil {
		t.Fatalf("reading the spec: %v (run the test from the module with `go test ./openapi/`)", err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatalf("loading %s: %v", specFile, err)
	}
	if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		t.Fatalf("%s is not a valid OpenAPI document: %v", specFile, err)
	}
	return doc
}

// operation is one method of one path.
type operation struct {
	name string // "GET /path (OperationId)"
	op   *openapi3.Operation
	item *openapi3.PathItem
}

// operations lists every operation of the spec in a stable order.
func operations(doc *openapi3.T) []operation {
	var out []operation
	paths := doc.Paths.Map()
	for _, path := range slices.Sorted(maps.Keys(paths)) {
		item := paths[path]
		ops := item.Operations()
		for _, method := range slices.Sorted(maps.Keys(ops)) {
			op := ops[method]
			out = append(out, operation{name: fmt.Sprintf("%s %s (%s)", method, path, op.OperationID), op: op, item: item})
		}
	}
	return out
}

// schemaReasons lists where and why a value broke its schema, one line per
// rule, without the schema and value kin-openapi's messages print in full.
func schemaReasons(err error) []string {
	var me openapi3.MultiError
	if errors.As(err, &me) {
		var out []string
		for _, e := range me {
			out = append(out, schemaReasons(e)...)
		}
		return out
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return []string{fmt.Sprintf("/%s: %s", strings.Join(se.JSONPointer(), "/"), se.Reason)}
	}
	return []string{err.Error()}
}
