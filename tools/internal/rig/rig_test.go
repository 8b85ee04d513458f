package rig_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/clients/auth"
	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/tools/internal/rig"
)

// TestRedisKillAndStart starts a server, kills it as a crash would, and
// starts it again on the same address.
func TestRedisKillAndStart(t *testing.T) {
	r, err := rig.StartRedis()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := rig.Ping(r.Addr()); err != nil {
		t.Fatalf("a started server: %v", err)
	}
	r.Kill()
	if err := rig.Ping(r.Addr()); err == nil {
		t.Fatal("a killed server still answers")
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	if err := rig.Ping(r.Addr()); err != nil {
		t.Fatalf("a restarted server: %v", err)
	}
}

// TestSeedWritesTheFleet seeds a small fleet into a real server and reads
// it back through the fleet store.
func TestSeedWritesTheFleet(t *testing.T) {
	r, err := rig.StartRedis()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := t.Context()
	client, err := fleet.Connect(ctx, fleet.ConnectOptions{Addrs: []string{r.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	store := fleet.New(client, fleet.Options{})
	urls := make([]string, 30)
	for i := range urls {
		urls[i] = fmt.Sprintf("http://127.0.0.1:9/pods/p%d/v1", i)
	}
	spec := rig.FleetSpec{ServerURLs: urls, BigModel: "big", BigModelURLs: 2500, Users: 200, DemandURLs: urls[:4], Drained: 3, AuditEntries: 120}
	seeded, err := rig.Seed(ctx, client, store, spec)
	if err != nil {
		t.Fatal(err)
	}

	servers, err := store.Servers(ctx)
	if err != nil || len(servers) != 30 {
		t.Fatalf("%d servers, %v; want 30", len(servers), err)
	}
	if _, total, err := store.RegistryPage(ctx, "big", 2400, 100); err != nil || total != 2500 {
		t.Errorf("the big model's registry holds %d URLs, %v; want 2500", total, err)
	}
	if len(seeded.Users) != 200 || seeded.Users[7] != rig.UserID(7) {
		t.Fatalf("seeded users: %d, the 8th %q", len(seeded.Users), seeded.Users[7])
	}
	for i, want := range map[int]int{0: 1, 1: 2} {
		ss, err := store.UserSessions(ctx, seeded.Users[i])
		if err != nil || len(ss) != want {
			t.Errorf("user %d: %d sessions, %v; want %d", i, len(ss), err, want)
		}
	}
	d, err := store.Demand(ctx, urls[3])
	if err != nil || d.Inflight != 2 || d.LastUseMs == 0 {
		t.Errorf("demand of the 4th URL: %+v, %v; want 2 in flight and a last use", d, err)
	}
	drains, err := store.Drains(ctx)
	if err != nil || len(drains) != 3 {
		t.Errorf("%d drains, %v; want 3", len(drains), err)
	}
	entries, _, err := store.AuditPage(ctx, "", 200)
	if err != nil || len(entries) != 120 {
		t.Errorf("%d audit entries, %v; want 120", len(entries), err)
	}
	health, err := store.HealthMany(ctx, urls[:1])
	if err != nil || health[0].Healthy == nil || !*health[0].Healthy {
		t.Errorf("health of a server: %+v, %v; want healthy", health, err)
	}
	metrics, err := store.AffinityMetrics(ctx)
	var hits int64
	for _, m := range metrics {
		hits += m.Hits + m.Misses + m.Fallbacks
	}
	if err != nil || hits != 300 {
		t.Errorf("affinity outcomes %d, %v; want 300", hits, err)
	}
}

// TestInferenceAnswersEveryProbe checks the inference stand-in answers a
// probe of any pod's server and nothing else.
func TestInferenceAnswersEveryProbe(t *testing.T) {
	in, err := rig.StartInference()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	for url, want := range map[string]int{in.URL("abc123") + "/models": 200, in.URL("abc123") + "/chat/completions": 404} {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || (want == 200 && len(body) == 0) {
			t.Errorf("GET %s: %d %s, want %d", url, resp.StatusCode, body, want)
		}
	}
}

// TestWriteCredentials writes a file aiadmin's credentials loader accepts,
// holding only the token's hash.
func TestWriteCredentials(t *testing.T) {
	creds, err := rig.WriteCredentials(t.TempDir(), "usr_rig")
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.LoadFile(creds.File)
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Authenticate(context.Background(), auth.Credentials{Bearer: creds.Token})
	if err != nil || p.UserID != "usr_rig" || !p.HasRole(auth.AdminRole) {
		t.Errorf("the token authenticates as %+v, %v", p, err)
	}
	content, err := os.ReadFile(creds.File)
	if err != nil || strings.Contains(string(content), creds.Token) {
		t.Errorf("the credentials file holds the token itself (%v)", err)
	}
}

// TestStartProcessWaitsForReadiness starts a process that never serves: it
// is reported as exited, not ready.
func TestStartProcessWaitsForReadiness(t *testing.T) {
	start := time.Now()
	_, err := rig.StartProcess(t.Context(), rig.ProcessOptions{Binary: "/bin/sh", Args: []string{"-c", "exit 3"}, Addr: "127.0.0.1:9", Ready: "/"})
	if err == nil || time.Since(start) > 20*time.Second {
		t.Errorf("a process that exits at once: %v after %s", err, time.Since(start))
	}
}
