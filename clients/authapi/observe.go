package authapi

import (
	"errors"
	"time"

	"github.com/threatwinds/aiadmin/clients/auth"
)

// Endpoints of the Auth API, the Endpoint of a Call.
const (
	EndpointSession = "session"
	EndpointKeyPair = "keypair"
)

// Outcomes of a Call.
const (
	// OutcomeValid is a credential the Auth API vouched for.
	OutcomeValid = "valid"
	// OutcomeInvalid is a credential it refused (wrong, unverified,
	// expired), or an answer that says so.
	OutcomeInvalid = "invalid"
	// OutcomeUnavailable is no usable answer: down, slow, 5xx, garbled.
	OutcomeUnavailable = "unavailable"
)

// Call describes one call to the Auth API, for metrics.
type Call struct {
	Endpoint string
	Outcome  string
	Duration time.Duration
}

// CacheResult is what the cache said about a credential being checked.
type CacheResult string

// Cache results.
const (
	// CacheHit is a cached acceptance.
	CacheHit CacheResult = "hit"
	// CacheRefusal is a cached refusal: the Auth API is not asked again
	// until the negative TTL ends.
	CacheRefusal CacheResult = "refusal"
	// CacheMiss is nothing cached: the Auth API is asked (or a call already
	// asking it is joined).
	CacheMiss CacheResult = "miss"
)

func (c *Client) observeCache(a answer, found bool) {
	if c.onCache == nil {
		return
	}
	switch {
	case !found:
		c.onCache(CacheMiss)
	case a.err != nil:
		c.onCache(CacheRefusal)
	default:
		c.onCache(CacheHit)
	}
}

// observeCall reports a call to the Auth API that started at start and
// ended with err. A base URL refused at New makes no call.
func (c *Client) observeCall(creds auth.Credentials, start time.Time, err error) {
	if c.onCall == nil || c.urlErr != nil {
		return
	}
	call := Call{Endpoint: EndpointKeyPair, Outcome: OutcomeValid, Duration: time.Since(start)}
	if creds.IsBearer() {
		call.Endpoint = EndpointSession
	}
	switch {
	case errors.Is(err, auth.ErrInvalidCredentials):
		call.Outcome = OutcomeInvalid
	case err != nil:
		call.Outcome = OutcomeUnavailable
	}
	c.onCall(call)
}
