package server

import (
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Rules for path parameters that the spec's schemas cannot state. They make
// hostile text (control characters, invalid UTF-8, path traversal, a second
// layer of percent-encoding) a 400 instead of an opaque key that reaches the
// store and is echoed back.

// maxModelIDLen is the spec's maxLength of {modelId}, in bytes.
const maxModelIDLen = 256

// maxPodURLLen is the spec's maxLength of {podUrl}, in bytes.
const maxPodURLLen = 2048

// validModelID reports whether id can be a model id: 1 to 256 bytes of
// valid UTF-8, printable and without spaces (no control characters, no line
// or paragraph separators), no "", "." or ".." segment between slashes, no
// backslash, and no percent sign: the validator has already decoded the path
// once, so a percent sign left means the id was encoded twice.
func validModelID(id string) bool {
	if id == "" || len(id) > maxModelIDLen || !printableNoSpace(id) {
		return false
	}
	if strings.ContainsAny(id, `%\`) {
		return false
	}
	for seg := range strings.SplitSeq(id, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// validPodURL reports whether u can be a backend URL: at most 2048 bytes of
// printable UTF-8 without spaces, an absolute http or https URL with a host,
// without user info (a credential has no business in a path parameter), a
// percent sign (double encoding), a backslash, or a "." or ".." path segment.
func validPodURL(u string) bool {
	if u == "" || len(u) > maxPodURLLen || !printableNoSpace(u) || strings.ContainsAny(u, `%\`) {
		return false
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.User != nil || p.Opaque != "" {
		return false
	}
	for seg := range strings.SplitSeq(p.Path, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
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

// invalidModelID is the answer to a model id validModelID refuses.
func invalidModelID() *APIError {
	return newAPIError(http.StatusBadRequest, "invalid path parameter modelId").
		withDetail("must be 1 to 256 printable characters, without spaces, percent signs, backslashes or empty, . or .. segments")
}

// invalidPodURL is the answer to a backend URL validPodURL refuses.
func invalidPodURL() *APIError {
	return newAPIError(http.StatusBadRequest, "invalid path parameter podUrl").
		withDetail("must be an absolute http or https URL of printable characters, without user info, percent signs, backslashes or . or .. segments")
}
