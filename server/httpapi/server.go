// Package httpapi is the HTTP side of aiadmin: the echo server that
// implements the generated strict interface, its middleware (authentication,
// validation against the spec, logging, metrics), the one place errors are
// rendered, and one handler file per area of the API mapping domain types to
// the wire. It is the only package of the service that imports gen/adminapi.
package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/threatwinds/aiadmin/clients/auth"
	"github.com/threatwinds/aiadmin/gen/adminapi"
	"github.com/threatwinds/aiadmin/server/dashboard"
)

// AdminPrefix is the path prefix of every admin operation.
const AdminPrefix = "/api/ai/v1/admin/"

// MaxBodyBytes bounds a request body.
const MaxBodyBytes = 1 << 20

// maxHeaderBytes bounds the request headers, checked in middleware so the
// answer is in the error format.
const maxHeaderBytes = 32 << 10

// HTTPOptions are what NewHTTPHandler needs to build the HTTP side.
type HTTPOptions struct {
	Logger        *zap.Logger
	Authenticator auth.Authenticator
	// AuthTimeout bounds one credential check.
	AuthTimeout time.Duration
	// API implements the admin operations.
	API adminapi.StrictServerInterface
	// Ready reports whether the backing store answers; nil means always ready.
	Ready func(ctx context.Context) error
	// Metrics receives the HTTP metrics; nil makes a fresh registry.
	Metrics *prometheus.Registry
	// RateLimits bound each user's requests and each address's failed
	// authentications; the zero value limits nothing.
	RateLimits RateLimits
}

// NewHTTPHandler builds the echo instance that serves the admin API,
// /healthz, /readyz, /metrics and the operator dashboard at /ui/. The rate
// limits apply to the admin operations only.
func NewHTTPHandler(o HTTPOptions) (*echo.Echo, error) {
	if o.Logger == nil || o.Authenticator == nil || o.API == nil {
		return nil, errors.New("building http handler: logger, authenticator and api are required")
	}
	if o.AuthTimeout <= 0 {
		o.AuthTimeout = 10 * time.Second
	}
	if o.Metrics == nil {
		o.Metrics = prometheus.NewRegistry()
		o.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(o.Logger)

	adminRoutes := map[routeKey]bool{}
	isAdminRoute := func(c echo.Context) bool { return adminRoutes[routeKey{c.Request().Method, c.Path()}] }

	spec, err := adminapi.GetSpec()
	if err != nil {
		return nil, err
	}
	validator, err := requestValidator(spec)
	if err != nil {
		return nil, err
	}

	m := newHTTPMetrics(o.Metrics)
	limits, err := newLimiter(o.RateLimits, o.Logger, o.Metrics)
	if err != nil {
		return nil, err
	}
	e.IPExtractor = ipExtractor(o.RateLimits.TrustedProxies)
	e.Use(
		requestLog(o.Logger, m, isAdminRoute),
		middleware.RecoverWithConfig(middleware.RecoverConfig{
			DisablePrintStack: true,
			LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
				o.Logger.Error("panic in handler", zap.Error(err), zap.ByteString("stack", stack))
				return newAPIError(http.StatusInternalServerError, "internal server error").withCause(err)
			},
		}),
		headerLimit(maxHeaderBytes),
		requestDeadline(requestTimeout),
		middleware.BodyLimit("1M"),
		limits.guardAuthFailures(isAdminRoute),
		authenticate(o.Authenticator, isAdminRoute, o.AuthTimeout),
		limits.limitPrincipals(),
		validator,
	)

	adminapi.RegisterHandlers(e, adminapi.NewStrictHandler(o.API, nil))
	for _, r := range e.Routes() {
		if strings.HasPrefix(r.Path, AdminPrefix) {
			adminRoutes[routeKey{r.Method, r.Path}] = true
		}
	}

	// The probes answer HEAD too, as load balancers may ask with it; the
	// server sends no body to a HEAD.
	healthz := func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	}
	e.GET("/healthz", healthz)
	e.HEAD("/healthz", healthz)
	readyz := func(c echo.Context) error {
		if o.Ready != nil {
			ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
			defer cancel()
			if err := o.Ready(ctx); err != nil {
				return newAPIError(http.StatusServiceUnavailable, "not ready").withDetail("valkey unavailable").withCause(err)
			}
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	}
	e.GET("/readyz", readyz)
	e.HEAD("/readyz", readyz)
	metrics := echo.WrapHandler(promhttp.HandlerFor(o.Metrics, promhttp.HandlerOpts{}))
	e.GET("/metrics", metrics)
	e.HEAD("/metrics", metrics)
	dashboard.Register(e)
	return e, nil
}

// requestTimeout bounds the work of one request, every call it makes to
// Valkey, RunPod or the Auth API included; each of those has a shorter
// timeout of its own.
const requestTimeout = 30 * time.Second

// requestDeadline gives every request's context a deadline, and the state
// that authentication fills in.
func requestDeadline(d time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx, cancel := context.WithTimeout(c.Request().Context(), d)
			defer cancel()
			c.SetRequest(c.Request().WithContext(&requestState{Context: ctx}))
			return next(c)
		}
	}
}

// headerLimit refuses requests whose headers are larger than limit bytes.
func headerLimit(limit int) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			n := 0
			for k, vs := range c.Request().Header {
				for _, v := range vs {
					n += len(k) + len(v) + 4
				}
			}
			if n > limit {
				return newAPIError(http.StatusRequestHeaderFieldsTooLarge, "request headers too large").
					withDetail("the limit is 32 KiB")
			}
			return next(c)
		}
	}
}
