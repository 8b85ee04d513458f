package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/runpod"
	"github.com/threatwinds/aiadmin/gen/adminclient"
	"github.com/threatwinds/aiadmin/server/pods"
	"github.com/threatwinds/aiadmin/server/pool"
)

// The baseline is the physical limit each operation is compared with: a bare
// echo handler, with no middleware (no authentication, validation, logging or
// metrics), that issues the same Valkey commands as aiadmin, through the same
// fleet store, and writes the same bytes with encoding/json. Pods come from
// memory: the RunPod list is read once at start, and each request joins a
// page with its fleet state, the one Valkey round trip aiadmin makes for it.

// memoryRunPod answers the pod catalog's reads from a list read once.
type memoryRunPod struct {
	list []runpod.Pod
	byID map[string]runpod.Pod
}

// ListPods answers the list read at start.
func (m *memoryRunPod) ListPods(context.Context) ([]runpod.Pod, error) { return m.list, nil }

// GetPod answers a pod of the list read at start.
func (m *memoryRunPod) GetPod(_ context.Context, id string) (runpod.Pod, error) {
	if p, ok := m.byID[id]; ok {
		return p, nil
	}
	return runpod.Pod{}, runpod.ErrPodNotFound
}

// errReadOnly answers every change: the baseline only reads.
var errReadOnly = errors.New("the baseline never changes a pod")

// StopPod refuses: the baseline only reads.
func (m *memoryRunPod) StopPod(context.Context, string) error { return errReadOnly }

// ResumePod refuses: the baseline only reads.
func (m *memoryRunPod) ResumePod(context.Context, string, int) error { return errReadOnly }

// BidResumePod refuses: the baseline only reads.
func (m *memoryRunPod) BidResumePod(context.Context, string, int, float64) error {
	return errReadOnly
}

// baselineConfig is what the baseline process is started with.
type baselineConfig struct {
	listen, valkey, runpodURL, podPrefix, podURLTemplate string
}

// runBaseline serves the baseline until SIGTERM or SIGINT. The RunPod key
// comes from the environment, as for aiadmin.
func runBaseline(cfg baselineConfig) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	client, err := fleet.Connect(ctx, fleet.ConnectOptions{Addrs: []string{cfg.valkey}})
	if err != nil {
		return err
	}
	defer client.Close()
	store := fleet.New(client, fleet.Options{})
	rp, err := runpod.New(runpod.Options{URL: cfg.runpodURL, APIKey: os.Getenv("AIADMIN_RUNPOD_API_KEY")})
	if err != nil {
		return err
	}
	list, err := rp.ListPods(ctx)
	if err != nil {
		return fmt.Errorf("reading the pods once: %w", err)
	}
	mem := &memoryRunPod{list: list, byID: map[string]runpod.Pod{}}
	for _, p := range list {
		mem.byID[p.ID] = p
	}
	catalog := pods.New(mem, store, pods.Options{Prefix: cfg.podPrefix, URLTemplate: cfg.podURLTemplate, CacheTTL: 24 * time.Hour})
	defer catalog.Close()
	tables := pool.NewTables(client, store, pool.TablesOptions{})
	if err := tables.Reload(ctx); err != nil {
		return fmt.Errorf("loading the servers once: %w", err)
	}
	e := baselineHandler(store, catalog, pool.NewServerList(tables, store))

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// baselineHandler routes the read operations a load run measures.
func baselineHandler(store *fleet.Store, catalog *pods.Catalog, servers *pool.ServerList) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	const p = "/api/ai/v1/admin"
	e.GET("/readyz", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	e.GET(p+"/pods", func(c echo.Context) error {
		page, limit := pageOf(c)
		list, err := catalog.List(c.Request().Context(), (page-1)*limit, limit)
		if err != nil {
			return err
		}
		now := time.Now()
		out := adminclient.PodList{Page: page, Limit: limit, Total: list.Total, Pods: make([]adminclient.Pod, len(list.Pods))}
		for i, pd := range list.Pods {
			out.Pods[i] = podItem(pd, now)
		}
		return write(c, out)
	})
	e.GET(p+"/pods/:id", func(c echo.Context) error {
		pd, _, err := catalog.Get(c.Request().Context(), c.Param("id"))
		if err != nil {
			return err
		}
		return write(c, podDetail(pd, time.Now()))
	})
	e.GET(p+"/servers", func(c echo.Context) error {
		page, limit := pageOf(c)
		list, total, err := servers.ListServers(c.Request().Context(), (page-1)*limit, limit)
		if err != nil {
			return err
		}
		out := adminclient.ServerList{Page: page, Limit: limit, Total: total, Servers: make([]adminclient.Server, len(list))}
		for i, s := range list {
			out.Servers[i] = adminclient.Server{
				Provider: adminclient.ServerProvider(s.Provider), Url: s.URL, Healthy: s.Healthy,
				ConsecutiveFailures: s.ConsecutiveFailures, ConsecutiveSuccesses: s.ConsecutiveSuccesses,
				LastCheckMs: s.LastCheckMs, LastFailureMs: s.LastFailureMs, Models: s.Models,
				Draining: s.Draining, DrainReason: s.DrainReason,
			}
		}
		return write(c, out)
	})
	e.GET(p+"/affinity", func(c echo.Context) error {
		ms, err := store.AffinityMetrics(c.Request().Context())
		if err != nil {
			return err
		}
		out := adminclient.AffinityMetrics{Providers: make([]adminclient.ProviderAffinity, 0, len(ms))}
		for _, m := range ms {
			out.Providers = append(out.Providers, adminclient.ProviderAffinity{
				Name: m.Name, SessionHitCount: m.Hits, SessionMissCount: m.Misses, FallbackCount: m.Fallbacks, TtlMinutes: int64(m.TTL.Minutes()),
			})
		}
		return write(c, out)
	})
	e.GET(p+"/registry/:model", func(c echo.Context) error {
		page, limit := pageOf(c)
		model := param(c, "model")
		urls, total, err := store.RegistryPage(c.Request().Context(), model, (page-1)*limit, limit)
		if err != nil {
			return err
		}
		return write(c, adminclient.Registry{ModelId: model, Urls: urls, Page: page, Limit: limit, Total: total})
	})
	e.GET(p+"/demand/:url", func(c echo.Context) error {
		u := param(c, "url")
		d, err := store.Demand(c.Request().Context(), u)
		if err != nil {
			return err
		}
		out := adminclient.PodDemand{Url: u, Inflight: d.Inflight, LastUseMs: d.LastUseMs, IdleSeconds: idleSeconds(time.Now(), d.LastUseMs),
			Models: make([]adminclient.ModelDemand, 0, len(d.Models))}
		for _, m := range d.Models {
			out.Models = append(out.Models, adminclient.ModelDemand{ModelId: m.ModelID, Inflight: m.Inflight, Rate5m: m.Rate5m})
		}
		return write(c, out)
	})
	e.GET(p+"/affinity/users/:user", func(c echo.Context) error {
		user := param(c, "user")
		ss, err := store.UserSessions(c.Request().Context(), user)
		if err != nil {
			return err
		}
		out := adminclient.UserSessions{UserId: user, Sessions: make([]adminclient.Session, len(ss))}
		for i, s := range ss {
			out.Sessions[i] = adminclient.Session{Provider: adminclient.SessionProvider(s.Provider), ModelId: s.ModelID, Url: s.URL, ExpiresAt: s.ExpiresAt.UTC()}
		}
		return write(c, out)
	})
	e.GET(p+"/audit", func(c echo.Context) error {
		limit, _ := strconv.ParseInt(c.QueryParam("limit"), 10, 64)
		if limit <= 0 {
			limit = 50
		}
		entries, next, err := store.AuditPage(c.Request().Context(), c.QueryParam("before"), limit)
		if err != nil {
			return err
		}
		out := adminclient.AuditPage{Next: next, Entries: make([]adminclient.AuditEntry, len(entries))}
		for i, en := range entries {
			out.Entries[i] = adminclient.AuditEntry{Id: en.ID, At: en.Time.UTC(), UserId: en.UserID, Action: en.Action, Target: en.Target, Outcome: en.Outcome}
		}
		return write(c, out)
	})
	return e
}

// write answers v as aiadmin's handlers do: JSON with a trailing newline.
func write(c echo.Context, v any) error {
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	c.Response().WriteHeader(http.StatusOK)
	return json.NewEncoder(c.Response()).Encode(v)
}

// pageOf reads page and limit with the spec's defaults.
func pageOf(c echo.Context) (page, limit int64) {
	page, limit = 1, 10
	if v, err := strconv.ParseInt(c.QueryParam("page"), 10, 64); err == nil {
		page = v
	}
	if v, err := strconv.ParseInt(c.QueryParam("limit"), 10, 64); err == nil {
		limit = v
	}
	return page, limit
}

// param is a path parameter decoded once, as aiadmin decodes it.
func param(c echo.Context, name string) string {
	v := c.Param(name)
	if c.Request().URL.RawPath != "" {
		if u, err := url.PathUnescape(v); err == nil {
			return u
		}
	}
	return v
}

func idleSeconds(now time.Time, lastUseMs int64) int64 {
	if lastUseMs <= 0 {
		return 0
	}
	return max(0, (now.UnixMilli()-lastUseMs)/1000)
}

func podItem(p pods.Pod, now time.Time) adminclient.Pod {
	return adminclient.Pod{
		Id: p.ID, Name: p.Name, DesiredStatus: p.DesiredStatus, Kind: p.Kind, Url: p.URL, Draining: p.Draining,
		Models: p.Models, Healthy: p.Healthy, Inflight: p.Inflight, LastUseMs: p.LastUseMs, IdleSeconds: idleSeconds(now, p.LastUseMs),
		LastStatusChange: p.LastStatusChange, CostPerHr: p.CostPerHr, DataCenterId: p.DataCenterID, Location: p.Location, GpuTypeId: p.GPUTypeID,
	}
}

func podDetail(p pods.Pod, now time.Time) adminclient.PodDetail {
	return adminclient.PodDetail{
		Id: p.ID, Name: p.Name, DesiredStatus: p.DesiredStatus, Kind: p.Kind, Url: p.URL, Draining: p.Draining,
		Models: p.Models, Healthy: p.Healthy, Inflight: p.Inflight, LastUseMs: p.LastUseMs, IdleSeconds: idleSeconds(now, p.LastUseMs),
		LastStartedAt: p.LastStartedAt, LastStatusChange: p.LastStatusChange, CostPerHr: p.CostPerHr,
		DataCenterId: p.DataCenterID, Location: p.Location, GpuTypeId: p.GPUTypeID,
	}
}
