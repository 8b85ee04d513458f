package embedded_test

import (
	"context"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/embedded"
	"github.com/valkey-io/valkey-go"
)

// TestTTLRunsOnWallClock checks that keys expire in real time, as on a real
// server, without anyone advancing the store's clock.
func TestTTLRunsOnWallClock(t *testing.T) {
	srv, err := embedded.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := fleet.Connect(ctx, fleet.ConnectOptions{Addrs: []string{srv.Addr()}, Embedded: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	if err := c.Do(ctx, c.B().Set().Key("short").Value("v").Px(time.Second).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, c.B().Set().Key("long").Value("v").Px(time.Hour).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Do(ctx, c.B().Get().Key("short").Build()).ToString(); err != nil || got != "v" {
		t.Fatalf("GET short before its TTL = %q, %v", got, err)
	}

	time.Sleep(1500 * time.Millisecond)

	if err := c.Do(ctx, c.B().Get().Key("short").Build()).Error(); !valkey.IsValkeyNil(err) {
		t.Errorf("GET short after its TTL: err = %v, want nil reply", err)
	}
	if got, err := c.Do(ctx, c.B().Get().Key("long").Build()).ToString(); err != nil || got != "v" {
		t.Errorf("GET long = %q, %v; want v", got, err)
	}
}

func TestCloseStopsListening(t *testing.T) {
	srv, err := embedded.Start()
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr()
	srv.Close()
	srv.Close() // twice is harmless
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if c, err := fleet.Connect(ctx, fleet.ConnectOptions{Addrs: []string{addr}, Embedded: true}); err == nil {
		c.Close()
		t.Errorf("connected to %s after Close", addr)
	}
}
