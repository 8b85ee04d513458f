package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"
	"go.uber.org/zap"
)

// APIError is an error answer with its status, the message for `error` and
// `x-error`, an optional `detail`, and optional extra body fields (the restart
// failure carries `status`, `failed_at` and `pod_id`). Handlers return it; the
// one HTTPErrorHandler renders it.
type APIError struct {
	Status  int
	Message string
	Detail  string
	Extra   map[string]string
	// RetryAfter, when positive, is sent as the Retry-After header in whole
	// seconds, rounded up.
	RetryAfter time.Duration
	// Cause is logged, never sent.
	Cause error
}

func (e *APIError) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, e.Message, e.Cause)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Message)
}

func (e *APIError) Unwrap() error { return e.Cause }

func newAPIError(status int, message string) *APIError {
	return &APIError{Status: status, Message: message}
}

func (e *APIError) withDetail(detail string) *APIError {
	e.Detail = detail
	return e
}

func (e *APIError) withCause(err error) *APIError {
	e.Cause = err
	return e
}

const (
	ctxKeyErrorID   = "aiadmin.error_id"
	ctxKeyErrorMsg  = "aiadmin.error_msg"
	ctxKeyErrCause  = "aiadmin.error_cause"
	headerXError    = "x-error"
	headerXErrorID  = "x-error-id"
	maxErrorTextLen = 300
)

// newErrorID returns a random identifier for one error answer.
func newErrorID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// sanitize makes text safe for a header and a log line: printable ASCII
// only, bounded in length. It is applied to everything that may carry
// caller input or upstream text.
func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= maxErrorTextLen {
			b.WriteString("...")
			break
		}
		if r >= 0x20 && r < 0x7f {
			b.WriteRune(r)
		} else {
			b.WriteByte('?')
		}
	}
	return b.String()
}

// errorHandler is echo's HTTPErrorHandler: the one place where every error
// answer (handler, validator, auth, router, panic) gets its body and headers.
func errorHandler(log *zap.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		ae := toAPIError(err)
		id := newErrorID()
		msg := sanitize(ae.Message)
		c.Set(ctxKeyErrorID, id)
		c.Set(ctxKeyErrorMsg, msg)
		if ae.Status >= 500 {
			c.Set(ctxKeyErrCause, err)
		}
		body := map[string]any{"error": msg}
		if ae.Detail != "" {
			body["detail"] = sanitize(ae.Detail)
		}
		for k, v := range ae.Extra {
			body[k] = v
		}
		h := c.Response().Header()
		h.Set(headerXError, msg)
		h.Set(headerXErrorID, id)
		if ae.RetryAfter > 0 {
			h.Set("Retry-After", strconv.FormatInt(int64((ae.RetryAfter+time.Second-1)/time.Second), 10))
		}
		if c.Request().Method == http.MethodHead {
			err = c.NoContent(ae.Status)
		} else {
			err = c.JSON(ae.Status, body)
		}
		if err != nil {
			log.Warn("writing error answer", zap.Error(err), zap.String("error_id", id))
		}
	}
}

// toAPIError turns any error into the answer it deserves. Messages of
// errors that are not ours are never passed through: they may quote input or
// internals.
func toAPIError(err error) *APIError {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return fromHTTPError(he)
	}
	return newAPIError(http.StatusInternalServerError, "internal server error").withCause(err)
}

func fromHTTPError(he *echo.HTTPError) *APIError {
	switch he.Code {
	case http.StatusNotFound:
		return newAPIError(he.Code, "route not found")
	case http.StatusMethodNotAllowed:
		return newAPIError(he.Code, "method not allowed")
	case http.StatusRequestEntityTooLarge:
		return newAPIError(he.Code, "request body too large").withDetail("the limit is 1 MiB")
	case http.StatusBadRequest:
		return newAPIError(he.Code, "invalid request")
	}
	if he.Code >= 500 {
		return newAPIError(http.StatusInternalServerError, "internal server error").withCause(he)
	}
	return newAPIError(he.Code, strings.ToLower(http.StatusText(he.Code)))
}

// fromRequestError describes a contract violation found by the validator in
// the schema's own words, never quoting the value that was sent.
func fromRequestError(re *openapi3filter.RequestError) *APIError {
	if re.Parameter != nil {
		p := re.Parameter
		// A parameter may declare its own answer in the spec (a malformed
		// pod id is 422 "invalid pod id", as the API document says).
		if status, message, ok := declaredInvalid(p); ok {
			return newAPIError(status, message)
		}
		detail, ok := p.Extensions["x-invalid-detail"].(string)
		if !ok {
			detail = describeSchema(p.Schema)
		}
		return newAPIError(http.StatusBadRequest, fmt.Sprintf("invalid %s parameter %s", p.In, p.Name)).
			withDetail(detail)
	}
	if re.RequestBody != nil {
		var se *openapi3.SchemaError
		if errors.As(re.Err, &se) {
			if se.SchemaField == "properties" && strings.HasSuffix(se.Reason, " is unsupported") {
				// The reason would quote the unknown key, which is input.
				return newAPIError(http.StatusBadRequest, "invalid request body").withDetail("a field the contract does not define (keys are case-sensitive)")
			}
			// kin-openapi's reasons name the schema rule, never the value.
			reason := se.Reason
			if reason != "" {
				reason = strings.ToLower(reason[:1]) + reason[1:]
			}
			field := strings.Join(se.JSONPointer(), ".")
			if field == "" {
				return newAPIError(http.StatusBadRequest, "invalid request body").withDetail(reason)
			}
			return newAPIError(http.StatusBadRequest, "invalid request body").withDetail(field + ": " + reason)
		}
		if strings.Contains(re.Reason, "Content-Type") || strings.Contains(re.Error(), "Content-Type") {
			return newAPIError(http.StatusBadRequest, "invalid request body").withDetail("the body must be application/json")
		}
		if strings.Contains(re.Error(), "value is required") {
			return newAPIError(http.StatusBadRequest, "invalid request body").withDetail("a JSON body is required")
		}
		return newAPIError(http.StatusBadRequest, "invalid request body").withDetail("the body is not a valid JSON object")
	}
	return newAPIError(http.StatusBadRequest, "invalid request")
}

// describeSchema says what a parameter must be, from its schema alone.
func describeSchema(ref *openapi3.SchemaRef) string {
	if ref == nil || ref.Value == nil {
		return "invalid value"
	}
	s := ref.Value
	switch {
	case s.Type.Is("integer") && s.Min != nil && s.Max != nil:
		return fmt.Sprintf("must be an integer from %.0f to %.0f", *s.Min, *s.Max)
	case s.Type.Is("integer"):
		return "must be an integer"
	case s.Type.Is("string") && s.Pattern != "":
		return fmt.Sprintf("must be %d to %d characters matching %s", s.MinLength, derefOr(s.MaxLength, 0), s.Pattern)
	case s.Type.Is("string") && s.MaxLength != nil:
		return fmt.Sprintf("must be %d to %d characters", s.MinLength, *s.MaxLength)
	}
	return "invalid value"
}

func derefOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// declaredInvalid reads the answer a parameter declares for a value that
// breaks its schema: the vendor extensions x-invalid-status and
// x-invalid-error.
func declaredInvalid(p *openapi3.Parameter) (status int, message string, ok bool) {
	st, hasStatus := p.Extensions["x-invalid-status"]
	msg, hasMsg := p.Extensions["x-invalid-error"]
	if !hasStatus || !hasMsg {
		return 0, "", false
	}
	m, isString := msg.(string)
	switch n := st.(type) {
	case float64:
		status = int(n)
	case int:
		status = n
	}
	if !isString || status < 400 || status > 499 {
		return 0, "", false
	}
	return status, m, true
}
