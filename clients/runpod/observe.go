package runpod

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"time"
)

// Operations, the Operation of a Call: one per method of the Client.
const (
	OpListPods     = "list_pods"
	OpGetPod       = "get_pod"
	OpStopPod      = "stop_pod"
	OpResumePod    = "resume_pod"
	OpBidResumePod = "bid_resume_pod"
)

// Outcomes of a call, as Outcome names them.
const (
	// OutcomeOK is a usable answer.
	OutcomeOK = "ok"
	// OutcomeNotFound is an answer that RunPod knows no such pod.
	OutcomeNotFound = "not_found"
	// OutcomeThrottled is a 429 (after the retries, for a read).
	OutcomeThrottled = "throttled"
	// OutcomeServerError is a 5xx (after the retries, for a read).
	OutcomeServerError = "server_error"
	// OutcomeHTTPError is any other status than 200 (a 401 for a wrong key).
	OutcomeHTTPError = "http_error"
	// OutcomeRefused is a GraphQL error: RunPod refused the operation.
	OutcomeRefused = "refused"
	// OutcomeTimeout is no answer within the timeout or the caller's
	// deadline.
	OutcomeTimeout = "timeout"
	// OutcomeCanceled is a caller that gave up first.
	OutcomeCanceled = "canceled"
	// OutcomeUnreachable is a connection that failed (refused, reset, DNS).
	OutcomeUnreachable = "unreachable"
	// OutcomeBadAnswer is an answer that is not the expected JSON.
	OutcomeBadAnswer = "bad_answer"
)

// Call describes one finished call of the Client, retries included, for
// metrics: Options.Observe receives one per call.
type Call struct {
	Operation string
	Outcome   string
	Duration  time.Duration
}

// Outcome names how a call that returned err ended: one of the Outcome
// constants.
func Outcome(err error) string {
	var status *StatusError
	var ne net.Error
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, ErrPodNotFound):
		return OutcomeNotFound
	case errors.As(err, &status) && status.Code == http.StatusTooManyRequests:
		return OutcomeThrottled
	case status != nil && status.Code >= 500:
		return OutcomeServerError
	case status != nil:
		return OutcomeHTTPError
	case errors.Is(err, ErrRefused):
		return OutcomeRefused
	case errors.Is(err, context.Canceled):
		return OutcomeCanceled
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return OutcomeTimeout
	case ne != nil:
		return OutcomeUnreachable
	}
	return OutcomeBadAnswer
}

// observe reports a call that started at start and returned *err; methods
// defer it once their arguments are checked, so a call refused before
// anything is sent is not one.
func (c *Client) observe(op string, start time.Time, err *error) {
	if c.onCall != nil {
		c.onCall(Call{Operation: op, Outcome: Outcome(*err), Duration: time.Since(start)})
	}
}
