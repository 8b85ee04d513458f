package auth_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/clients/auth"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "creds.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFileAuthenticator(t *testing.T) {
	// The hashes of "test" and "foo", as in the documented example.
	path := writeFile(t, `credentials:
  - user_id: usr_ops
    roles: [ai_admin]
    bearer_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
  - user_id: usr_bot
    roles: [ai_admin, user]
    api_key: k_live_1
    api_secret_sha256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
  - user_id: usr_viewer
    roles: [user]
    bearer_sha256: `+auth.HashSecret("viewer-token")+"\n")
	a, err := auth.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		creds   auth.Credentials
		want    auth.Principal
		wantErr error
	}{
		{"bearer", auth.Credentials{Bearer: "test"}, auth.Principal{UserID: "usr_ops", Roles: []string{"ai_admin"}}, nil},
		{"key pair", auth.Credentials{APIKey: "k_live_1", APISecret: "foo"}, auth.Principal{UserID: "usr_bot", Roles: []string{"ai_admin", "user"}}, nil},
		{"role-less bearer", auth.Credentials{Bearer: "viewer-token"}, auth.Principal{UserID: "usr_viewer", Roles: []string{"user"}}, nil},
		{"wrong bearer", auth.Credentials{Bearer: "tesT"}, auth.Principal{}, auth.ErrInvalidCredentials},
		{"bearer that is a stored hash", auth.Credentials{Bearer: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}, auth.Principal{}, auth.ErrInvalidCredentials},
		{"wrong secret", auth.Credentials{APIKey: "k_live_1", APISecret: "bar"}, auth.Principal{}, auth.ErrInvalidCredentials},
		{"unknown key", auth.Credentials{APIKey: "k_live_2", APISecret: "foo"}, auth.Principal{}, auth.ErrInvalidCredentials},
		{"secret of a bearer entry", auth.Credentials{APIKey: "", APISecret: "test"}, auth.Principal{}, auth.ErrInvalidCredentials},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := a.Authenticate(context.Background(), tc.creds)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	p, _ := a.Authenticate(context.Background(), auth.Credentials{Bearer: "test"})
	if !p.HasRole(auth.AdminRole) {
		t.Error("usr_ops must hold ai_admin")
	}
}

func TestLoadFileRejectsBadFiles(t *testing.T) {
	cases := map[string]struct{ content, want string }{
		"empty":            {"credentials: []\n", "no credentials"},
		"unknown field":    {"credentials:\n  - user_id: u\n    bearer_sha256: " + auth.HashSecret("x") + "\n    password: x\n", "password"},
		"clear secret":     {"credentials:\n  - user_id: u\n    bearer_sha256: hunter2\n", "64 hex digits"},
		"no user":          {"credentials:\n  - bearer_sha256: " + auth.HashSecret("x") + "\n", "user_id is empty"},
		"both forms":       {"credentials:\n  - user_id: u\n    bearer_sha256: " + auth.HashSecret("x") + "\n    api_key: k\n    api_secret_sha256: " + auth.HashSecret("y") + "\n", "not both"},
		"key without hash": {"credentials:\n  - user_id: u\n    api_key: k\n", "needs bearer_sha256"},
		"not yaml":         {"credentials: [\n", "parsing"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := auth.LoadFile(writeFile(t, tc.content))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := auth.LoadFile(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("a missing file must be an error")
	}
}

func TestDemoTokensAreRandom(t *testing.T) {
	a, err := auth.NewDemoToken()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := auth.NewDemoToken()
	if a == b || len(a) < 40 {
		t.Errorf("demo tokens %q and %q", a, b)
	}
}
