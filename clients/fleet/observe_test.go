package fleet_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/valkey-io/valkey-go"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
)

// failureLog records what ObserveFailures reports.
type failureLog struct {
	mu       sync.Mutex
	commands []string
}

func (f *failureLog) observe(command string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.commands = append(f.commands, command)
}

func (f *failureLog) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.commands
	f.commands = nil
	return out
}

// TestObserveFailures: refused commands and an unreachable server are
// reported by name; nil answers, a script's first run and a caller that
// gave up are not failures.
func TestObserveFailures(t *testing.T) {
	srv := valkeytest.StartServer(t)
	var log failureLog
	c := fleet.ObserveFailures(connect(t, fleet.ConnectOptions{Addrs: []string{srv.Addr()}, CommandTimeout: time.Second}), log.observe)
	ctx := testContext(t)
	s := fleet.New(c, fleet.Options{})

	// A missing key, then a script the server has never seen (NOSCRIPT,
	// answered by sending the script), both through the store.
	if _, err := s.LeaseHolder(ctx, "nobody"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeRate(ctx, fleet.RateReads, "usr_a", fleet.RateLimit{Limit: 1, Period: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if got := log.take(); len(got) != 0 {
		t.Fatalf("failures reported for a nil answer and a script's first run: %q", got)
	}

	// Refused: INCR of a string that is no number, alone and in a pipeline.
	if err := c.Do(ctx, c.B().Set().Key("word").Value("x").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, c.B().Incr().Key("word").Build()).Error(); err == nil {
		t.Fatal("INCR of a word succeeded")
	}
	c.DoMulti(ctx, c.B().Get().Key("word").Build(), c.B().Incr().Key("word").Build(), c.B().Get().Key("none").Build())
	if diff := cmp.Diff([]string{"INCR", "INCR"}, log.take()); diff != "" {
		t.Fatalf("reported failures (-want +got):\n%s", diff)
	}

	// A caller that gave up is no failure of the store.
	gone, cancel := context.WithCancel(ctx)
	cancel()
	c.Do(gone, c.B().Get().Key("word").Build())
	if got := log.take(); len(got) != 0 {
		t.Fatalf("a cancelled command was reported: %q", got)
	}

	// The server gone: every command fails, and each is reported.
	srv.Stop()
	if err := c.Do(ctx, c.B().Get().Key("word").Build()).Error(); err == nil || valkey.IsValkeyNil(err) {
		t.Fatalf("GET with the server stopped = %v, want a failure", err)
	}
	if diff := cmp.Diff([]string{"GET"}, log.take()); diff != "" {
		t.Fatalf("reported failures with the server stopped (-want +got):\n%s", diff)
	}
}
