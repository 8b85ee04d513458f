package fleet_test

import (
	"context"
	"crypto/tls"
	"errors"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
)

// TestConnectSurvivesOutage stops the server under a connected store: calls
// fail on their own, well before their context ends, and succeed again once
// the server is back on the same address, without a new client.
func TestConnectSurvivesOutage(t *testing.T) {
	srv := valkeytest.StartServer(t)
	c := connect(t, fleet.ConnectOptions{Addrs: []string{srv.Addr()}})
	s := fleet.New(c, fleet.Options{})
	if err := s.RegisterServer(testContext(t), fleet.ProviderVLLM, "http://a:8000", []string{"m1"}); err != nil {
		t.Fatal(err)
	}

	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	calls := map[string]func() error{
		"read":   func() error { _, _, err := s.RegistryPage(ctx, "m1", 0, 10); return err },
		"write":  func() error { _, err := s.StartRequest(ctx, "http://a:8000", "m1"); return err },
		"script": func() error { return s.RegisterServer(ctx, fleet.ProviderVLLM, "http://b:8000", nil) },
	}
	for name, call := range calls {
		err := call()
		if err == nil {
			t.Errorf("%s while the server is down: no error", name)
		}
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			t.Errorf("%s while the server is down waited for the caller's deadline: %v", name, err)
		}
	}

	srv.Start()
	var err error
	for range 100 {
		if _, _, err = s.RegistryPage(ctx, "m1", 0, 10); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("store did not recover after the server came back: %v", err)
	}
	// Writes are never retried by the client (a write may have run before
	// its connection broke). Each pooled connection learns of the restart on
	// its next use, or from its background PING within about a second, so a
	// write right after the restart may fail once on one of them.
	for attempt := 1; ; attempt++ {
		err := s.RegisterServer(ctx, fleet.ProviderVLLM, "http://a:8000", []string{"m1"})
		if err == nil {
			break
		}
		if attempt == 5 {
			t.Fatalf("write after recovery failed %d times: %v", attempt, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestConnectFailsWithoutServer(t *testing.T) {
	srv := valkeytest.StartServer(t)
	addr := srv.Addr()
	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := fleet.Connect(ctx, fleet.ConnectOptions{Addrs: []string{addr}})
	if err == nil {
		c.Close()
		t.Fatal("connected to a stopped server")
	}
	if ctx.Err() != nil {
		t.Errorf("Connect waited for the caller's deadline: %v", err)
	}
	if _, err := fleet.Connect(ctx, fleet.ConnectOptions{}); err == nil {
		t.Error("connected without addresses")
	}
}

// TestConnectTLS connects to a server that speaks TLS only: with its CA
// trusted, the store reads and writes; without TLS, or trusting only the
// system's CAs, Connect fails instead of talking in clear or to a server it
// cannot verify.
func TestConnectTLS(t *testing.T) {
	srv := valkeytest.StartTLSServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	c, err := fleet.Connect(ctx, fleet.ConnectOptions{Addrs: []string{srv.Addr()}, TLS: srv.TLS().ClientConfig()})
	if err != nil {
		t.Fatalf("connecting with the CA trusted: %v", err)
	}
	defer c.Close()
	s := fleet.New(c, fleet.Options{})
	if err := s.RegisterServer(ctx, fleet.ProviderVLLM, "http://a:8000", []string{"m1"}); err != nil {
		t.Fatal(err)
	}
	urls, total, err := s.RegistryPage(ctx, "m1", 0, 10)
	if err != nil || total != 1 || len(urls) != 1 || urls[0] != "http://a:8000" {
		t.Errorf("registry over TLS: %v %d %v", urls, total, err)
	}

	for name, o := range map[string]fleet.ConnectOptions{
		"plain TCP":           {Addrs: []string{srv.Addr()}, DialTimeout: time.Second, CommandTimeout: time.Second},
		"system CAs only":     {Addrs: []string{srv.Addr()}, TLS: &tls.Config{MinVersion: tls.VersionTLS12}},
		"wrong name expected": {Addrs: []string{srv.Addr()}, TLS: withServerName(srv.TLS().ClientConfig(), "valkey.example")},
	} {
		if c, err := fleet.Connect(ctx, o); err == nil {
			c.Close()
			t.Errorf("%s: connected to the TLS server", name)
		}
	}
}

func withServerName(c *tls.Config, name string) *tls.Config {
	c.ServerName = name
	return c
}
