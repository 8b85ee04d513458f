package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/server"
)

func TestParseConfigDefaults(t *testing.T) {
	c, err := server.ParseConfig(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	got := []any{c.Listen, len(c.Valkey), c.Demo, c.AuthMode, c.AffinityTTL, c.RequestLease, c.RunPodTimeout,
		c.PodURLTemplate, c.PodCacheTTL, c.ProbeInterval, c.UnhealthyAfter, c.HealthyAfter}
	want := []any{"127.0.0.1:8080", 0, true, "file", 30 * time.Minute, 10 * time.Minute, 10 * time.Second,
		"https://{id}.proxy.runpod.net/v1", 5 * time.Second, 10 * time.Second, 3, 2}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("defaults (-want +got):\n%s", d)
	}
}

func TestParseConfigEnvironmentAndFlags(t *testing.T) {
	env := map[string]string{
		"AIADMIN_LISTEN":                "127.0.0.1:9999",
		"AIADMIN_VALKEY":                "10.0.0.1:6379, 10.0.0.2:6379",
		"AIADMIN_AFFINITY_TTL_PROVIDER": "sglang=20m",
		"RUNPOD_API_KEY":                "rk",
	}
	c, err := server.ParseConfig([]string{"--listen", "127.0.0.1:7000"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:7000" {
		t.Errorf("a flag must win over the environment, got %q", c.Listen)
	}
	if d := cmp.Diff([]string{"10.0.0.1:6379", "10.0.0.2:6379"}, c.Valkey); d != "" {
		t.Errorf("valkey (-want +got):\n%s", d)
	}
	if c.Demo {
		t.Error("a real --valkey must start without demo data")
	}
	if c.AffinityTTLOverride["sglang"] != 20*time.Minute || c.RunPodAPIKey != "rk" {
		t.Errorf("got %v %q", c.AffinityTTLOverride, c.RunPodAPIKey)
	}
}

func TestParseConfigNamesTheSettingAtFault(t *testing.T) {
	cases := []struct {
		args    []string
		setting string
	}{
		{[]string{"--listen", "nope"}, "--listen"},
		{[]string{"--valkey", "localhost"}, "--valkey"},
		{[]string{"--log-level", "loud"}, "--log-level"},
		{[]string{"--demo", "maybe"}, "--demo"},
		{[]string{"--auth-mode", "ldap"}, "--auth-mode"},
		{[]string{"--auth-mode", "threatwinds", "--auth-url", "ftp://x"}, "--auth-url"},
		{[]string{"--auth-mode", "threatwinds", "--auth-file", "creds.yaml"}, "--auth-file"},
		{[]string{"--affinity-ttl", "5s"}, "--affinity-ttl"},
		{[]string{"--affinity-ttl-provider", "openai=30m"}, "--affinity-ttl-provider"},
		{[]string{"--runpod-timeout", "-1s"}, "--runpod-timeout"},
		{[]string{"--pod-url-template", "https://x/v1"}, "--pod-url-template"},
		{[]string{"--probe-concurrency", "0"}, "--probe-concurrency"},
		{[]string{"--probe-path", "models"}, "--probe-path"},
		{[]string{"--probe-timeout", "30s"}, "--probe-timeout"},
		{[]string{"--valkey-tls"}, "--valkey-tls"},
		{[]string{"--auth-mode", "file"}, "--auth-file"},
		{[]string{"--valkey", "10.0.0.1:6379", "--valkey-tls=false", "--valkey-tls-ca", "ca.pem"}, "--valkey-tls"},
		{[]string{"--listen", "127.0.0.1:99999"}, "--listen"},
		{[]string{"--listen", "127.0.0.1:http"}, "--listen"},
		{[]string{"--valkey", "127.0.0.1:0"}, "--valkey"},
		{[]string{"--no-such-flag"}, "-no-such-flag"},
		{[]string{"--demo", "false"}, "--demo"},
		{[]string{"--valkey", "10.0.0.1:6379", "--valkey-tls", "sometimes"}, "--valkey-tls"},
		{[]string{"--valkey-tls-ca", "ca.pem"}, "--valkey-tls"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := server.ParseConfig(tc.args, func(string) string { return "" })
			if err == nil || !strings.Contains(err.Error(), tc.setting) {
				t.Fatalf("error %v does not name %s", err, tc.setting)
			}
		})
	}
}

// TestParseConfigValkeyTLS: TLS is off by default, on with --valkey-tls or
// its variable, and implied by a CA file or a server name.
func TestParseConfigValkeyTLS(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want bool
	}{
		{[]string{"--valkey", "10.0.0.1:6379"}, nil, false},
		{[]string{"--valkey", "10.0.0.1:6379", "--valkey-tls"}, nil, true},
		{[]string{"--valkey", "10.0.0.1:6379", "--valkey-tls=false"}, nil, false},
		{[]string{"--valkey", "10.0.0.1:6379"}, map[string]string{"AIADMIN_VALKEY_TLS": "true"}, true},
		{[]string{"--valkey", "10.0.0.1:6379", "--valkey-tls-ca", "/etc/valkey/ca.pem"}, nil, true},
		{[]string{"--valkey", "10.0.0.1:6379"}, map[string]string{"AIADMIN_VALKEY_TLS_SERVER_NAME": "valkey.internal"}, true},
	}
	for _, tc := range cases {
		c, err := server.ParseConfig(tc.args, func(k string) string { return tc.env[k] })
		if err != nil {
			t.Fatalf("%v %v: %v", tc.args, tc.env, err)
		}
		if c.ValkeyTLS != tc.want {
			t.Errorf("%v %v: ValkeyTLS = %v, want %v", tc.args, tc.env, c.ValkeyTLS, tc.want)
		}
	}
}
