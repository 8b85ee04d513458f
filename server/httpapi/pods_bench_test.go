package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/threatwinds/aiadmin/clients/auth"
	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
	"github.com/threatwinds/aiadmin/clients/runpod"
	"github.com/threatwinds/aiadmin/clients/runpod/standin"
	"github.com/threatwinds/aiadmin/server/httpapi"
	"github.com/threatwinds/aiadmin/server/pods"
)

// BenchmarkPodListWarm lists page 1 and page 50 (limit 100) of a fleet of
// 5,000 pods with a warm cache, both from the catalog and over HTTP through
// the whole middleware stack; every page is enriched from a real Valkey in
// which each pod is registered, probed and busy. Each sub-benchmark reports
// its latency as ms/op.
func BenchmarkPodListWarm(b *testing.B) {
	const fleetSize, limit = 5000, 100
	ctx := context.Background()

	vk := valkeytest.StartServer(b)
	client, err := fleet.Connect(ctx, fleet.ConnectOptions{Addrs: []string{vk.Addr()}, CommandTimeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(client.Close)
	store := fleet.New(client, fleet.Options{})

	standIn := standin.NewServer(runpodKey, standin.DemoPods(fleetSize, "aiapi-dev")...)
	rp, err := runpod.New(runpod.Options{URL: standIn.Start(b), APIKey: runpodKey})
	if err != nil {
		b.Fatal(err)
	}
	up := true
	for i, p := range standIn.Pods() {
		u := podBackendURL(p.ID)
		if err := store.RegisterServer(ctx, "vllm", u, []string{"qwen-27b", fmt.Sprintf("model-%d", i%7)}); err != nil {
			b.Fatal(err)
		}
		if i%2 == 0 {
			if err := store.RecordHealth(ctx, u, fleet.ServerHealth{Healthy: &up, ConsecutiveSuccesses: 2}); err != nil {
				b.Fatal(err)
			}
		}
		if i%3 == 0 {
			if _, err := store.StartRequest(ctx, u, "qwen-27b"); err != nil {
				b.Fatal(err)
			}
		}
	}

	catalog := pods.New(rp, store, pods.Options{Prefix: fleetPrefix, CacheTTL: time.Hour})
	if page, err := catalog.List(ctx, 0, limit); err != nil || page.Total != fleetSize {
		b.Fatalf("warming the cache: total %d, %v", page.Total, err)
	}

	authn, err := auth.NewFileAuthenticator([]auth.FileEntry{{UserID: "usr_bench", Roles: []string{auth.AdminRole}, BearerSHA256: auth.HashSecret(adminToken)}})
	if err != nil {
		b.Fatal(err)
	}
	e, err := httpapi.NewHTTPHandler(httpapi.HTTPOptions{Logger: zap.NewNop(), Authenticator: authn, API: &httpapi.Handlers{Pods: catalog, Log: zap.NewNop()}})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(e)
	b.Cleanup(srv.Close)
	hc := srv.Client()

	for _, page := range []int64{1, 50} {
		// Each sub-benchmark first lists a few pages untimed (b.Loop starts
		// the clock at its first call), so that even a single iteration, as
		// CI runs, times a warm path: a kept-alive connection, warm caches.
		const warmUp = 5
		b.Run(fmt.Sprintf("catalog/page=%d", page), func(b *testing.B) {
			list := func() {
				got, err := catalog.List(ctx, (page-1)*limit, limit)
				if err != nil || len(got.Pods) != limit {
					b.Fatalf("%d pods, %v", len(got.Pods), err)
				}
			}
			for range warmUp {
				list()
			}
			for b.Loop() {
				list()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/op")
		})
		b.Run(fmt.Sprintf("http/page=%d", page), func(b *testing.B) {
			url := fmt.Sprintf("%s%s?page=%d&limit=%d", srv.URL, podsPath, page, limit)
			get := func() {
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				req.Header.Set("Authorization", "Bearer "+adminToken)
				resp, err := hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"total":5000`) {
					b.Fatalf("%d %.200s %v", resp.StatusCode, body, err)
				}
			}
			for range warmUp {
				get()
			}
			for b.Loop() {
				get()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/op")
		})
	}
	if got := standIn.Calls(standin.OpMyself); got != 1 {
		b.Errorf("the warm benchmarks made %d RunPod list calls, want 1", got)
	}
}
