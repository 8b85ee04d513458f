// Package fleet keeps the state of the inference fleet in Valkey: which
// servers each provider runs and which models they serve (the registry),
// which backend each user's session is pinned to (affinity), how busy each
// backend is (demand), what the health prober last saw (health), which
// servers operators drained, and the audit trail of admin actions.
//
// The request router writes this state and the admin API reads it; both use
// a Store. Every key, its type, hash tag, writer, reader and lifetime is
// described in SCHEMA.md next to this file, which is the contract for any
// other implementation. Every operation that touches several keys keeps them
// in one cluster slot, so the Store works the same on a standalone server,
// a Valkey Cluster and the embedded store of package embedded.
//
// Operations that depend on time (affinity TTLs, request leases, the demand
// window) read it from Options.Now, so tests drive them with a fake clock.
// Key lifetimes themselves are relative durations kept by the server, so a
// router that vanishes leaves nothing behind for ever.
package fleet

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/valkey-io/valkey-go"
)

// Provider names: the kinds of inference server the gateway runs.
const (
	// ProviderVLLM names vLLM servers.
	ProviderVLLM = "vllm"
	// ProviderSGLang names SGLang servers.
	ProviderSGLang = "sglang"
	// ProviderSpeaches names speaches (speech) servers.
	ProviderSpeaches = "speaches"
)

// Providers lists every provider in the order the Store reports them.
var Providers = []string{ProviderVLLM, ProviderSGLang, ProviderSpeaches}

// Defaults used when the matching Options field is zero.
const (
	// DefaultAffinityTTL is how long a pinned session lasts without a re-pin.
	DefaultAffinityTTL = 30 * time.Minute
	// DefaultRequestLease is how long a request counts as in flight if the
	// router never finishes it.
	DefaultRequestLease = 10 * time.Minute
	// DefaultDemandRetention is how long a backend's last-use time is kept
	// after its last request.
	DefaultDemandRetention = 7 * 24 * time.Hour
	// DefaultHealthRetention is how long a server's health results are kept
	// after the prober last wrote them.
	DefaultHealthRetention = 24 * time.Hour
)

// The demand window: requests are counted in buckets of DemandBucketWidth,
// and a rate adds up the DemandWindowBuckets buckets ending with the current
// one, so it counts the requests of the last 4m50s to 5m, never older ones.
const (
	// DemandBucketWidth is the span of one bucket of the demand window.
	DemandBucketWidth = 10 * time.Second
	// DemandWindowBuckets is how many buckets a rate adds up.
	DemandWindowBuckets = 30
	// DemandWindow is the span a rate covers at most.
	DemandWindow = DemandBucketWidth * DemandWindowBuckets
)

// Validation errors. Every error the Store returns for bad input wraps one of
// these, so the admin API can answer 400 with errors.Is.
var (
	// ErrUnknownProvider means a provider name is not one of Providers.
	ErrUnknownProvider = errors.New("unknown provider")
	// ErrEmptyURL means a server or backend URL was empty.
	ErrEmptyURL = errors.New("empty url")
	// ErrEmptyModel means a model id was empty.
	ErrEmptyModel = errors.New("empty model id")
	// ErrEmptyUser means a user id was empty.
	ErrEmptyUser = errors.New("empty user id")
	// ErrInvalidPage means a page offset was negative or a limit not positive.
	ErrInvalidPage = errors.New("invalid page")
	// ErrInvalidLease means a lease lacks its id, URL or model id.
	ErrInvalidLease = errors.New("invalid lease")
)

// Options tunes a Store. The zero value is usable: every zero field takes
// its default.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// AffinityTTL overrides the affinity TTL per provider.
	AffinityTTL map[string]time.Duration
	// DefaultAffinityTTL applies to providers absent from AffinityTTL;
	// zero means DefaultAffinityTTL.
	DefaultAffinityTTL time.Duration
	// RequestLease is how long a started request counts as in flight if it is
	// never finished; zero means DefaultRequestLease.
	RequestLease time.Duration
	// DemandRetention is how long a backend's last-use time outlives its
	// last request; zero means DefaultDemandRetention.
	DemandRetention time.Duration
	// HealthRetention is how long health results outlive their last write;
	// zero means DefaultHealthRetention.
	HealthRetention time.Duration
}

// Store reads and writes the fleet state through a valkey-go client. It is
// safe for concurrent use; the client stays owned by the caller.
type Store struct {
	c    valkey.Client
	opts Options
}

// New returns a Store using c, with the zero fields of o set to defaults.
func New(c valkey.Client, o Options) *Store {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.DefaultAffinityTTL <= 0 {
		o.DefaultAffinityTTL = DefaultAffinityTTL
	}
	if o.RequestLease <= 0 {
		o.RequestLease = DefaultRequestLease
	}
	if o.DemandRetention <= 0 {
		o.DemandRetention = DefaultDemandRetention
	}
	if o.HealthRetention <= 0 {
		o.HealthRetention = DefaultHealthRetention
	}
	ttls := make(map[string]time.Duration, len(o.AffinityTTL))
	for p, d := range o.AffinityTTL {
		if d > 0 {
			ttls[p] = d
		}
	}
	o.AffinityTTL = ttls
	return &Store{c: c, opts: o}
}

// AffinityTTLFor returns how long a session pinned for provider lasts.
func (s *Store) AffinityTTLFor(provider string) time.Duration {
	if d, ok := s.opts.AffinityTTL[provider]; ok {
		return d
	}
	return s.opts.DefaultAffinityTTL
}

func (s *Store) nowMs() int64 { return s.opts.Now().UnixMilli() }

func checkProvider(p string) error {
	if !slices.Contains(Providers, p) {
		return fmt.Errorf("provider %q: %w", p, ErrUnknownProvider)
	}
	return nil
}

func checkURL(url string) error {
	if url == "" {
		return ErrEmptyURL
	}
	return nil
}

func checkModel(modelID string) error {
	if modelID == "" {
		return ErrEmptyModel
	}
	return nil
}

func checkUser(userID string) error {
	if userID == "" {
		return ErrEmptyUser
	}
	return nil
}

// ms renders a duration as whole milliseconds, at least one, for PEXPIRE.
func ms(d time.Duration) int64 {
	return max(d.Milliseconds(), 1)
}
