// Package authapi checks admin credentials with the ThreatWinds Auth API:
// bearer sessions at GET {base}/session and key pairs at GET {base}/keypair.
// Answers are cached briefly, keyed by a hash of the credential, and
// concurrent checks of one credential share a single upstream call.
package authapi

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/threatwinds/aiadmin/clients/auth"
	"github.com/threatwinds/aiadmin/clients/flight"
)

// Defaults applied by New to the zero values of Options.
const (
	DefaultBaseURL     = "https://intelligence.threatwinds.com/api/auth/v2"
	DefaultTimeout     = 5 * time.Second
	DefaultPositiveTTL = 30 * time.Second
	DefaultNegativeTTL = 5 * time.Second
	DefaultMaxEntries  = 10000
)

// maxAnswerBytes bounds how much of an Auth API answer is read.
const maxAnswerBytes = 1 << 20

// Options configure a Client. Zero values take the defaults above.
type Options struct {
	// BaseURL is the Auth API base, without the /session or /keypair suffix.
	BaseURL string
	// Timeout bounds each upstream call, answer included.
	Timeout time.Duration
	// HTTPClient sends the calls. A copy of it is used that never follows
	// redirects, so credentials are never sent anywhere but BaseURL.
	HTTPClient *http.Client
	// PositiveTTL is how long a valid credential is trusted without asking
	// again; never beyond the credential's own expiry.
	PositiveTTL time.Duration
	// NegativeTTL is how long an invalid credential is refused without
	// asking again.
	NegativeTTL time.Duration
	// MaxEntries bounds the number of cached answers.
	MaxEntries int
	// Now is the clock the cache and expiry checks use.
	Now func() time.Time
	// ObserveCall, when set, is told of every call to the Auth API, and
	// ObserveCache of every check the cache answered or could not (for
	// metrics). Both must be quick and safe for concurrent use.
	ObserveCall  func(Call)
	ObserveCache func(CacheResult)
}

// Validate reports whether the options can make a working Client.
func (o Options) Validate() error {
	if o.BaseURL != "" {
		if _, err := sessionURLs(o.BaseURL); err != nil {
			return err
		}
	}
	switch {
	case o.Timeout < 0:
		return errors.New("auth api timeout must not be negative")
	case o.PositiveTTL < 0:
		return errors.New("auth api positive cache ttl must not be negative")
	case o.NegativeTTL < 0:
		return errors.New("auth api negative cache ttl must not be negative")
	case o.MaxEntries < 0:
		return errors.New("auth api cache size must not be negative")
	}
	return nil
}

// Client checks credentials with the Auth API. It is safe for concurrent use.
type Client struct {
	sessionURL  string
	keyPairURL  string
	urlErr      error
	http        *http.Client
	timeout     time.Duration
	positiveTTL time.Duration
	negativeTTL time.Duration
	now         func() time.Time
	cache       *answerCache
	onCall      func(Call)
	onCache     func(CacheResult)
	// flights shares one Auth API call among concurrent checks of one
	// credential; a call outlives the callers that gave up on it, until
	// Close.
	flights *flight.Group[answer]
}

var _ auth.Authenticator = (*Client)(nil)

// New builds a Client. A base URL that Validate refuses makes every check
// fail with ErrUnavailable.
func New(o Options) *Client {
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.PositiveTTL <= 0 {
		o.PositiveTTL = DefaultPositiveTTL
	}
	if o.NegativeTTL <= 0 {
		o.NegativeTTL = DefaultNegativeTTL
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	var hc http.Client
	if o.HTTPClient != nil {
		hc = *o.HTTPClient
	} else {
		t := http.DefaultTransport.(*http.Transport).Clone()
		// Every call goes to one host; keep enough idle connections that a
		// burst does not open (and leave in TIME_WAIT) a socket per call.
		t.MaxIdleConnsPerHost = 64
		hc.Transport = t
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	c := &Client{
		http:        &hc,
		timeout:     o.Timeout,
		positiveTTL: o.PositiveTTL,
		negativeTTL: o.NegativeTTL,
		now:         o.Now,
		cache:       newAnswerCache(o.MaxEntries),
		onCall:      o.ObserveCall,
		onCache:     o.ObserveCache,
		flights:     flight.NewGroup[answer](),
	}
	urls, err := sessionURLs(o.BaseURL)
	if err != nil {
		c.urlErr = err
	} else {
		c.sessionURL, c.keyPairURL = urls[0], urls[1]
	}
	return c
}

func sessionURLs(base string) ([2]string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return [2]string{}, errors.New("auth api base url must be an absolute http or https url without user info")
	}
	return [2]string{u.JoinPath("session").String(), u.JoinPath("keypair").String()}, nil
}

// Len reports how many answers the cache holds.
func (c *Client) Len() int { return c.cache.len() }

// CloseIdleConnections closes the idle connections to the Auth API.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// Close cancels the Auth API calls still running for callers that gave up
// on them, waits until they have ended and closes the idle connections.
// A check after Close that would need the Auth API answers ErrUnavailable;
// one the cache answers still gets its cached answer.
func (c *Client) Close() {
	c.flights.Close()
	c.CloseIdleConnections()
}

// Authenticate checks the credentials and returns the principal they prove,
// with all its roles: checking a role is the caller's job. A bearer token is
// used when present. Wrong, unknown, unverified or expired credentials give
// ErrInvalidCredentials; an Auth API that cannot answer gives ErrUnavailable.
func (c *Client) Authenticate(ctx context.Context, creds auth.Credentials) (auth.Principal, error) {
	what := "checking key pair"
	if creds.IsBearer() {
		what = "checking session"
	}
	if err := checkCredentialForm(creds); err != nil {
		return auth.Principal{}, fmt.Errorf("%s: %w", what, err)
	}
	key := credentialKey(creds)
	a, ok := c.cache.get(key, c.now())
	c.observeCache(a, ok)
	if ok {
		return a.principal, a.err
	}

	// The upstream call outlives a caller that gives up, so the others
	// waiting on it and the cache still get its answer; its own timeout
	// bounds it, and Close ends it. A caller already gone starts none.
	a, err := c.flights.Do(ctx, string(key[:]), func(ctx context.Context) (answer, error) {
		return c.check(ctx, key, creds)
	})
	switch {
	case errors.Is(err, flight.ErrStoppedWaiting):
		return auth.Principal{}, fmt.Errorf("%s: %w: %w", what, auth.ErrUnavailable, context.Cause(ctx))
	case errors.Is(err, flight.ErrClosed):
		return auth.Principal{}, fmt.Errorf("%s: %w: the client is closed", what, auth.ErrUnavailable)
	case err != nil:
		return auth.Principal{}, err
	}
	a = a.clone()
	return a.principal, a.err
}

// check answers from the cache, or asks the Auth API and caches what it
// says. The cache is looked at again because a flight for the same key may
// have finished between the caller's look and this one starting.
func (c *Client) check(ctx context.Context, key cacheKey, creds auth.Credentials) (answer, error) {
	if a, ok := c.cache.get(key, c.now()); ok {
		return a, nil
	}
	start := time.Now()
	p, expireAt, err := c.ask(ctx, creds)
	c.observeCall(creds, start, err)
	now := c.now()
	switch {
	case err == nil:
		a := answer{principal: p}
		expires := now.Add(c.positiveTTL)
		if expireAt.Before(expires) {
			expires = expireAt
		}
		if expires.After(now) {
			c.cache.put(key, a, expires)
		}
		return a, nil
	case errors.Is(err, auth.ErrInvalidCredentials):
		a := answer{err: err}
		c.cache.put(key, a, now.Add(c.negativeTTL))
		return a, nil
	default:
		return answer{}, err
	}
}

// ask makes one bounded call to the Auth API. Its errors wrap either
// ErrInvalidCredentials or ErrUnavailable, never both, and never hold the
// credential.
func (c *Client) ask(ctx context.Context, creds auth.Credentials) (auth.Principal, time.Time, error) {
	what, target := "checking key pair", c.keyPairURL
	if creds.IsBearer() {
		what, target = "checking session", c.sessionURL
	}
	if c.urlErr != nil {
		return auth.Principal{}, time.Time{}, fmt.Errorf("%s: %w: %w", what, auth.ErrUnavailable, c.urlErr)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return auth.Principal{}, time.Time{}, fmt.Errorf("%s: %w: %w", what, auth.ErrUnavailable, err)
	}
	req.Header.Set("Accept", "application/json")
	if creds.IsBearer() {
		req.Header.Set("Authorization", "Bearer "+creds.Bearer)
	} else {
		req.Header.Set("api-key", creds.APIKey)
		req.Header.Set("api-secret", creds.APISecret)
	}

	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("no answer within %s: %w", c.timeout, ctx.Err())
		}
		return auth.Principal{}, time.Time{}, fmt.Errorf("%s: %w: %w", what, auth.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))

	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return auth.Principal{}, time.Time{}, fmt.Errorf("%s: auth api refused the credentials (%d): %w", what, resp.StatusCode, auth.ErrInvalidCredentials)
	case resp.StatusCode != http.StatusOK:
		return auth.Principal{}, time.Time{}, fmt.Errorf("%s: auth api answered %d%s: %w", what, resp.StatusCode, errorIDNote(resp.Header.Get("x-error-id")), auth.ErrUnavailable)
	case err != nil:
		return auth.Principal{}, time.Time{}, fmt.Errorf("%s: reading answer: %w: %w", what, auth.ErrUnavailable, err)
	case len(body) > maxAnswerBytes:
		return auth.Principal{}, time.Time{}, fmt.Errorf("%s: answer larger than %d bytes: %w", what, maxAnswerBytes, auth.ErrUnavailable)
	}
	p, expireAt, err := parseAnswer(body, c.now())
	if err != nil {
		return auth.Principal{}, time.Time{}, fmt.Errorf("%s: %w", what, err)
	}
	return p, expireAt, nil
}

// errorIDNote quotes the Auth API's x-error-id for support, only when it
// looks like an id, so upstream text never flows into our errors.
func errorIDNote(id string) string {
	if id == "" || len(id) > 64 {
		return ""
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return ""
		}
	}
	return " (x-error-id " + id + ")"
}

// checkCredentialForm refuses, without asking anyone, credentials that are
// missing a part or could not travel in an HTTP header. It also makes the
// NUL separator in credentialKey unambiguous.
func checkCredentialForm(c auth.Credentials) error {
	if c.IsBearer() {
		if !validHeaderValue(c.Bearer) {
			return fmt.Errorf("malformed bearer token: %w", auth.ErrInvalidCredentials)
		}
		return nil
	}
	if c.APIKey == "" || c.APISecret == "" {
		return fmt.Errorf("missing api key or secret: %w", auth.ErrInvalidCredentials)
	}
	if !validHeaderValue(c.APIKey) || !validHeaderValue(c.APISecret) {
		return fmt.Errorf("malformed api key or secret: %w", auth.ErrInvalidCredentials)
	}
	return nil
}

// validHeaderValue reports whether s has no control characters (tab aside),
// as RFC 9110 field values require.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; (b < 0x20 && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

// Kinds of credential, the first byte hashed into a cache key so a token can
// never collide with a key pair.
const (
	kindBearer  = 'b'
	kindKeyPair = 'k'
)

// credentialKey hashes the credential into its cache key.
func credentialKey(c auth.Credentials) cacheKey {
	h := sha256.New()
	if c.IsBearer() {
		h.Write([]byte{kindBearer})
		io.WriteString(h, c.Bearer)
	} else {
		h.Write([]byte{kindKeyPair})
		io.WriteString(h, c.APIKey)
		h.Write([]byte{0})
		io.WriteString(h, c.APISecret)
	}
	var k cacheKey
	h.Sum(k[:0])
	return k
}
