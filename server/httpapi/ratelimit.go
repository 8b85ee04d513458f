package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/threatwinds/aiadmin/clients/fleet"
)

// RateStore keeps the rate-limit counters every replica shares;
// *fleet.Store implements it.
type RateStore interface {
	TakeRate(ctx context.Context, name, subject string, l fleet.RateLimit) (fleet.RateVerdict, error)
	PeekRate(ctx context.Context, name, subject string, l fleet.RateLimit) (fleet.RateVerdict, error)
}

// RateLimits bound what one caller may ask of the admin operations, per
// minute; a limit of 0 is off. /healthz, /readyz, /metrics and anything
// else outside the admin operations are never limited.
type RateLimits struct {
	// Store keeps the counters; it is required when a limit is on.
	Store RateStore
	// Reads and Writes are the requests a minute one user (the
	// authenticated principal) may make to read operations, and to the
	// operations that change something (every POST: restart, clear,
	// refresh, drain, undrain).
	Reads, Writes int
	// AuthFailures is the failed authentications (401s) a minute one client
	// address may have; past it, that address gets 429 without a look at
	// its credentials, so neither the credentials file nor the Auth API is
	// consulted. An IPv6 client counts by its /64, which one host commonly
	// holds whole.
	AuthFailures int
	// TrustedProxies are the proxies whose X-Forwarded-For names the client:
	// the address is the rightmost hop of that header that is not itself
	// a trusted proxy. Anyone else's header is ignored.
	TrustedProxies []netip.Prefix
}

func (l RateLimits) on() bool { return l.Reads > 0 || l.Writes > 0 || l.AuthFailures > 0 }

const (
	// ratePeriod is the period of every limit.
	ratePeriod = time.Minute
	// rateCheckTimeout bounds one look at the counters. Past it the request
	// goes on unchecked: a slow store must not make every request slower.
	rateCheckTimeout = 250 * time.Millisecond
)

// Kinds of limit, the label of the rate-limit series.
const (
	kindRead        = "read"
	kindWrite       = "write"
	kindAuthFailure = "auth_failure"
)

// limiter applies RateLimits in two middlewares: guardAuthFailures before
// authentication and limitPrincipals after it.
type limiter struct {
	limits RateLimits
	// log is sampled: a store that is down would otherwise log once per
	// request.
	log       *zap.Logger
	limited   *prometheus.CounterVec
	unchecked *prometheus.CounterVec
}

func newLimiter(l RateLimits, log *zap.Logger, reg prometheus.Registerer) (*limiter, error) {
	if l.Reads < 0 || l.Writes < 0 || l.AuthFailures < 0 {
		return nil, errors.New("building http handler: rate limits must be 0 (off) or positive")
	}
	if l.on() && l.Store == nil {
		return nil, errors.New("building http handler: rate limits need a store")
	}
	m := &limiter{
		limits: l,
		log: log.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
			return zapcore.NewSamplerWithOptions(c, time.Minute, 1, 0)
		})),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aiadmin_rate_limited_total",
			Help: "Requests answered 429 by a rate limit, by kind of limit (read, write, auth_failure).",
		}, []string{"kind"}),
		unchecked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aiadmin_rate_limit_unchecked_total",
			Help: "Rate-limit checks skipped because the store failed or was slow (the request went on), by kind of limit.",
		}, []string{"kind"}),
	}
	reg.MustRegister(m.limited, m.unchecked)
	return m, nil
}

// check asks the store about one event of subject and answers 429 when it
// does not fit. count says whether an event that fits is counted. A store
// that fails lets the request through: the request then succeeds or fails
// on its own merits.
func (m *limiter) check(ctx context.Context, kind, name, subject string, limit int, count bool) *APIError {
	ctx, cancel := context.WithTimeout(ctx, rateCheckTimeout)
	defer cancel()
	l := fleet.RateLimit{Limit: limit, Period: ratePeriod}
	var v fleet.RateVerdict
	var err error
	if count {
		v, err = m.limits.Store.TakeRate(ctx, name, subject, l)
	} else {
		v, err = m.limits.Store.PeekRate(ctx, name, subject, l)
	}
	if err != nil {
		m.unchecked.WithLabelValues(kind).Inc()
		m.log.Warn("rate limit not checked: the store failed, so requests go on unchecked (logged at most once a minute)",
			zap.String("kind", kind), zap.Error(err))
		return nil
	}
	if v.Allowed {
		return nil
	}
	m.limited.WithLabelValues(kind).Inc()
	e := newAPIError(http.StatusTooManyRequests, "rate limited").withDetail(limitDetail(kind, limit))
	e.RetryAfter = v.RetryAfter
	return e
}

func limitDetail(kind string, limit int) string {
	switch kind {
	case kindRead:
		return fmt.Sprintf("at most %d reads a minute per user; retry after the seconds in Retry-After", limit)
	case kindWrite:
		return fmt.Sprintf("at most %d changes a minute per user; retry after the seconds in Retry-After", limit)
	}
	return fmt.Sprintf("at most %d failed authentications a minute per client address; retry after the seconds in Retry-After", limit)
}

// guardAuthFailures answers 429, before any look at the credentials, to an
// address past its failed authentications, and counts each 401 an admin
// operation answers.
func (m *limiter) guardAuthFailures(isAdminRoute func(echo.Context) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if m.limits.AuthFailures <= 0 {
			return next
		}
		return func(c echo.Context) error {
			if !isAdminRoute(c) {
				return next(c)
			}
			addr := clientSubject(c.RealIP())
			ctx := c.Request().Context()
			if e := m.check(ctx, kindAuthFailure, fleet.RateAuthFailures, addr, m.limits.AuthFailures, false); e != nil {
				return e
			}
			err := next(c)
			if ae := (*APIError)(nil); errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
				// Counted whether or not it still fits: a failure that does
				// not fit is already past the limit.
				m.check(ctx, kindAuthFailure, fleet.RateAuthFailures, addr, m.limits.AuthFailures, true)
			}
			return err
		}
	}
}

// limitPrincipals counts every request of an authenticated user against
// the user's reads or writes.
func (m *limiter) limitPrincipals() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if m.limits.Reads <= 0 && m.limits.Writes <= 0 {
			return next
		}
		return func(c echo.Context) error {
			p, ok := principalFrom(c.Request().Context())
			if !ok {
				return next(c)
			}
			kind, name, limit := kindRead, fleet.RateReads, m.limits.Reads
			if method := c.Request().Method; method != http.MethodGet && method != http.MethodHead {
				kind, name, limit = kindWrite, fleet.RateWrites, m.limits.Writes
			}
			if limit > 0 {
				if e := m.check(c.Request().Context(), kind, name, p.UserID, limit, true); e != nil {
					return e
				}
			}
			return next(c)
		}
	}
}

// clientSubject is the counter's subject for a client address: an IPv4
// address as such, an IPv6 address as its /64.
func clientSubject(ip string) string {
	a, err := netip.ParseAddr(ip)
	switch {
	case err != nil && ip == "":
		return "unknown"
	case err != nil:
		return ip
	case a.Unmap().Is4():
		return a.Unmap().String()
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.String()
}

// ipExtractor finds a request's client address: the peer's, or the
// rightmost hop of X-Forwarded-For that is not a trusted proxy when the peer
// is one. Echo trusts private, loopback and link-local peers by default;
// here only the configured proxies are trusted.
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		p = p.Masked()
		opts = append(opts, echo.TrustIPRange(&net.IPNet{
			IP:   p.Addr().AsSlice(),
			Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen()),
		}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
