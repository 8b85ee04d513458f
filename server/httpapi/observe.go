package httpapi

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// series caches each label set's counter and histogram: finding them
	// by label values hashes the values and takes the vector's lock on
	// every request. Labels are bounded (route templates, known methods,
	// statuses), and so is the cache.
	series sync.Map // seriesKey -> *series
}

// seriesKey is one label set of the HTTP metrics.
type seriesKey struct {
	route, method string
	status        int
}

// series are the metrics of one label set.
type series struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aiadmin_http_requests_total",
			Help: "HTTP requests by route template, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "aiadmin_http_request_duration_seconds",
			Help:    "HTTP request latency by route template, method and status.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12),
		}, []string{"route", "method", "status"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// observe counts one request and its latency.
func (m *httpMetrics) observe(route, method string, status int, elapsed time.Duration) {
	k := seriesKey{route, method, status}
	v, ok := m.series.Load(k)
	if !ok {
		code := strconv.Itoa(status)
		v, _ = m.series.LoadOrStore(k, &series{
			requests: m.requests.WithLabelValues(route, method, code),
			latency:  m.latency.WithLabelValues(route, method, code),
		})
	}
	s := v.(*series)
	s.requests.Inc()
	s.latency.Observe(elapsed.Seconds())
}

// routeLabel is the route template, or a fixed label for requests that
// matched no route, so metrics cardinality cannot be driven by callers.
func routeLabel(c echo.Context, isAdminRoute func(echo.Context) bool) string {
	switch p := c.Path(); {
	case isAdminRoute(c), p == "/healthz", p == "/readyz", p == "/metrics", p == "/ui", p == "/ui/*":
		return p
	}
	return "unmatched"
}

// methodLabel is the request method for the HTTP-defined methods and
// "other" for anything else, so callers cannot mint metric series.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "other"
}

// requestLog writes one log line and the metrics of every request. It is
// the outermost middleware: it hands errors to the error handler itself, so
// the status it records is the one sent. It logs the route template, never
// the raw path, query or headers, so no credential can reach the log. The
// line's fields are built only when the logger will write it: the
// production logger samples repeated lines.
func requestLog(log *zap.Logger, m *httpMetrics, isAdminRoute func(echo.Context) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err)
			}
			elapsed := time.Since(start)
			status := c.Response().Status
			route := routeLabel(c, isAdminRoute)
			m.observe(route, methodLabel(c.Request().Method), status, elapsed)

			level := zapcore.InfoLevel
			if status >= 500 {
				level = zapcore.ErrorLevel
			}
			ce := log.Check(level, "request")
			if ce == nil {
				return nil
			}
			fields := make([]zap.Field, 0, 10)
			fields = append(fields,
				zap.String("method", c.Request().Method),
				zap.String("route", route),
				zap.Int("status", status),
				zap.Duration("latency", elapsed),
				zap.Int64("bytes_out", c.Response().Size),
			)
			if p, ok := principalFrom(c.Request().Context()); ok {
				fields = append(fields, zap.String("user_id", p.UserID))
			}
			if id, ok := c.Get(ctxKeyErrorID).(string); ok {
				fields = append(fields, zap.String("error_id", id), zap.String("error", c.Get(ctxKeyErrorMsg).(string)))
			}
			if cause, ok := c.Get(ctxKeyErrCause).(error); ok {
				fields = append(fields, zap.String("cause", sanitize(cause.Error())))
			}
			ce.Write(fields...)
			return nil
		}
	}
}
