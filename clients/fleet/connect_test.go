package fleet_test

import (
	"context"
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
	if err := s.RegisterServer(ctx, fleet.ProviderVLLM, "http://a:8000", []string{"m1"}); err != nil {
		t.Errorf("write after recovery: %v", err)
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
