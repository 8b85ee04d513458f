package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/threatwinds/aiadmin/clients/auth"
	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/gen/adminclient"
	"github.com/threatwinds/aiadmin/server/httpapi"
	"github.com/threatwinds/aiadmin/server/pool"
)

// memoryFleet answers the reads the request-path benchmark makes from
// memory, so that only the HTTP layer is measured.
type memoryFleet struct {
	affinity []fleet.ProviderAffinity
	urls     []string
	servers  []pool.ServerStatus
}

func newMemoryFleet() *memoryFleet {
	m := &memoryFleet{}
	for _, p := range fleet.Providers {
		m.affinity = append(m.affinity, fleet.ProviderAffinity{Name: p, Hits: 1200, Misses: 30, Fallbacks: 2, TTL: 30 * time.Minute})
	}
	for i := range 100 {
		m.urls = append(m.urls, fmt.Sprintf("http://10.0.%d.%d:8000/v1", i/250, i%250))
	}
	for i := range 50 {
		m.servers = append(m.servers, pool.ServerStatus{Provider: fleet.ProviderVLLM, URL: m.urls[i], Models: []string{"qwen-27b", "llama-70b"},
			Healthy: true, ConsecutiveSuccesses: 2, LastCheckMs: 1_700_000_000_000})
	}
	return m
}

func (m *memoryFleet) AffinityMetrics(context.Context) ([]fleet.ProviderAffinity, error) {
	return m.affinity, nil
}

func (m *memoryFleet) ClearAffinity(context.Context, string, *string) (int64, error) { return 0, nil }

func (m *memoryFleet) RegistryPage(_ context.Context, _ string, _, limit int64) ([]string, int64, error) {
	return m.urls[:limit], 100_000, nil
}

func (m *memoryFleet) ListServers(_ context.Context, _, limit int64) ([]pool.ServerStatus, int64, error) {
	return m.servers[:limit], 2000, nil
}

// bareEcho serves the same reads as a bare echo handler: no middleware, the
// same store calls, the same bytes written with encoding/json.
func bareEcho(m *memoryFleet) *echo.Echo {
	e := echo.New()
	write := func(c echo.Context, v any) error {
		c.Response().Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
		c.Response().WriteHeader(http.StatusOK)
		return json.NewEncoder(c.Response()).Encode(v)
	}
	e.GET(httpapi.AdminPrefix+"affinity", func(c echo.Context) error {
		ms, _ := m.AffinityMetrics(c.Request().Context())
		out := adminclient.AffinityMetrics{Providers: make([]adminclient.ProviderAffinity, 0, len(ms))}
		for _, a := range ms {
			out.Providers = append(out.Providers, adminclient.ProviderAffinity{Name: a.Name, SessionHitCount: a.Hits,
				SessionMissCount: a.Misses, FallbackCount: a.Fallbacks, TtlMinutes: int64(a.TTL.Minutes())})
		}
		return write(c, out)
	})
	e.GET(httpapi.AdminPrefix+"registry/:model", func(c echo.Context) error {
		urls, total, _ := m.RegistryPage(c.Request().Context(), c.Param("model"), 49_900, 100)
		return write(c, adminclient.Registry{ModelId: c.Param("model"), Urls: urls, Page: 500, Limit: 100, Total: total})
	})
	e.GET(httpapi.AdminPrefix+"servers", func(c echo.Context) error {
		list, total, _ := m.ListServers(c.Request().Context(), 0, 50)
		out := adminclient.ServerList{Page: 1, Limit: 50, Total: total, Servers: make([]adminclient.Server, len(list))}
		for i, s := range list {
			out.Servers[i] = adminclient.Server{Provider: adminclient.ServerProvider(s.Provider), Url: s.URL, Healthy: s.Healthy,
				ConsecutiveFailures: s.ConsecutiveFailures, ConsecutiveSuccesses: s.ConsecutiveSuccesses, LastCheckMs: s.LastCheckMs,
				LastFailureMs: s.LastFailureMs, Models: s.Models, Draining: s.Draining, DrainReason: s.DrainReason}
		}
		return write(c, out)
	})
	return e
}

// countingWriter is a response writer that keeps only the status and the
// size of the body, so that the benchmark measures the server, not a
// recorder.
type countingWriter struct {
	header http.Header
	code   int
	n      int
}

func (w *countingWriter) Header() http.Header { return w.header }

func (w *countingWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += len(p)
	return len(p), nil
}

// BenchmarkRequestPath measures what aiadmin's HTTP layer (authentication,
// validation against the spec, logging, metrics, the strict handler) costs
// over a bare echo handler making the same store calls and writing the same
// bytes, with the store in memory and no network. Each iteration sends one
// request to each side, so both see the same machine; it reports each
// side's ns per request and their ratio (x-bare), and allocations of the
// two together.
func BenchmarkRequestPath(b *testing.B) {
	m := newMemoryFleet()
	authn, err := auth.NewFileAuthenticator([]auth.FileEntry{{UserID: "usr_bench", Roles: []string{auth.AdminRole}, BearerSHA256: auth.HashSecret(adminToken)}})
	if err != nil {
		b.Fatal(err)
	}
	// Production's logger: JSON at info, sampled.
	core := zapcore.NewSamplerWithOptions(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
		zapcore.AddSync(io.Discard), zapcore.InfoLevel), time.Second, 100, 100)
	full, err := httpapi.NewHTTPHandler(httpapi.HTTPOptions{Logger: zap.New(core), Authenticator: authn,
		API: &httpapi.Handlers{Affinity: m, Registry: m, Servers: m, Log: zap.NewNop()}})
	if err != nil {
		b.Fatal(err)
	}
	bare := bareEcho(m)
	for _, path := range []string{"affinity", "registry/bench-model?page=500&limit=100", "servers?limit=50"} {
		b.Run(path, func(b *testing.B) {
			send := func(h http.Handler) (time.Duration, int) {
				req, err := http.NewRequest(http.MethodGet, "http://bench"+httpapi.AdminPrefix+path, http.NoBody)
				if err != nil {
					b.Fatal(err)
				}
				// As the server receives it.
				req.RequestURI, req.RemoteAddr = req.URL.RequestURI(), "127.0.0.1:40000"
				req.Header.Set("Authorization", "Bearer "+adminToken)
				w := &countingWriter{header: http.Header{}}
				start := time.Now()
				h.ServeHTTP(w, req)
				took := time.Since(start)
				if w.code != http.StatusOK {
					b.Fatalf("%s answered %d", path, w.code)
				}
				return took, w.n
			}
			if _, fl := send(full); true {
				if _, bl := send(bare); fl != bl {
					b.Fatalf("%s: %d bytes from aiadmin, %d from the bare handler", path, fl, bl)
				}
			}
			var tFull, tBare time.Duration
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				f, _ := send(full)
				bb, _ := send(bare)
				tFull, tBare, n = tFull+f, tBare+bb, n+1
			}
			b.ReportMetric(float64(tFull.Nanoseconds())/float64(n), "aiadmin-ns/req")
			b.ReportMetric(float64(tBare.Nanoseconds())/float64(n), "bare-ns/req")
			b.ReportMetric(float64(tFull)/float64(tBare), "x-bare")
		})
	}
}
