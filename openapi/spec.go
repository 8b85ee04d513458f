// Package openapi holds the admin API's contract, embedded so that programs
// such as the contract checker validate against the very document they were
// built with.
package openapi

import _ "embed"

//go:embed admin.yaml
var adminYAML []byte

// AdminYAML returns the contract, openapi/admin.yaml, as built into the
// program. The slice is a copy: callers may change it.
func AdminYAML() []byte {
	return append([]byte(nil), adminYAML...)
}
