package aiadmin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// ErrBadResponse marks a successful answer whose body the SDK could not
// read as the contract's JSON: the server, or something in front of it, is
// at fault, not the request.
var ErrBadResponse = errors.New("answer does not match the API contract")

// APIError is every answer outside 2xx. Its fields come from the documented
// error format: the body's error and detail and the x-error-id header, which
// names the answer in the server's log.
type APIError struct {
	// Operation is the operation that was refused, such as "GetPod".
	Operation string
	// Status is the HTTP status code.
	Status int
	// Message is the body's error (or, for an answer not in the API's error
	// format, such as a proxy's page, the status text).
	Message string
	// Detail is the body's detail, often saying how to fix the request;
	// empty if the server gave none.
	Detail string
	// ErrorID is the x-error-id header; quote it when asking the operators.
	ErrorID string
	// FailedAt is the restart phase RunPod failed ("stop" or "resume"),
	// only for a 502 answer to RestartPod; empty otherwise.
	FailedAt string

	// retryAfter is what a 503 answer's Retry-After asked for; 0 if absent.
	retryAfter time.Duration
}

// Error gives the status, message, detail and error id on one line.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "aiadmin: %s: %d %s", e.Operation, e.Status, e.Message)
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if e.FailedAt != "" {
		b.WriteString(" (failed at " + e.FailedAt + ")")
	}
	if e.ErrorID != "" {
		b.WriteString(" (error id " + e.ErrorID + ")")
	}
	return b.String()
}

// IsNotFound reports whether err is a 404 answer: an unknown pod, or a pod
// outside the fleet.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsUnauthorized reports whether err is a 401 answer: missing, malformed or
// wrong credentials.
func IsUnauthorized(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

// IsForbidden reports whether err is a 403 answer: valid credentials without
// the ai_admin role.
func IsForbidden(err error) bool { return hasStatus(err, http.StatusForbidden) }

// IsUnavailable reports whether err is a 503 answer: a backing service
// (Valkey, the Auth API, RunPod's configuration) is down, which may pass.
func IsUnavailable(err error) bool { return hasStatus(err, http.StatusServiceUnavailable) }

func hasStatus(err error, status int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == status
}

// maxErrorText bounds the message and detail kept from an answer, which may
// be a proxy's page rather than the API's format.
const maxErrorText = 512

// newAPIError reads an answer outside 2xx. A body in the documented format
// gives message and detail; anything else gives the status text and at most
// a line of the body as detail, stripped of control characters so that a
// hostile answer cannot forge lines of a terminal or a log.
func newAPIError(op string, resp *http.Response, body []byte) *APIError {
	e := &APIError{
		Operation: op,
		Status:    resp.StatusCode,
		ErrorID:   clean(resp.Header.Get("x-error-id")),
	}
	var doc struct {
		Error    string `json:"error"`
		Detail   string `json:"detail"`
		FailedAt string `json:"failed_at"`
	}
	if json.Unmarshal(body, &doc) == nil && doc.Error != "" {
		e.Message, e.Detail, e.FailedAt = clean(doc.Error), clean(doc.Detail), clean(doc.FailedAt)
	} else {
		e.Message = clean(resp.Header.Get("x-error"))
		if e.Message == "" {
			e.Message = strings.ToLower(http.StatusText(resp.StatusCode))
		}
		if e.Message == "" {
			e.Message = "unexpected status"
		}
		line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
		e.Detail = clean(line)
	}
	if resp.StatusCode == http.StatusServiceUnavailable {
		e.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return e
}

// clean drops control characters and bounds the length.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, s)
	if len(s) > maxErrorText {
		s = strings.ToValidUTF8(s[:maxErrorText], "") + "…"
	}
	return s
}

// parseRetryAfter reads a Retry-After of delay seconds or an HTTP date;
// anything else, or a time in the past, is 0 (no preference).
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		// Clamped before converting, so a huge value cannot overflow; a
		// wait over maxRetryAfter is refused by the caller anyway.
		return time.Duration(max(0, min(secs, 3600))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
