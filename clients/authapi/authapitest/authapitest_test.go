package authapitest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/clients/authapi/authapitest"
)

func get(t *testing.T, ctx context.Context, url string, header map[string]string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decoding answer of GET %s: %v", url, err)
	}
	return resp, body
}

func TestAnswersAsDocumented(t *testing.T) {
	srv := authapitest.NewServer()
	defer srv.Close()
	expire := time.Unix(1_674_492_894, 0)
	srv.AddSession("tok", authapitest.Session{SessionID: "s1", UserID: "u1", Verified: true, ExpireAt: expire, Roles: []string{"user", "admin"}, Groups: []string{"public"}})
	srv.AddKeyPair("key", "secret", authapitest.KeyPair{KeyID: "k1", UserID: "u2", Verified: true, ExpireAt: expire, Roles: []string{"ai_admin"}})
	ctx := context.Background()

	tests := []struct {
		name       string
		path       string
		header     map[string]string
		wantStatus int
		wantBody   map[string]any
	}{
		{
			name: "session", path: "/session", header: map[string]string{"Authorization": "Bearer tok"}, wantStatus: http.StatusOK,
			wantBody: map[string]any{"sessionID": "s1", "userID": "u1", "verified": true, "expireAt": float64(1_674_492_894), "roles": []any{"user", "admin"}, "groups": []any{"public"}},
		},
		{
			name: "key pair", path: "/keypair", header: map[string]string{"api-key": "key", "api-secret": "secret"}, wantStatus: http.StatusOK,
			wantBody: map[string]any{"apiKey": "key", "keyID": "k1", "userID": "u2", "verified": true, "expireAt": float64(1_674_492_894), "roles": []any{"ai_admin"}, "groups": []any{}},
		},
		{name: "unknown token", path: "/session", header: map[string]string{"Authorization": "Bearer nope"}, wantStatus: http.StatusUnauthorized},
		{name: "no bearer", path: "/session", wantStatus: http.StatusUnauthorized},
		{name: "wrong secret", path: "/keypair", header: map[string]string{"api-key": "key", "api-secret": "nope"}, wantStatus: http.StatusUnauthorized},
		{name: "unknown path", path: "/nothing", wantStatus: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, ctx, srv.URL()+tt.path, tt.header)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusOK {
				if diff := cmp.Diff(tt.wantBody, body); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
				return
			}
			msg, id := resp.Header.Get("x-error"), resp.Header.Get("x-error-id")
			if msg == "" || id == "" {
				t.Errorf("x-error = %q, x-error-id = %q, want both set", msg, id)
			}
			if diff := cmp.Diff(map[string]any{"error": msg, "errorID": id}, body); diff != "" {
				t.Errorf("error body (-want +got):\n%s", diff)
			}
		})
	}
	if n := srv.Calls(); n != int64(len(tests)) {
		t.Errorf("Calls() = %d, want %d", n, len(tests))
	}
}

func TestFailingAndSlow(t *testing.T) {
	srv := authapitest.NewServer()
	defer srv.Close()
	srv.AddSession("tok", authapitest.Session{UserID: "u", Verified: true, ExpireAt: time.Now().Add(time.Hour)})
	bearer := map[string]string{"Authorization": "Bearer tok"}
	ctx := context.Background()

	srv.SetFailing(http.StatusInternalServerError)
	if resp, _ := get(t, ctx, srv.URL()+"/session", bearer); resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("x-error-id") == "" {
		t.Errorf("failing: status = %d, x-error-id = %q", resp.StatusCode, resp.Header.Get("x-error-id"))
	}
	srv.SetFailing(0)
	srv.SetDelay(100 * time.Millisecond)
	start := time.Now()
	if resp, _ := get(t, ctx, srv.URL()+"/session", bearer); resp.StatusCode != http.StatusOK {
		t.Errorf("slow: status = %d, want 200", resp.StatusCode)
	}
	if elapsed := time.Since(start); elapsed < 100*time.Millisecond {
		t.Errorf("slow: answered after %v, want at least 100ms", elapsed)
	}
	if n := srv.Calls(); n != 2 {
		t.Errorf("Calls() = %d, want 2", n)
	}
}
