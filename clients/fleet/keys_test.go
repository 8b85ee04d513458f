package fleet_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/threatwinds/aiadmin/clients/fleet"
)

// testBracesInIDs runs every multi-key operation with ids holding hash-tag
// braces and colons: on a cluster each must still keep its keys in one slot
// (valkey-go panics, and the server refuses, otherwise).
func testBracesInIDs(t *testing.T, b backend) {
	ctx := testContext(t)
	s := fleet.New(b.client, fleet.Options{})
	urls := []string{"http://x/}a{b}", "http://x/{}", "http://{y}:1/v1", "}"}
	models := []string{"{m}", "m}1:2", "{"}
	users := []string{"{u}", "}", "u{1}:x"}

	for _, u := range urls {
		if err := s.RegisterServer(ctx, fleet.ProviderVLLM, u, models); err != nil {
			t.Fatal(err)
		}
		if err := s.RegisterServer(ctx, fleet.ProviderSGLang, u, models[:1]); err != nil {
			t.Fatal(err)
		}
		for _, m := range models {
			l, err := s.StartRequest(ctx, u, m)
			if err != nil {
				t.Fatal(err)
			}
			if m == models[0] {
				if err := s.FinishRequest(ctx, l); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, user := range users {
			pin(t, s, fleet.ProviderVLLM, user, models[0], u)
		}
	}
	for _, m := range models {
		got, total, err := s.RegistryPage(ctx, m, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if total != int64(len(urls)) || len(got) != len(urls) {
			t.Errorf("RegistryPage(%q) = %q, %d; want all %d URLs", m, got, total, len(urls))
		}
	}
	byURL, err := s.ModelsForURLs(ctx, urls)
	if err != nil {
		t.Fatal(err)
	}
	for i, got := range byURL {
		if diff := cmp.Diff([]string{"m}1:2", "{", "{m}"}, got); diff != "" {
			t.Errorf("models of %q (-want +got):\n%s", urls[i], diff)
		}
	}
	ds, err := s.DemandMany(ctx, urls)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Inflight != int64(len(models)-1) || len(d.Models) != len(models) {
			t.Errorf("demand of %q = %+v", d.URL, d)
		}
	}
	for _, user := range users {
		url, ok, err := s.LookupSession(ctx, fleet.ProviderVLLM, user, models[0])
		if err != nil || !ok || url != urls[len(urls)-1] {
			t.Errorf("LookupSession(%q) = %q, %v, %v", user, url, ok, err)
		}
		n, err := s.ClearAffinity(ctx, user, &models[0])
		if err != nil || n != 1 {
			t.Errorf("ClearAffinity(%q) = %d, %v; want 1", user, n, err)
		}
	}
	for _, u := range urls {
		if err := s.DeregisterServer(ctx, fleet.ProviderVLLM, u); err != nil {
			t.Fatal(err)
		}
	}
	servers, err := s.Servers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(servers) != len(urls) {
		t.Errorf("%d servers left, want the %d sglang ones", len(servers), len(urls))
	}
}

// TestKeysAreDistinct guards the schema against two kinds of key colliding.
func TestKeysAreDistinct(t *testing.T) {
	keys := []string{
		fleet.RegistryServersKey(fleet.ProviderVLLM),
		fleet.RegistryServerModelsKey(fleet.ProviderVLLM, "http://a"),
		fleet.RegistryModelKey("http://a"),
		fleet.AffinityKey("u"),
		fleet.AffinityStatsKey(),
		fleet.DemandLeasesKey("http://a"),
		fleet.DemandLastUseKey("http://a"),
		fleet.DemandWindowKey("http://a", 1),
		fleet.HealthKey("http://a"),
		fleet.RefreshChannel(),
		fleet.DrainsKey(),
		fleet.LeaseKey("prober"),
		fleet.LeaseKey(fleet.RestartLeaseName("pod-1")),
		fleet.AuditStreamKey(),
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			t.Errorf("key %q built twice", k)
		}
		seen[k] = true
	}
	want := []string{
		"{aiadmin:reg}:servers:vllm",
		"{aiadmin:reg}:server:vllm:http://a",
		"{aiadmin:reg}:model:http://a",
		"{aiadmin:aff:u}:sessions",
		"aiadmin:aff:stats",
		"{aiadmin:dem:http://a}:leases",
		"{aiadmin:dem:http://a}:last",
		"{aiadmin:dem:http://a}:win:1",
		"aiadmin:health:http://a",
		"aiadmin:reg:refresh",
		"aiadmin:drains",
		"aiadmin:lease:prober",
		"aiadmin:lease:restart:pod-1",
		"aiadmin:audit",
	}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("keys differ from SCHEMA.md (-want +got):\n%s", diff)
	}
}
