// Package runpod is a typed client for RunPod's GraphQL API: it lists, reads,
// stops and resumes the account's pods. Every call is bounded by a timeout,
// reads are retried a few times on throttling and server errors, mutations
// never are, and RunPod's free-form timestamps come back as RFC 3339 in UTC.
package runpod

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Defaults for the zero values of Options.
const (
	DefaultURL        = "https://api.runpod.io/graphql"
	DefaultTimeout    = 10 * time.Second
	DefaultMaxRetries = 2
	DefaultBackoff    = 100 * time.Millisecond
)

const (
	// maxBackoff caps one wait between attempts.
	maxBackoff = 2 * time.Second
	// maxAnswerBytes bounds what is read of one answer; a whole account's
	// pods fit in far less.
	maxAnswerBytes = 8 << 20
	// maxUpstreamText bounds how much of an upstream error message is quoted.
	maxUpstreamText = 300
)

var (
	// ErrUpstream marks every failure to get a usable answer from RunPod: a
	// transport error or timeout, a non-200 status, a GraphQL error, or an
	// answer that is not the expected JSON.
	ErrUpstream = errors.New("runpod upstream failure")
	// ErrPodNotFound means RunPod knows no pod with the id asked for.
	ErrPodNotFound = errors.New("pod not found")
)

// Options configure a Client. Zero values take the defaults above.
type Options struct {
	// URL is the GraphQL endpoint.
	URL string
	// APIKey is sent as a bearer token, never in the URL.
	APIKey string
	// Timeout bounds one call, retries and waits between them included.
	Timeout time.Duration
	// HTTPClient sends the requests; nil means a client of its own.
	HTTPClient *http.Client
	// MaxRetries is how many times a read is tried again after a 429 or a
	// 5xx; 0 means DefaultMaxRetries, negative means none.
	MaxRetries int
	// Backoff is the base wait before the first retry; it doubles for each
	// further one, with jitter, up to 2 s.
	Backoff time.Duration
	// Observe, when set, is told of every finished call (for metrics); it
	// must be quick and safe for concurrent use.
	Observe func(Call)
}

// Client calls RunPod's GraphQL API. It is safe for concurrent use.
type Client struct {
	url        string
	key        string
	timeout    time.Duration
	hc         *http.Client
	maxRetries int
	backoff    time.Duration
	onCall     func(Call)
	times      timeMemo
}

// New builds a Client from opts, filling in defaults. It fails when the API
// key is missing or the URL is not an absolute http(s) URL.
func New(opts Options) (*Client, error) {
	if opts.APIKey == "" {
		return nil, errors.New("runpod: an api key is required")
	}
	if opts.URL == "" {
		opts.URL = DefaultURL
	}
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("runpod: the url must be an absolute http or https url")
	}
	if u.User != nil || u.RawQuery != "" {
		// Credentials belong in the Authorization header, where they stay
		// out of logs and error messages.
		return nil, errors.New("runpod: the url must carry no credentials or query")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	switch {
	case opts.MaxRetries == 0:
		opts.MaxRetries = DefaultMaxRetries
	case opts.MaxRetries < 0:
		opts.MaxRetries = 0
	}
	if opts.Backoff <= 0 {
		opts.Backoff = DefaultBackoff
	}
	return &Client{
		url:        u.String(),
		key:        opts.APIKey,
		timeout:    opts.Timeout,
		hc:         opts.HTTPClient,
		maxRetries: opts.MaxRetries,
		backoff:    opts.Backoff,
		onCall:     opts.Observe,
	}, nil
}

// ListPods returns every pod of the account (RunPod does not paginate), in
// the order RunPod gives them. The list is empty, never nil, when there are
// none.
func (c *Client) ListPods(ctx context.Context) (_ []Pod, err error) {
	defer c.observe(OpListPods, time.Now(), &err)
	var data struct {
		Myself *struct {
			Pods []*wirePod `json:"pods"`
		} `json:"myself"`
	}
	const what = "listing pods"
	if err := c.call(ctx, what, listPodsQuery, nil, true, into(&data)); err != nil {
		return nil, err
	}
	if data.Myself == nil {
		return nil, c.failure(what, "answer has no account", nil)
	}
	pods := make([]Pod, 0, len(data.Myself.Pods))
	for _, w := range data.Myself.Pods {
		if w != nil {
			pods = append(pods, w.pod(&c.times))
		}
	}
	return pods, nil
}

// GetPod returns the pod with the given id, or an error wrapping
// ErrPodNotFound when RunPod knows no such pod.
func (c *Client) GetPod(ctx context.Context, id string) (_ Pod, err error) {
	defer c.observe(OpGetPod, time.Now(), &err)
	var data struct {
		Pod *wirePod `json:"pod"`
	}
	what := "getting pod " + id
	if err := c.call(ctx, what, getPodQuery, map[string]any{"podId": id}, true, into(&data)); err != nil {
		return Pod{}, err
	}
	if data.Pod == nil {
		return Pod{}, fmt.Errorf("runpod: %s: %w", c.redact(what), ErrPodNotFound)
	}
	return data.Pod.pod(&c.times), nil
}

// StopPod asks RunPod to stop the pod, keeping its disk. It is never retried:
// a failed call may or may not have reached RunPod.
func (c *Client) StopPod(ctx context.Context, id string) (err error) {
	defer c.observe(OpStopPod, time.Now(), &err)
	var data struct {
		PodStop *struct {
			ID string `json:"id"`
		} `json:"podStop"`
	}
	what := "stopping pod " + id
	if err := c.call(ctx, what, stopPodQuery, map[string]any{"podId": id}, false, into(&data)); err != nil {
		return err
	}
	if data.PodStop == nil {
		return c.failure(what, "answer has no pod", nil)
	}
	return nil
}

// ResumePod asks RunPod to start a stopped on-demand pod again with gpuCount
// GPUs (the pod's GPUCount). It is never retried.
func (c *Client) ResumePod(ctx context.Context, id string, gpuCount int) (err error) {
	what := "resuming pod " + id
	if gpuCount < 1 {
		return fmt.Errorf("runpod: %s: gpu count %d is not positive", c.redact(what), gpuCount)
	}
	defer c.observe(OpResumePod, time.Now(), &err)
	var data struct {
		PodResume *struct {
			ID string `json:"id"`
		} `json:"podResume"`
	}
	vars := map[string]any{"podId": id, "gpuCount": gpuCount}
	if err := c.call(ctx, what, resumePodQuery, vars, false, into(&data)); err != nil {
		return err
	}
	if data.PodResume == nil {
		return c.failure(what, "answer has no pod", nil)
	}
	return nil
}

// BidResumePod asks RunPod to start a stopped spot pod again with gpuCount
// GPUs, bidding bidPerGPU per GPU and hour (see Pod.BidPerGPU). It is never
// retried.
func (c *Client) BidResumePod(ctx context.Context, id string, gpuCount int, bidPerGPU float64) (err error) {
	what := "resuming spot pod " + id
	if gpuCount < 1 {
		return fmt.Errorf("runpod: %s: gpu count %d is not positive", c.redact(what), gpuCount)
	}
	if !(bidPerGPU > 0) {
		return fmt.Errorf("runpod: %s: bid per gpu %v is not positive", c.redact(what), bidPerGPU)
	}
	defer c.observe(OpBidResumePod, time.Now(), &err)
	var data struct {
		PodBidResume *struct {
			ID string `json:"id"`
		} `json:"podBidResume"`
	}
	vars := map[string]any{"podId": id, "gpuCount": gpuCount, "bidPerGpu": bidPerGPU}
	if err := c.call(ctx, what, bidResumeQuery, vars, false, into(&data)); err != nil {
		return err
	}
	if data.PodBidResume == nil {
		return c.failure(what, "answer has no pod", nil)
	}
	return nil
}

// attemptError is the outcome of one failed attempt.
type attemptError struct {
	detail    string
	cause     error
	retryable bool
}

// Error makes an attempt's failure something backoff.Retry can carry; it
// never leaves the client, which builds its own error from the fields.
func (e *attemptError) Error() string { return e.detail }

// call runs one GraphQL operation and decodes its answer with decode. Reads
// (retry true) are tried again after a 429 or a 5xx, and only then, with
// exponential backoff and jitter; everything, waits included, fits in the
// client's timeout. A transport failure (refused, reset, unreadable answer)
// is not retried: it is reported at once.
func (c *Client) call(ctx context.Context, what, query string, vars map[string]any, retry bool, decode func([]byte) *attemptError) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	body, err := json.Marshal(struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables,omitempty"`
	}{query, vars})
	if err != nil {
		return c.failure(what, "encoding request: "+err.Error(), err)
	}

	tries := uint(1)
	if retry {
		tries += uint(c.maxRetries)
	}
	var (
		n    int
		last *attemptError
	)
	_, err = backoff.Retry(ctx, func() (struct{}, error) {
		n++
		last = c.attempt(ctx, body, decode)
		switch {
		case last == nil:
			return struct{}{}, nil
		case last.retryable:
			return struct{}{}, last
		default:
			return struct{}{}, backoff.Permanent(last)
		}
	},
		backoff.WithBackOff(c.newBackOff()),
		backoff.WithMaxTries(tries),
		// The timeout above bounds the whole call; no second limit.
		backoff.WithMaxElapsedTime(0),
	)
	if err == nil {
		return nil
	}
	detail, cause := last.detail, last.cause
	if !errors.As(err, new(*attemptError)) {
		// Retry gives the context's cause, not the attempt's error, when
		// the context ends before the next attempt.
		detail, cause = fmt.Sprintf("%s; no further attempt: %v", last.detail, err), err
	}
	if n > 1 {
		detail += fmt.Sprintf(" (after %d attempts)", n)
	}
	return c.failure(what, detail, cause)
}

// newBackOff times the waits before retries 1, 2, ...: the base doubled for
// each earlier retry, capped at maxBackoff, then drawn from its upper half so
// that clients throttled together do not come back together. The library
// draws from interval×(1±factor); an interval of ¾ of the doubled base with a
// factor of ⅓ is exactly that upper half. A fresh one per call, as it keeps
// state and is not safe for concurrent use.
func (c *Client) newBackOff() backoff.BackOff {
	return &backoff.ExponentialBackOff{
		// The library caps only the doubled intervals, not the first.
		InitialInterval:     min(c.backoff, maxBackoff) * 3 / 4,
		RandomizationFactor: 1.0 / 3,
		Multiplier:          2,
		MaxInterval:         maxBackoff * 3 / 4,
	}
}

// attempt sends the request once and decodes a 200 answer with decode.
func (c *Client) attempt(ctx context.Context, body []byte, decode func([]byte) *attemptError) *attemptError {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return &attemptError{detail: "building request failed", cause: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.key)

	resp, err := c.hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return &attemptError{detail: "no answer: " + ctxErr.Error(), cause: ctxErr}
		}
		return &attemptError{detail: "sending request: " + transportText(err), cause: err}
	}
	defer resp.Body.Close()

	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return &attemptError{detail: "reading answer: " + ctxErr.Error(), cause: ctxErr}
		}
		return &attemptError{detail: "reading answer: " + transportText(err), cause: err}
	}
	if len(data) > maxAnswerBytes {
		return &attemptError{detail: fmt.Sprintf("answer larger than %d bytes", maxAnswerBytes)}
	}

	if resp.StatusCode != http.StatusOK {
		detail := fmt.Sprintf("http %d", resp.StatusCode)
		if msg := graphqlErrorText(data); msg != "" {
			detail += ": graphql error: " + msg
		}
		retryable := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
		return &attemptError{detail: detail, cause: &StatusError{Code: resp.StatusCode}, retryable: retryable}
	}

	return decode(data)
}

// into returns the decoder of an answer whose data is a T, which it stores
// in out. The answer is decoded in one pass, data included: a whole
// account's pods are too many to scan twice. A value of the wrong type is
// reported after the rest is decoded, so GraphQL errors still come first.
func into[T any](out *T) func([]byte) *attemptError {
	return func(data []byte) *attemptError {
		var answer struct {
			// Nil when the answer has no data or null data.
			Data   *T             `json:"data"`
			Errors []graphqlError `json:"errors"`
		}
		err := json.Unmarshal(data, &answer)
		var typeErr *json.UnmarshalTypeError
		if err != nil && (!errors.As(err, &typeErr) || !strings.HasPrefix(typeErr.Field, "data.")) {
			// The decoder names offsets and types, not the answer's content.
			return &attemptError{detail: "malformed answer: " + err.Error(), cause: err}
		}
		if len(answer.Errors) > 0 {
			return &attemptError{detail: "graphql error: " + joinErrors(answer.Errors), cause: ErrRefused}
		}
		if answer.Data == nil {
			return &attemptError{detail: "answer has no data"}
		}
		if err != nil {
			return &attemptError{detail: "malformed answer: " + err.Error(), cause: err}
		}
		*out = *answer.Data
		return nil
	}
}
