package contracttest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/threatwinds/aiadmin/clients/auth"
	"github.com/threatwinds/aiadmin/gen/adminclient"
)

// WriteCredentialsFile writes a credentials file in a temporary directory
// of tb with one entry: userID holding the ai_admin role, proved by the
// bearer token. It returns the file's path.
func WriteCredentialsFile(tb testing.TB, userID, token string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "creds.yaml")
	content := fmt.Sprintf("credentials:\n  - user_id: %s\n    roles: [%s]\n    bearer_sha256: %s\n",
		userID, auth.AdminRole, auth.HashSecret(token))
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// ListedServer returns the entry of url on the first page of 100 servers c
// lists, or nil and a description of what the server answered instead.
func ListedServer(ctx context.Context, c *adminclient.ClientWithResponses, url string) (*adminclient.Server, string) {
	limit := int64(100)
	resp, err := c.ListServersWithResponse(ctx, &adminclient.ListServersParams{Limit: &limit})
	if err != nil {
		return nil, err.Error()
	}
	if resp.JSON200 == nil {
		return nil, fmt.Sprintf("status %d: %s", resp.StatusCode(), resp.Body)
	}
	for _, s := range resp.JSON200.Servers {
		if s.Url == url {
			return &s, fmt.Sprintf("%+v", s)
		}
	}
	return nil, fmt.Sprintf("not listed: %s", resp.Body)
}

// InferenceServer serves, on loopback until tb ends, a minimal inference
// server that answers GET /v1/models with the given models, and returns its
// server URL (ending in /v1) as the registry holds it.
func InferenceServer(tb testing.TB, models ...string) string {
	tb.Helper()
	data := make([]map[string]string, 0, len(models))
	for _, m := range models {
		data = append(data, map[string]string{"id": m})
	}
	body, err := json.Marshal(map[string]any{"object": "list", "data": data})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/v1/models" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	tb.Cleanup(srv.Close)
	return srv.URL + "/v1"
}
