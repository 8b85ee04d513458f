package aiadmin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/threatwinds/aiadmin/gen/adminclient"
)

// maxBody bounds what the SDK reads of one answer. The largest page, 100
// pods, is far below it.
const maxBody = 32 << 20

// maxRetryTime bounds the whole of a retried read, whatever the context.
const maxRetryTime = 2 * time.Minute

// send is one generated-client call with the context of one attempt.
type send func(ctx context.Context, editors ...adminclient.RequestEditorFn) (*http.Response, error)

// read performs an operation that changes nothing, so it may be sent again:
// on a 503 or a connection error it is retried with exponential backoff (or
// after the server's Retry-After), at most c.attempts times in all, never
// past ctx or maxRetryTime.
func read[T any](ctx context.Context, c *Client, op string, fn send) (*T, error) {
	var last error
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = c.firstWait
	b.MaxInterval = 10 * time.Second
	v, err := backoff.Retry(ctx, func() (*T, error) {
		v, err := exchange[T](ctx, c, op, fn)
		if err == nil {
			return v, nil
		}
		last = err
		wait, ok := retryable(ctx, err)
		if !ok {
			return nil, backoff.Permanent(err)
		}
		if wait > 0 {
			return nil, &retryAfter{err: err, after: &backoff.RetryAfterError{Duration: wait}}
		}
		return nil, err
	}, backoff.WithBackOff(b), backoff.WithMaxTries(c.attempts), backoff.WithMaxElapsedTime(maxRetryTime))
	if err == nil {
		return v, nil
	}
	var ra *retryAfter
	if errors.As(err, &ra) {
		return nil, ra.err
	}
	if last != nil && !errors.Is(err, last) {
		// The context ended while waiting to retry: say so, and keep the
		// answer that caused the wait for errors.As.
		return nil, fmt.Errorf("aiadmin: %s: stopped retrying: %w (last error: %w)", op, err, last)
	}
	return nil, err
}

// write performs an operation that changes state. It is sent once: a
// restart or a clear repeated after a lost answer could act twice.
func write[T any](ctx context.Context, c *Client, op string, fn send) (*T, error) {
	return exchange[T](ctx, c, op, fn)
}

// retryAfter carries an error that may pass together with the wait the
// server asked for, which backoff.Retry reads with errors.As.
type retryAfter struct {
	err   error
	after *backoff.RetryAfterError
}

func (r *retryAfter) Error() string   { return r.err.Error() }
func (r *retryAfter) Unwrap() []error { return []error{r.err, r.after} }

// retryable says whether a failed read may succeed if sent again, and after
// how long the server asked to wait (0: no preference). Only a 503 and a
// connection error qualify; a timeout of the attempt does not, since the
// server may still be working on it and the wait would only grow.
func retryable(ctx context.Context, err error) (time.Duration, bool) {
	if ctx.Err() != nil || errors.Is(err, ErrBadResponse) {
		return 0, false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		if ae.Status != http.StatusServiceUnavailable || ae.retryAfter > maxRetryAfter {
			return 0, false
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < ae.retryAfter {
			return 0, false
		}
		return ae.retryAfter, true
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return 0, false
	}
	return 0, true
}

// exchange sends one request and reads its answer: a 2xx body decoded into
// T, anything else as an *APIError.
func exchange[T any](ctx context.Context, c *Client, op string, fn send) (*T, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := fn(actx)
	if err != nil {
		return nil, fmt.Errorf("aiadmin: %s: %w", op, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("aiadmin: %s: reading the answer: %w", op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, newAPIError(op, resp, body)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("aiadmin: %s: %w: the answer is over %d bytes", op, ErrBadResponse, maxBody)
	}
	v := new(T)
	if err := json.Unmarshal(body, v); err != nil {
		return nil, fmt.Errorf("aiadmin: %s: %w: %v", op, ErrBadResponse, err)
	}
	return v, nil
}
