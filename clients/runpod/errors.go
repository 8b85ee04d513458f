package runpod

import (
	"errors"
	"strconv"
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
