package fleet_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/valkey-io/valkey-go"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
)

// enrichWriteCounter counts the writes of a connection; a pipeline is one
// write, so writes count round trips.
type enrichWriteCounter struct {
	net.Conn
	writes *atomic.Int64
}

func (c enrichWriteCounter) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// enrichClient connects to addrs with background PINGs off, counting writes.
func enrichClient(t *testing.T, addrs []string) (valkey.Client, *atomic.Int64) {
	t.Helper()
	writes := &atomic.Int64{}
	opt := fleet.ConnectOptions{Addrs: addrs}.ClientOption()
	opt.Dialer.KeepAlive = -1
	opt.DialCtxFn = func(ctx context.Context, addr string, d *net.Dialer, _ *tls.Config) (net.Conn, error) {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		return enrichWriteCounter{Conn: conn, writes: writes}, nil
	}
	c, err := valkey.NewClient(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, writes
}

func TestBackendStates(t *testing.T) {
	backends := []struct {
		name  string
		addrs []string
	}{
		{"standalone", []string{valkeytest.StartServer(t).Addr()}},
		{"cluster", valkeytest.StartCluster(t)},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			now := time.UnixMilli(1_700_000_000_000)
			c, writes := enrichClient(t, b.addrs)
			s := fleet.New(c, fleet.Options{Now: func() time.Time { return now }})

			const (
				healthy   = "https://healthy.proxy.runpod.net/v1"
				unprobed  = "https://unprobed.proxy.runpod.net/v1"
				outside   = "https://outside.proxy.runpod.net/v1"
				twoPools  = "https://two-pools.proxy.runpod.net/v1"
				unhealthy = "https://unhealthy.proxy.runpod.net/v1"
			)
			for _, r := range []struct {
				provider, url string
				models        []string
			}{
				{"vllm", healthy, []string{"qwen-27b", "qwen-35b"}},
				{"vllm", unprobed, []string{"qwen-27b"}},
				{"sglang", unhealthy, nil},
				{"vllm", twoPools, []string{"qwen-27b"}},
				{"speaches", twoPools, []string{"whisper", "qwen-27b"}},
			} {
				if err := s.RegisterServer(ctx, r.provider, r.url, r.models); err != nil {
					t.Fatal(err)
				}
			}
			up, down := true, false
			if err := s.RecordHealth(ctx, healthy, fleet.ServerHealth{Healthy: &up, ConsecutiveSuccesses: 3, LastCheckMs: 7}); err != nil {
				t.Fatal(err)
			}
			if err := s.RecordHealth(ctx, unhealthy, fleet.ServerHealth{Healthy: &down, ConsecutiveFailures: 4}); err != nil {
				t.Fatal(err)
			}
			// Health of a URL no pool holds is kept, but says nothing of a pool.
			if err := s.RecordHealth(ctx, outside, fleet.ServerHealth{Healthy: &up}); err != nil {
				t.Fatal(err)
			}
			for _, m := range []string{"qwen-27b", "qwen-27b", "qwen-35b"} {
				if _, err := s.StartRequest(ctx, healthy, m); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.StartRequest(ctx, outside, "stray"); err != nil {
				t.Fatal(err)
			}

			urls := []string{healthy, unprobed, outside, twoPools, unhealthy, "https://nowhere/v1"}
			if _, err := s.BackendStates(ctx, urls); err != nil { // connects every node
				t.Fatal(err)
			}
			before := writes.Load()
			got, err := s.BackendStates(ctx, urls)
			if err != nil {
				t.Fatal(err)
			}
			if b.name == "standalone" {
				if n := writes.Load() - before; n != 1 {
					t.Errorf("reading %d backend states took %d round trips, want 1", len(urls), n)
				}
			}
			nowMs := now.UnixMilli()
			want := []fleet.BackendState{
				{URL: healthy, Models: []string{"qwen-27b", "qwen-35b"}, Pooled: true,
					Health:   fleet.ServerHealth{Healthy: &up, ConsecutiveSuccesses: 3, LastCheckMs: 7},
					Inflight: 3, LastUseMs: nowMs},
				{URL: unprobed, Models: []string{"qwen-27b"}, Pooled: true},
				{URL: outside, Models: []string{}, Health: fleet.ServerHealth{Healthy: &up}, Inflight: 1, LastUseMs: nowMs},
				{URL: twoPools, Models: []string{"qwen-27b", "whisper"}, Pooled: true},
				{URL: unhealthy, Models: []string{}, Pooled: true, Health: fleet.ServerHealth{Healthy: &down, ConsecutiveFailures: 4}},
				{URL: "https://nowhere/v1", Models: []string{}},
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("BackendStates (-want +got):\n%s", d)
			}

			// Once its lease expires a request no longer counts; the last use stays.
			now = now.Add(fleet.DefaultRequestLease + time.Millisecond)
			later, err := s.BackendStates(ctx, []string{healthy})
			if err != nil {
				t.Fatal(err)
			}
			if later[0].Inflight != 0 || later[0].LastUseMs != nowMs {
				t.Errorf("after the lease: inflight %d, last use %d; want 0, %d", later[0].Inflight, later[0].LastUseMs, nowMs)
			}

			empty, err := s.BackendStates(ctx, nil)
			if err != nil || len(empty) != 0 || empty == nil {
				t.Errorf("BackendStates(nil) = %#v, %v; want an empty list", empty, err)
			}
			if _, err := s.BackendStates(ctx, []string{healthy, ""}); !errors.Is(err, fleet.ErrEmptyURL) {
				t.Errorf("an empty url: err = %v, want %v", err, fleet.ErrEmptyURL)
			}
		})
	}
}
