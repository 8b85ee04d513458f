// Package aiadmin is the Go SDK of the aiadmin admin API: one method per
// operation with plain arguments, every refusal as an *APIError, iterators
// over every page of a list, and retries of reads that may succeed on a
// second try. It is a thin layer over the generated client in
// gen/adminclient, whose model types it re-exports.
//
// A client is built from the base URL of the deployment, scheme and host
// only (for example https://apis.threatwinds.com); the SDK appends the API's
// paths, which all start with /api/ai/v1/admin. A reverse proxy's path prefix
// may follow the host.
package aiadmin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/threatwinds/aiadmin/gen/adminclient"
)

// Version is the SDK's version; it is sent in the User-Agent header.
const Version = "0.1.0"

// APIPrefix is the path every operation lives under. The SDK adds it; a
// base URL must not contain it.
const APIPrefix = "/api/ai/v1/admin"

// DefaultTimeout bounds one HTTP exchange (one attempt) unless WithTimeout
// says otherwise. The slowest operation, a pod restart, answers within the
// server's own 30 s.
const DefaultTimeout = 45 * time.Second

// DefaultAttempts is how many times a read is tried, in all, on 503 answers
// and connection errors, unless WithRetries says otherwise.
const DefaultAttempts = 4

// maxRetryAfter is the longest Retry-After a read waits for; a server asking
// for longer is taken at its word that the service is down, and the 503 is
// returned at once.
const maxRetryAfter = 30 * time.Second

// Client calls one aiadmin deployment. It is safe for concurrent use.
type Client struct {
	api       *adminclient.Client
	header    http.Header
	timeout   time.Duration
	attempts  uint
	firstWait time.Duration
}

// config collects what the options set before New builds the client.
type config struct {
	token       string
	apiKey      string
	apiSecret   string
	httpClient  *http.Client
	timeout     time.Duration
	attempts    int
	firstWait   time.Duration
	userAgent   string
	credentials int
}

// Option configures a Client in New.
type Option func(*config) error

// WithToken authenticates every request with a bearer token (a session
// token). It cannot be combined with WithKeyPair: the server refuses
// requests that carry both.
func WithToken(token string) Option {
	return func(c *config) error {
		if token == "" {
			return errors.New("WithToken: the token is empty")
		}
		c.token = token
		c.credentials++
		return nil
	}
}

// WithKeyPair authenticates every request with an API key and its secret,
// sent in the api-key and api-secret headers.
func WithKeyPair(key, secret string) Option {
	return func(c *config) error {
		if key == "" || secret == "" {
			return errors.New("WithKeyPair: the key and the secret must both be given")
		}
		c.apiKey, c.apiSecret = key, secret
		c.credentials++
		return nil
	}
}

// WithHTTPClient sends requests with hc instead of a client of the SDK's
// own, for custom transports, proxies or TLS settings. Its Timeout, if any,
// applies on top of the SDK's per-attempt timeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("WithHTTPClient: the client is nil")
		}
		c.httpClient = hc
		return nil
	}
}

// WithTimeout bounds each HTTP exchange (each attempt of a retried read) by
// d instead of DefaultTimeout. The caller's context bounds the whole call.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("WithTimeout: %v is not a positive duration", d)
		}
		c.timeout = d
		return nil
	}
}

// WithRetries sets how many times a read is tried in all (1 turns retries
// off). Reads are retried on 503 answers and connection errors only, with
// exponential backoff starting at firstWait, or at the server's Retry-After
// when it sends one; writes are never retried.
func WithRetries(attempts int, firstWait time.Duration) Option {
	return func(c *config) error {
		if attempts < 1 || firstWait <= 0 {
			return fmt.Errorf("WithRetries: need at least one attempt and a positive wait, got %d and %v", attempts, firstWait)
		}
		c.attempts, c.firstWait = attempts, firstWait
		return nil
	}
}

// WithUserAgent names the program using the SDK; it comes first in the
// User-Agent header, before the SDK's own name and version.
func WithUserAgent(product string) Option {
	return func(c *config) error {
		if strings.ContainsAny(product, "\r\n") {
			return errors.New("WithUserAgent: the product contains a line break")
		}
		c.userAgent = product
		return nil
	}
}

// New returns a client of the deployment at baseURL (scheme and host, such
// as https://apis.threatwinds.com, without /api/ai/v1/admin).
func New(baseURL string, opts ...Option) (*Client, error) {
	cfg := config{timeout: DefaultTimeout, attempts: DefaultAttempts, firstWait: 250 * time.Millisecond}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("aiadmin: %w", err)
		}
	}
	if cfg.credentials > 1 {
		return nil, errors.New("aiadmin: give one credential, a token or a key pair: the server refuses requests with both")
	}
	base, err := checkBaseURL(baseURL)
	if err != nil {
		return nil, fmt.Errorf("aiadmin: %w", err)
	}
	hc := cfg.httpClient
	if hc == nil {
		hc = &http.Client{}
	}
	h := http.Header{}
	ua := "aiadmin-go/" + Version
	if cfg.userAgent != "" {
		ua = cfg.userAgent + " " + ua
	}
	h.Set("User-Agent", ua)
	switch {
	case cfg.token != "":
		h.Set("Authorization", "Bearer "+cfg.token)
	case cfg.apiKey != "":
		h.Set("api-key", cfg.apiKey)
		h.Set("api-secret", cfg.apiSecret)
	}
	c := &Client{header: h, timeout: cfg.timeout, attempts: uint(cfg.attempts), firstWait: cfg.firstWait}
	c.api, err = adminclient.NewClient(base, adminclient.WithHTTPClient(hc), adminclient.WithRequestEditorFn(c.editRequest))
	if err != nil {
		return nil, fmt.Errorf("aiadmin: %w", err)
	}
	return c, nil
}

// checkBaseURL accepts an absolute http(s) URL without credentials, query or
// the API prefix, and returns it without a trailing slash.
func checkBaseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("base URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("base URL %q: give an http:// or https:// URL", raw)
	case u.Host == "":
		return "", fmt.Errorf("base URL %q has no host", raw)
	case u.User != nil:
		// Credentials in a URL end up in error messages and logs.
		return "", errors.New("base URL: user info is not allowed; use WithToken or WithKeyPair")
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("base URL %q: a query or fragment is not allowed", raw)
	case strings.Contains(u.Path, APIPrefix):
		return "", fmt.Errorf("base URL %q: give the host only; the SDK appends %s", raw, APIPrefix)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// editRequest adds the User-Agent and the credentials to every request.
func (c *Client) editRequest(_ context.Context, req *http.Request) error {
	for k, v := range c.header {
		req.Header[k] = append([]string(nil), v...)
	}
	return nil
}
