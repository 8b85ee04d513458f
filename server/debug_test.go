package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/threatwinds/aiadmin/server"
	"github.com/threatwinds/aiadmin/server/contracttest"
)

// TestDebugListenServesPprofAndNothingElse runs a replica with
// --debug-listen: its own listener serves the pprof index and profiles and
// nothing of the API, the API's listener serves no profile, and both stop
// with the replica. Without the flag there is no such listener.
func TestDebugListenServesPprofAndNothingElse(t *testing.T) {
	creds := contracttest.WriteCredentialsFile(t, "usr_ops", adminToken)
	args := []string{"--listen", "127.0.0.1:0", "--auth-file", creds, "--demo=false"}
	cfg, err := server.ParseConfig(append(args, "--debug-listen", "127.0.0.1:0"), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	app, err := server.NewApp(ctx, cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	debug, api := "http://"+app.DebugAddr(), "http://"+app.Addr()
	if app.DebugAddr() == "" || app.DebugAddr() == app.Addr() {
		t.Fatalf("debug address %q, API address %q: want a listener of its own", app.DebugAddr(), app.Addr())
	}

	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct {
		url      string
		code     int
		contains string
	}{
		{debug + "/debug/pprof/", http.StatusOK, "goroutine"},
		{debug + "/debug/pprof/goroutine?debug=1", http.StatusOK, "goroutine profile"},
		{debug + "/debug/pprof/heap?debug=1", http.StatusOK, "heap profile"},
		{debug + "/healthz", http.StatusNotFound, ""},
		{debug + "/metrics", http.StatusNotFound, ""},
		{debug + "/api/ai/v1/admin/affinity", http.StatusNotFound, ""},
		{api + "/debug/pprof/", http.StatusNotFound, ""},
	} {
		if code, body := get(c.url); code != c.code || !strings.Contains(body, c.contains) {
			t.Errorf("GET %s: %d %.200q, want %d with %q", c.url, code, body, c.code, c.contains)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if _, err := http.Get(debug + "/debug/pprof/"); err == nil {
		t.Error("the debug listener still accepts after shutdown")
	}

	cfg, err = server.ParseConfig(args, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	off, err := server.NewApp(context.Background(), cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	if got := off.DebugAddr(); got != "" {
		t.Errorf("without --debug-listen: debug address %q, want none", got)
	}
}
