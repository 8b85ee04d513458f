package httpapi

import (
	"errors"
	"net/url"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
)

// The spec names two string formats whose rules a pattern cannot state
// readably: "model-id" and "backend-url". They are defined here once, for
// the validator, which checks them at the edge with the rest of the spec's
// rules (lengths, patterns); nothing else restates them. They make hostile
// text (control characters, invalid UTF-8, path traversal, a second layer of
// percent-encoding) a 400 instead of an opaque key that reaches the store and
// is echoed back.
var defineFormats = sync.OnceFunc(func() {
	openapi3.DefineStringFormatCallback("model-id", checkModelID)
	openapi3.DefineStringFormatCallback("backend-url", checkBackendURL)
})

var (
	errModelID = errors.New("must be printable characters without spaces, percent signs, backslashes or empty, . or .. segments")
	errBackend = errors.New("must be an absolute http or https URL of printable characters, without user info, percent signs, backslashes or . or .. segments")
)

// checkModelID accepts printable text without spaces (no control
// characters, no line or paragraph separators), no "", "." or ".." segment
// between slashes, no backslash, and no percent sign: the validator has
// already decoded the path once, so a percent sign left means the id was
// encoded twice.
func checkModelID(id string) error {
	if !printableNoSpace(id) || strings.ContainsAny(id, `%\`) {
		return errModelID
	}
	for seg := range strings.SplitSeq(id, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return errModelID
		}
	}
	return nil
}

// checkBackendURL accepts an absolute http or https URL with a host, of
// printable text without spaces, without user info (a credential has no
// business in a path parameter), a percent sign (double encoding), a
// backslash, or a "." or ".." path segment.
func checkBackendURL(u string) error {
	if !printableNoSpace(u) || strings.ContainsAny(u, `%\`) {
		return errBackend
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.User != nil || p.Opaque != "" {
		return errBackend
	}
	for seg := range strings.SplitSeq(p.Path, "/") {
		if seg == "." || seg == ".." {
			return errBackend
		}
	}
	return nil
}

// printableNoSpace reports whether s is valid UTF-8 made only of printable,
// non-space characters.
func printableNoSpace(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r == ' ' || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
