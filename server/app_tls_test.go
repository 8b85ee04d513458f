package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
	"github.com/threatwinds/aiadmin/server"
	"github.com/threatwinds/aiadmin/server/contracttest"
)

// TestAppValkeyTLS runs a replica against a Valkey that speaks TLS only:
// with its CA the replica is ready and serves fleet state; start-up fails,
// naming the setting, without the CA, with a CA file that is not PEM, and
// in plain TCP.
func TestAppValkeyTLS(t *testing.T) {
	vk := valkeytest.StartTLSServer(t)
	notPEM := filepath.Join(t.TempDir(), "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	creds := contracttest.WriteCredentialsFile(t, "usr_ops", adminToken)
	base := []string{"--listen", "127.0.0.1:0", "--valkey", vk.Addr()}
	newApp := func(args ...string) (*server.App, context.CancelFunc, error) {
		cfg, err := server.ParseConfig(append(base, args...), func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		app, err := server.NewApp(ctx, cfg, zap.NewNop())
		if err != nil {
			cancel()
		}
		return app, cancel, err
	}

	for _, tc := range []struct {
		name, setting string
		args          []string
	}{
		{"plain TCP", "--valkey", nil},
		{"system CAs only", "--valkey", []string{"--valkey-tls"}},
		{"CA file that is not PEM", "--valkey-tls-ca", []string{"--valkey-tls-ca", notPEM}},
		{"missing CA file", "--valkey-tls-ca", []string{"--valkey-tls-ca", filepath.Join(t.TempDir(), "absent.pem")}},
	} {
		if app, cancel, err := newApp(tc.args...); err == nil {
			app.Close()
			cancel()
			t.Errorf("%s: the replica started", tc.name)
		} else if !strings.Contains(err.Error(), tc.setting) {
			t.Errorf("%s: error %q does not name %s", tc.name, err, tc.setting)
		}
	}

	app, cancel, err := newApp("--valkey-tls-ca", vk.TLS().CAFile, "--auth-file", creds)
	if err != nil {
		t.Fatalf("with the CA: %v", err)
	}
	defer cancel()
	runCtx, stopRun := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(runCtx) }()
	defer func() {
		stopRun()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	url := "http://" + app.Addr()
	ready := false
	for deadline := time.Now().Add(10 * time.Second); !ready && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(url + "/readyz"); err == nil {
			resp.Body.Close()
			ready = resp.StatusCode == http.StatusOK
		}
	}
	if !ready {
		t.Fatal("the replica on TLS Valkey never became ready")
	}
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if err := app.Store.RegisterServer(ctx, "vllm", "http://a:8000", []string{"m1"}); err != nil {
		t.Fatalf("writing over TLS: %v", err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/ai/v1/admin/registry/m1", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Urls  []string `json:"urls"`
		Total int      `json:"total"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != http.StatusOK ||
		page.Total != 1 || len(page.Urls) != 1 || page.Urls[0] != "http://a:8000" {
		t.Errorf("registry through the replica: %d %+v %v", resp.StatusCode, page, err)
	}
}
