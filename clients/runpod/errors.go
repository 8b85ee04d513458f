package runpod

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// ErrRefused marks an answer in which RunPod refused the operation with a
// GraphQL error (a pod that cannot be resumed, a bid too low, ...).
var ErrRefused = errors.New("runpod refused the operation")

// StatusError is an answer with an HTTP status other than 200; the failure
// of a call wraps it, so callers can say "RunPod answered 429" without
// quoting the client's message.
type StatusError struct {
	Code int
}

func (e *StatusError) Error() string { return "http " + strconv.Itoa(e.Code) }

// upstreamError is a failure to get a usable answer. Its message is built by
// the client alone, so it never holds request headers or the API key; it
// matches ErrUpstream and, when there is one, the underlying cause (a context
// error, say).
type upstreamError struct {
	msg   string
	cause error
}

func (e *upstreamError) Error() string { return e.msg }

func (e *upstreamError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrUpstream}
	}
	return []error{ErrUpstream, e.cause}
}

// graphqlError is one entry of a GraphQL answer's "errors".
type graphqlError struct {
	Message string `json:"message"`
}

// graphqlErrorText returns the messages of a GraphQL error answer, or "" when
// data is not one; non-200 answers often carry them.
func graphqlErrorText(data []byte) string {
	var answer struct {
		Errors []graphqlError `json:"errors"`
	}
	if json.Unmarshal(data, &answer) != nil || len(answer.Errors) == 0 {
		return ""
	}
	return joinErrors(answer.Errors)
}

// joinErrors quotes the first message, bounded and cleaned of control
// characters, and counts the others.
func joinErrors(errs []graphqlError) string {
	msg := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, errs[0].Message)
	if r := []rune(msg); len(r) > maxUpstreamText {
		msg = string(r[:maxUpstreamText]) + "…"
	}
	if msg == "" {
		msg = "(no message)"
	}
	if len(errs) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(errs)-1)
	}
	return msg
}

// transportText describes a transport error without the request URL that
// *url.Error adds.
func transportText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// failure builds the error for an operation: "runpod: <what>: <detail>".
func (c *Client) failure(what, detail string, cause error) error {
	return &upstreamError{msg: c.redact("runpod: " + what + ": " + detail), cause: cause}
}

// redact removes the API key from text that may quote upstream answers or
// caller input, should either ever hold it.
func (c *Client) redact(s string) string {
	if c.key == "" {
		return s
	}
	return strings.ReplaceAll(s, c.key, "[redacted]")
}
