package fleet_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/threatwinds/aiadmin/clients/fleet"
)

func podURL(i int) string { return fmt.Sprintf("http://pod-%03d:8000/v1", i) }

func testRegistryPage(t *testing.T, b backend) {
	ctx := testContext(t)
	s := fleet.New(b.client, fleet.Options{})
	// Registered out of order, so that the order read back is the store's.
	const n = 25
	for _, i := range []int{7, 3, 24, 0, 11, 19, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18, 20, 21, 22, 23} {
		if err := s.RegisterServer(ctx, fleet.ProviderVLLM, podURL(i), []string{"llama"}); err != nil {
			t.Fatal(err)
		}
	}
	all := make([]string, n)
	for i := range all {
		all[i] = podURL(i)
	}
	tests := []struct {
		name          string
		model         string
		offset, limit int64
		want          []string
		wantTotal     int64
	}{
		{"first page", "llama", 0, 10, all[:10], n},
		{"middle page", "llama", 10, 10, all[10:20], n},
		{"last partial page", "llama", 20, 10, all[20:], n},
		{"at the end", "llama", 25, 10, []string{}, n},
		{"beyond the end", "llama", 1000, 10, []string{}, n},
		{"limit larger than all", "llama", 0, 1 << 62, all, n},
		{"huge offset and limit", "llama", 1 << 62, 1 << 62, []string{}, n},
		{"unknown model", "nope", 0, 10, []string{}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 2 { // the order is stable between calls
				got, total, err := s.RegistryPage(ctx, tc.model, tc.offset, tc.limit)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("urls (-want +got):\n%s", diff)
				}
				if total != tc.wantTotal {
					t.Errorf("total = %d, want %d", total, tc.wantTotal)
				}
			}
		})
	}
}

func testRegistryPageValidation(t *testing.T, b backend) {
	ctx := testContext(t)
	s := fleet.New(b.client, fleet.Options{})
	tests := []struct {
		name          string
		model         string
		offset, limit int64
		want          error
	}{
		{"negative offset", "m", -1, 10, fleet.ErrInvalidPage},
		{"zero limit", "m", 0, 0, fleet.ErrInvalidPage},
		{"negative limit", "m", 0, -5, fleet.ErrInvalidPage},
		{"empty model", "", 0, 10, fleet.ErrEmptyModel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := s.RegistryPage(ctx, tc.model, tc.offset, tc.limit)
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// registryOp is one write in a registry scenario.
type registryOp struct {
	deregister bool
	provider   string
	url        string
	models     []string
}

func testRegisterDeregister(t *testing.T, b backend) {
	ctx := testContext(t)
	s := fleet.New(b.client, fleet.Options{})
	const a, bb, c = "http://a:8000", "http://b:8000", "http://c:8000"
	steps := []struct {
		name        string
		ops         []registryOp
		wantServers []fleet.Server
		wantModels  map[string][]string // model -> URLs
		wantByURL   map[string][]string // URL -> models
	}{
		{
			name: "register",
			ops: []registryOp{
				{provider: fleet.ProviderVLLM, url: a, models: []string{"m2", "m1", "m1"}},
				{provider: fleet.ProviderSGLang, url: bb, models: []string{"m2"}},
				{provider: fleet.ProviderSpeaches, url: c, models: nil},
			},
			wantServers: []fleet.Server{
				{Provider: fleet.ProviderVLLM, URL: a, Models: []string{"m1", "m2"}},
				{Provider: fleet.ProviderSGLang, URL: bb, Models: []string{"m2"}},
				{Provider: fleet.ProviderSpeaches, URL: c, Models: []string{}},
			},
			wantModels: map[string][]string{"m1": {a}, "m2": {a, bb}, "m3": {}},
			wantByURL:  map[string][]string{a: {"m1", "m2"}, bb: {"m2"}, c: {}},
		},
		{
			name: "re-register replaces the model set",
			ops:  []registryOp{{provider: fleet.ProviderVLLM, url: a, models: []string{"m2", "m3"}}},
			wantServers: []fleet.Server{
				{Provider: fleet.ProviderVLLM, URL: a, Models: []string{"m2", "m3"}},
				{Provider: fleet.ProviderSGLang, URL: bb, Models: []string{"m2"}},
				{Provider: fleet.ProviderSpeaches, URL: c, Models: []string{}},
			},
			wantModels: map[string][]string{"m1": {}, "m2": {a, bb}, "m3": {a}},
			wantByURL:  map[string][]string{a: {"m2", "m3"}, bb: {"m2"}, c: {}},
		},
		{
			name: "one URL under two providers",
			ops:  []registryOp{{provider: fleet.ProviderSGLang, url: a, models: []string{"m3"}}},
			wantServers: []fleet.Server{
				{Provider: fleet.ProviderVLLM, URL: a, Models: []string{"m2", "m3"}},
				{Provider: fleet.ProviderSGLang, URL: a, Models: []string{"m3"}},
				{Provider: fleet.ProviderSGLang, URL: bb, Models: []string{"m2"}},
				{Provider: fleet.ProviderSpeaches, URL: c, Models: []string{}},
			},
			wantModels: map[string][]string{"m2": {a, bb}, "m3": {a}},
			wantByURL:  map[string][]string{a: {"m2", "m3"}},
		},
		{
			name: "deregister keeps models another provider serves at the URL",
			ops:  []registryOp{{deregister: true, provider: fleet.ProviderVLLM, url: a}},
			wantServers: []fleet.Server{
				{Provider: fleet.ProviderSGLang, URL: a, Models: []string{"m3"}},
				{Provider: fleet.ProviderSGLang, URL: bb, Models: []string{"m2"}},
				{Provider: fleet.ProviderSpeaches, URL: c, Models: []string{}},
			},
			wantModels: map[string][]string{"m2": {bb}, "m3": {a}},
			wantByURL:  map[string][]string{a: {"m3"}},
		},
		{
			name: "deregister everything, twice",
			ops: []registryOp{
				{deregister: true, provider: fleet.ProviderSGLang, url: a},
				{deregister: true, provider: fleet.ProviderSGLang, url: bb},
				{deregister: true, provider: fleet.ProviderSpeaches, url: c},
				{deregister: true, provider: fleet.ProviderSpeaches, url: c},
				{deregister: true, provider: fleet.ProviderVLLM, url: "http://never:1"},
			},
			wantServers: []fleet.Server{},
			wantModels:  map[string][]string{"m1": {}, "m2": {}, "m3": {}},
			wantByURL:   map[string][]string{a: {}, bb: {}, c: {}},
		},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			for _, op := range step.ops {
				var err error
				if op.deregister {
					err = s.DeregisterServer(ctx, op.provider, op.url)
				} else {
					err = s.RegisterServer(ctx, op.provider, op.url, op.models)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			servers, err := s.Servers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(step.wantServers, servers); diff != "" {
				t.Errorf("Servers (-want +got):\n%s", diff)
			}
			for model, want := range step.wantModels {
				got, total, err := s.RegistryPage(ctx, model, 0, 100)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("RegistryPage(%s) (-want +got):\n%s", model, diff)
				}
				if total != int64(len(want)) {
					t.Errorf("RegistryPage(%s) total = %d, want %d", model, total, len(want))
				}
			}
			var urls []string
			var want [][]string
			for u, models := range step.wantByURL {
				urls = append(urls, u)
				want = append(want, models)
			}
			got, err := s.ModelsForURLs(ctx, urls)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ModelsForURLs(%v) (-want +got):\n%s", urls, diff)
			}
		})
	}

	got, err := s.ModelsForURLs(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{}, got); diff != "" {
		t.Errorf("ModelsForURLs(nil) (-want +got):\n%s", diff)
	}
}

func testRegistryValidation(t *testing.T, b backend) {
	ctx := testContext(t)
	s := fleet.New(b.client, fleet.Options{})
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"register unknown provider", func() error { return s.RegisterServer(ctx, "tgi", "http://a", []string{"m"}) }, fleet.ErrUnknownProvider},
		{"register empty url", func() error { return s.RegisterServer(ctx, fleet.ProviderVLLM, "", []string{"m"}) }, fleet.ErrEmptyURL},
		{"register empty model", func() error { return s.RegisterServer(ctx, fleet.ProviderVLLM, "http://a", []string{"m", ""}) }, fleet.ErrEmptyModel},
		{"deregister unknown provider", func() error { return s.DeregisterServer(ctx, "tgi", "http://a") }, fleet.ErrUnknownProvider},
		{"deregister empty url", func() error { return s.DeregisterServer(ctx, fleet.ProviderVLLM, "") }, fleet.ErrEmptyURL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	servers, err := s.Servers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(servers) != 0 {
		t.Errorf("rejected writes registered %v", servers)
	}
}
