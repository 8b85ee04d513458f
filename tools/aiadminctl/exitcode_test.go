package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/threatwinds/aiadmin/clients/aiadmin/aiadmintest"
	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
)

// errorLine is the one line a failure writes: the operation, status,
// message, optional detail, and the error id.
var errorLine = regexp.MustCompile(`^aiadminctl: \w+: \d{3} [^\n]+ \(error id [0-9a-zA-Z]+\)\n$`)

func TestExitCodes(t *testing.T) {
	closed, err := aiadmintest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	viewer := []string{"AIADMIN_URL=" + demo.URL, "AIADMIN_TOKEN=" + demo.Creds.ViewerToken}
	wrong := []string{"AIADMIN_URL=" + demo.URL, "AIADMIN_TOKEN=tok_wrong"}
	tests := []struct {
		name   string
		env    []string
		args   []string
		code   int
		stderr string
		// apiError says the failure is an answer, whose line must carry
		// the status, message and error id.
		apiError bool
	}{
		{"success", asAdmin(), []string{"servers", "list"}, 0, "", false},
		{"unknown flag", asAdmin(), []string{"pods", "list", "--bogus"}, 2, "unknown flag: --bogus", false},
		{"missing argument", asAdmin(), []string{"pods", "get"}, 2, "accepts 1 arg", false},
		{"unknown subcommand", asAdmin(), []string{"pods", "delete"}, 2, `unknown command "delete"`, false},
		{"group without subcommand", asAdmin(), []string{"affinity"}, 2, "needs a subcommand: clear, get, metrics", false},
		{"unknown output", asAdmin(), []string{"pods", "list", "-o", "yaml"}, 2, `--output "yaml"`, false},
		{"--all with --page", asAdmin(), []string{"pods", "list", "--all", "--page", "2"}, 2, "leave out --page", false},
		{"demand of a non-URL", asAdmin(), []string{"demand", "get", "ftp://x"}, 2, "not an absolute http(s) URL", false},
		{"demand of an unknown pod", asAdmin(), []string{"demand", "get", "nosuchpod1"}, 4, "GetPod: 404 pod not found", true},
		{"drain without a terminal", asAdmin(), []string{"servers", "drain", "https://a.example/v1"}, 2, "pass --yes", false},
		{"undrain without a terminal", asAdmin(), []string{"servers", "undrain", "https://a.example/v1"}, 2, "pass --yes", false},
		{"cycle without a terminal", asAdmin(), []string{"pods", "cycle", "abc123"}, 2, "pass --yes", false},
		{"cycle with no poll interval", asAdmin(), []string{"pods", "cycle", "abc123", "--yes", "--poll-interval", "0s"}, 2, "must be positive", false},
		{"audit --all with --limit", asAdmin(), []string{"audit", "list", "--all", "--limit", "5"}, 2, "leave out --limit", false},
		{"drain of a server in no pool", asAdmin(), []string{"servers", "drain", "https://nowhere.invalid/v1", "--yes"}, 4, "DrainServer: 404 server not found", true},
		{"undrain of a server in no pool", asAdmin(), []string{"servers", "undrain", "https://nowhere.invalid/v1", "--yes"}, 4, "UndrainServer: 404 server not found", true},
		{"cycle of an unknown pod", asAdmin(), []string{"pods", "cycle", "nosuchpod1", "--yes"}, 4, "pods cycle stopped at drain: GetPod: 404 pod not found", false},
		{"audit limit out of range", asAdmin(), []string{"audit", "list", "--limit", "1000"}, 5, "ListAudit: 400", true},
		{"403 on the summary", viewer, []string{"fleet", "summary"}, 3, "403 insufficient permissions", true},
		{"restart without a terminal", asAdmin(), []string{"pods", "restart", "abc123"}, 2, "pass --yes", false},
		{"clear without a terminal", asAdmin(), []string{"affinity", "clear", "usr_x"}, 2, "pass --yes", false},
		{"half a key pair", []string{"AIADMIN_URL=" + demo.URL, "AIADMIN_API_KEY=k"}, []string{"servers", "list"}, 2, "needs both", false},
		{"401", wrong, []string{"servers", "list"}, 3, "401 invalid credentials", true},
		{"403", viewer, []string{"affinity", "metrics"}, 3, "403 insufficient permissions: the ai_admin role is required", true},
		{"404", asAdmin(), []string{"pods", "get", "nosuchpod1"}, 4, "GetPod: 404 pod not found", true},
		{"422", asAdmin(), []string{"pods", "get", "bad-id!"}, 5, "GetPod: 422 invalid pod id", true},
		{"400", asAdmin(), []string{"servers", "list", "--limit", "1000"}, 5, "400 invalid query parameter limit: must be an integer from 1 to 100", true},
		{"unreachable", []string{"AIADMIN_URL=http://" + closed}, []string{"pods", "list"}, 7, "cannot reach http://" + closed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ctl(t, tt.env, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d\nstderr: %s", r.code, tt.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr %q lacks %q", r.stderr, tt.stderr)
			}
			if tt.code != 0 && strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("a failure wrote %d lines on stderr, want one:\n%s", strings.Count(r.stderr, "\n"), r.stderr)
			}
			if tt.apiError && !errorLine.MatchString(r.stderr) {
				t.Errorf("stderr %q is not one line with the status, message and error id", r.stderr)
			}
			if tt.code != 0 && r.stdout != "" {
				t.Errorf("a failure wrote on stdout: %q", r.stdout)
			}
		})
	}
}

func TestAStoreOutageExits6(t *testing.T) {
	valkey := valkeytest.StartServer(t)
	s, err := aiadmintest.StartServer(serverBin, t.TempDir(), aiadmintest.NewCredentials(), "--valkey", valkey.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	env := []string{"AIADMIN_URL=" + s.URL, "AIADMIN_TOKEN=" + s.Creds.AdminToken}
	if r := ctl(t, env, "affinity", "metrics"); r.code != 0 {
		t.Fatalf("with the store up: exit %d, %s", r.code, r.stderr)
	}
	valkey.Stop()
	r := ctl(t, env, "affinity", "metrics")
	if r.code != 6 || !errorLine.MatchString(r.stderr) || !strings.Contains(r.stderr, "503 valkey") {
		t.Errorf("with the store down: exit %d, stderr %q; want 6 and one line of the 503", r.code, r.stderr)
	}
}

func TestSecretsAreNeverPrinted(t *testing.T) {
	const secret = "sec_never_print_me"
	for _, args := range [][]string{
		{"--token", secret, "servers", "list"},
		{"--api-key", "k1", "--api-secret", secret, "servers", "list"},
		{"--token", secret, "--api-key", "k1", "--api-secret", secret, "pods", "list"},
		{"--token", secret, "--server", "ftp://nowhere", "pods", "list"},
		{"--token", secret, "pods", "list", "--help"},
	} {
		r := ctl(t, []string{"AIADMIN_URL=" + demo.URL, "AIADMIN_API_SECRET=" + secret, "AIADMIN_TOKEN=" + secret}, args...)
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("aiadminctl %v printed the secret:\n%s%s", args, r.stdout, r.stderr)
		}
		if args[len(args)-1] != "--help" && r.code != 2 && r.code != 3 {
			t.Errorf("aiadminctl %v: exit %d, want a refusal", args, r.code)
		}
	}
}

func TestFlagsWinOverTheEnvironment(t *testing.T) {
	closed, err := aiadmintest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"AIADMIN_URL=http://" + closed, "AIADMIN_TOKEN=tok_wrong"}
	if r := ctl(t, env, "--server", demo.URL, "--token", demo.Creds.AdminToken, "affinity", "metrics"); r.code != 0 {
		t.Errorf("flags did not win: exit %d, %s", r.code, r.stderr)
	}
	// A credential flag sets aside every credential variable: the key pair
	// given as flags is not combined with the token of the environment.
	pair := []string{"--server", demo.URL, "--api-key", demo.Creds.APIKey, "--api-secret", demo.Creds.APISecret, "affinity", "metrics"}
	if r := ctl(t, env, pair...); r.code != 0 {
		t.Errorf("a key pair by flags with a token in the environment: exit %d, %s", r.code, r.stderr)
	}
	keyEnv := []string{"AIADMIN_URL=" + demo.URL, "AIADMIN_API_KEY=" + demo.Creds.APIKey, "AIADMIN_API_SECRET=" + demo.Creds.APISecret}
	if r := ctl(t, keyEnv, "affinity", "metrics"); r.code != 0 {
		t.Errorf("a key pair from the environment: exit %d, %s", r.code, r.stderr)
	}
}
