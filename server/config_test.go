package server_test

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap/zapcore"

	"github.com/threatwinds/aiadmin/server"
)

func TestParseConfigDefaults(t *testing.T) {
	c, err := server.ParseConfig(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	got := []any{c.Listen, len(c.Valkey), c.Demo, c.AuthMode, c.AffinityTTL, c.RequestLease, c.RunPodTimeout,
		c.PodURLTemplate, c.PodCacheTTL, c.PodCacheMaxStale, c.ProbeInterval, c.UnhealthyAfter, c.HealthyAfter}
	want := []any{"127.0.0.1:8080", 0, true, "file", 30 * time.Minute, 10 * time.Minute, 10 * time.Second,
		"https://{id}.proxy.runpod.net/v1", 5 * time.Second, 60 * time.Second, 10 * time.Second, 3, 2}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("defaults (-want +got):\n%s", d)
	}
}

// TestParseConfigRateLimits: the limits default to 1200 reads, 60 writes and
// 30 failed authentications a minute, 0 turns one off, and trusted proxies
// are CIDRs or single addresses.
func TestParseConfigRateLimits(t *testing.T) {
	c, err := server.ParseConfig(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]any{1200, 60, 30, 0}, []any{c.RateLimit, c.RateLimitWrites, c.AuthFailureLimit, len(c.TrustedProxyPrefixes())}); d != "" {
		t.Errorf("defaults (-want +got):\n%s", d)
	}
	env := map[string]string{"AIADMIN_RATE_LIMIT": "0", "AIADMIN_TRUSTED_PROXIES": "10.1.2.3/8, 192.0.2.7,2001:db8::/32"}
	c, err = server.ParseConfig([]string{"--rate-limit-writes", "0", "--auth-failure-limit=0"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]any{0, 0, 0}, []any{c.RateLimit, c.RateLimitWrites, c.AuthFailureLimit}); d != "" {
		t.Errorf("limits turned off (-want +got):\n%s", d)
	}
	var got []string
	for _, p := range c.TrustedProxyPrefixes() {
		got = append(got, p.String())
	}
	if d := cmp.Diff([]string{"10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"}, got); d != "" {
		t.Errorf("trusted proxies (-want +got):\n%s", d)
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
		env     map[string]string
		setting string
	}{
		{[]string{"--listen", "nope"}, nil, "--listen"},
		{[]string{"--valkey", "localhost"}, nil, "--valkey"},
		{[]string{"--log-level", "loud"}, nil, "--log-level"},
		{[]string{"--demo=maybe"}, nil, "--demo"},
		{[]string{"--auth-mode", "ldap"}, nil, "--auth-mode"},
		{[]string{"--auth-mode", "threatwinds", "--auth-url", "ftp://x"}, nil, "--auth-url"},
		{[]string{"--auth-mode", "threatwinds", "--auth-file", "creds.yaml"}, nil, "--auth-file"},
		{[]string{"--affinity-ttl", "5s"}, nil, "--affinity-ttl"},
		{[]string{"--affinity-ttl-provider", "openai=30m"}, nil, "--affinity-ttl-provider"},
		{[]string{"--affinity-ttl-provider", "vllm=30s"}, nil, "--affinity-ttl-provider"},
		{[]string{"--affinity-ttl-provider", "vllm"}, nil, "--affinity-ttl-provider"},
		{[]string{"--runpod-timeout", "-1s"}, nil, "--runpod-timeout"},
		{[]string{"--runpod-timeout=0s"}, nil, "--runpod-timeout"},
		{[]string{"--runpod-url", "localhost:1"}, nil, "--runpod-url"},
		{[]string{"--pod-url-template", "https://x/v1"}, nil, "--pod-url-template"},
		{[]string{"--probe-concurrency", "0"}, nil, "--probe-concurrency"},
		{[]string{"--probe-concurrency", "many"}, nil, "--probe-concurrency"},
		{[]string{"--audit-stream-len=-5"}, nil, "--audit-stream-len"},
		{[]string{"--probe-path", "models"}, nil, "--probe-path"},
		{[]string{"--probe-timeout", "30s"}, nil, "--probe-timeout"},
		{[]string{"--pod-cache-ttl", "2m"}, nil, "--pod-cache-max-stale"},
		{[]string{"--debug-listen", "0.0.0.0:6060"}, nil, "--debug-listen"},
		{[]string{"--debug-listen", ":6060"}, nil, "--debug-listen"},
		{[]string{"--debug-listen", "10.1.2.3:6060"}, nil, "--debug-listen"},
		{[]string{"--debug-listen", "127.0.0.1"}, nil, "--debug-listen"},
		{[]string{"--debug-listen-public"}, nil, "--debug-listen-public"},
		{[]string{"--pod-cache-max-stale", "0s"}, nil, "--pod-cache-max-stale"},
		{[]string{"--probe-interval", "soon"}, nil, "--probe-interval"},
		{[]string{"--valkey-tls"}, nil, "--valkey-tls"},
		{[]string{"--auth-mode", "file"}, nil, "--auth-file"},
		{[]string{"--valkey", "10.0.0.1:6379", "--valkey-tls=false", "--valkey-tls-ca", "ca.pem"}, nil, "--valkey-tls"},
		{[]string{"--listen", "127.0.0.1:99999"}, nil, "--listen"},
		{[]string{"--listen", "127.0.0.1:http"}, nil, "--listen"},
		{[]string{"--valkey", "127.0.0.1:0"}, nil, "--valkey"},
		{[]string{"--no-such-flag"}, nil, "--no-such-flag"},
		{[]string{"--demo", "false"}, nil, "--demo"},
		{[]string{"--valkey", "10.0.0.1:6379", "--valkey-tls", "sometimes"}, nil, "--valkey-tls"},
		{[]string{"--valkey-tls-ca", "ca.pem"}, nil, "--valkey-tls"},
		// The same rules hold for the environment, and the message names the
		// variable too.
		{nil, map[string]string{"AIADMIN_PROBE_INTERVAL": "soon"}, "--probe-interval"},
		{nil, map[string]string{"AIADMIN_PROBE_CONCURRENCY": "0"}, "--probe-concurrency"},
		{nil, map[string]string{"AIADMIN_DEMO": "maybe"}, "--demo"},
		{nil, map[string]string{"AIADMIN_LISTEN": "127.0.0.1:65536"}, "--listen"},
		{nil, map[string]string{"AIADMIN_VALKEY_TLS": "true"}, "--valkey-tls"},
		{nil, map[string]string{"AIADMIN_AFFINITY_TTL_PROVIDER": "vllm=45m,openai=20m"}, "--affinity-ttl-provider"},
		{nil, map[string]string{"AIADMIN_AUTH_MODE": "threatwinds", "AIADMIN_AUTH_URL": "nope"}, "--auth-url"},
		{[]string{"--rate-limit=-1"}, nil, "--rate-limit"},
		{nil, map[string]string{"AIADMIN_AUTH_FAILURE_LIMIT": "-3"}, "--auth-failure-limit"},
		{[]string{"--trusted-proxies", "10.0.0.0/8,proxy.local"}, nil, "--trusted-proxies"},
		{nil, map[string]string{"AIADMIN_TRUSTED_PROXIES": "10.0.0.0/33"}, "--trusted-proxies"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " ")+fmt.Sprint(tc.env), func(t *testing.T) {
			_, err := server.ParseConfig(tc.args, func(k string) string { return tc.env[k] })
			if err == nil || !strings.Contains(err.Error(), tc.setting) {
				t.Fatalf("error %v does not name %s", err, tc.setting)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") {
				t.Errorf("the error is more than one line:\n%s", msg)
			}
			name := "AIADMIN_" + strings.ToUpper(strings.ReplaceAll(strings.TrimPrefix(tc.setting, "--"), "-", "_"))
			if _, ok := tc.env[name]; ok && !strings.Contains(err.Error(), "(from "+name+")") {
				t.Errorf("error %v does not name the variable %s", err, name)
			}
		})
	}
}

// TestParseConfigEnvironment: every flag reads AIADMIN_<FLAG>; an empty
// variable counts as unset; the RunPod key also comes from RUNPOD_API_KEY,
// after AIADMIN_RUNPOD_API_KEY.
func TestParseConfigEnvironment(t *testing.T) {
	cases := []struct {
		name  string
		env   map[string]string
		check func(server.Config) any
		want  any
	}{
		{"an empty variable is unset", map[string]string{"AIADMIN_LISTEN": ""}, func(c server.Config) any { return c.Listen }, "127.0.0.1:8080"},
		{"duration", map[string]string{"AIADMIN_SHUTDOWN_TIMEOUT": "3s"}, func(c server.Config) any { return c.ShutdownTimeout }, 3 * time.Second},
		{"integer", map[string]string{"AIADMIN_AUDIT_STREAM_LEN": "77"}, func(c server.Config) any { return c.AuditStreamLen }, int64(77)},
		{"switch", map[string]string{"AIADMIN_DEMO": "no"}, func(c server.Config) any { return c.Demo }, false},
		{"switch in capitals", map[string]string{"AIADMIN_DEMO": "FALSE"}, func(c server.Config) any { return c.Demo }, false},
		{"log level", map[string]string{"AIADMIN_LOG_LEVEL": "debug"}, func(c server.Config) any { return c.LogLevel }, zapcore.DebugLevel},
		{"secret", map[string]string{"AIADMIN_VALKEY_PASSWORD": "pw"}, func(c server.Config) any { return c.ValkeyPassword }, "pw"},
		{"RunPod key, second variable", map[string]string{"AIADMIN_RUNPOD_API_KEY": "", "RUNPOD_API_KEY": "rk"}, func(c server.Config) any { return c.RunPodAPIKey }, "rk"},
		{"RunPod key, first variable wins", map[string]string{"AIADMIN_RUNPOD_API_KEY": "ak", "RUNPOD_API_KEY": "rk"}, func(c server.Config) any { return c.RunPodAPIKey }, "ak"},
		{"auth mode left out", map[string]string{"AIADMIN_AUTH_FILE": "creds.yaml"}, func(c server.Config) any { return c.AuthMode }, server.AuthModeFile},
		{"provider TTLs with spaces", map[string]string{"AIADMIN_AFFINITY_TTL_PROVIDER": "vllm=45m, sglang=20m"},
			func(c server.Config) any { return c.AffinityTTLOverride }, map[string]time.Duration{"vllm": 45 * time.Minute, "sglang": 20 * time.Minute}},
		{"TLS implied by a server name", map[string]string{"AIADMIN_VALKEY": "10.0.0.1:6379", "AIADMIN_VALKEY_TLS_SERVER_NAME": "valkey.internal"},
			func(c server.Config) any { return c.ValkeyTLS }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := server.ParseConfig(nil, func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, tc.check(c)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// TestParseCommandLine covers the commands, -h, help and --version: what
// each returns and prints.
func TestParseCommandLine(t *testing.T) {
	const secret = "rpa_NEVER_PRINTED_4f1c"
	env := map[string]string{"RUNPOD_API_KEY": secret, "AIADMIN_VALKEY_PASSWORD": secret}
	cases := []struct {
		args    []string
		command string
		err     error
		// stdout must contain each of these.
		stdout []string
	}{
		{nil, server.CommandServe, nil, nil},
		{[]string{"serve", "--listen", "127.0.0.1:0"}, server.CommandServe, nil, nil},
		{[]string{"hash-secret"}, server.CommandHashSecret, nil, nil},
		{[]string{"--version"}, "", server.ErrShown, []string{"v1.2.3-test\n"}},
		{[]string{"-h"}, "", server.ErrShown, []string{"Usage:", "aiadmin [serve] [flags]", "hash-secret", "Commands:", "--probe-interval=DURATION", "(default 10s)", "[$AIADMIN_PROBE_INTERVAL]"}},
		{[]string{"--help"}, "", server.ErrShown, []string{"Commands:", "--listen=HOST:PORT"}},
		{[]string{"help"}, "", server.ErrShown, []string{"Commands:", "--listen=HOST:PORT"}},
		{[]string{"serve", "-h"}, "", server.ErrShown, []string{"Commands:", "--listen=HOST:PORT"}},
		{[]string{"help", "hash-secret"}, "", server.ErrShown, []string{"Usage: aiadmin hash-secret", "secret read from"}},
		{[]string{"hash-secret", "-h"}, "", server.ErrShown, []string{"Usage: aiadmin hash-secret", "secret read from"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			cmd, _, err := server.ParseCommandLine(tc.args, func(k string) string { return env[k] },
				server.CommandLineOptions{Stdout: &out, Version: "v1.2.3-test"})
			if !errors.Is(err, tc.err) || cmd != tc.command {
				t.Fatalf("got %q, %v; want %q, %v", cmd, err, tc.command, tc.err)
			}
			for _, want := range tc.stdout {
				if !strings.Contains(out.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, out.String())
				}
			}
			if tc.stdout == nil && out.Len() > 0 {
				t.Errorf("printed %q", out.String())
			}
			if strings.Contains(out.String(), secret) {
				t.Errorf("a secret from the environment was printed:\n%s", out.String())
			}
		})
	}
	if _, _, err := server.ParseCommandLine([]string{"help", "bogus"}, func(string) string { return "" }, server.CommandLineOptions{}); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("help of an unknown command: %v", err)
	}
}

// TestHelpListsEveryFlagWithItsVariable: each flag in -h is followed by
// its type (switches excepted) and its AIADMIN_<FLAG> variable, so the
// README's rule holds for every flag.
func TestHelpListsEveryFlagWithItsVariable(t *testing.T) {
	var out bytes.Buffer
	if _, _, err := server.ParseCommandLine([]string{"-h"}, func(string) string { return "" }, server.CommandLineOptions{Stdout: &out}); !errors.Is(err, server.ErrShown) {
		t.Fatal(err)
	}
	help := out.String()
	flags := regexp.MustCompile(`(?m)^\s+--([a-z-]+)(=[A-Z:=,.]+)?`).FindAllStringSubmatch(help, -1)
	if len(flags) < 30 {
		t.Fatalf("only %d flags in -h:\n%s", len(flags), help)
	}
	switches := map[string]bool{"demo": true, "valkey-tls": true, "debug-listen-public": true, "version": true}
	for _, f := range flags {
		name, typ := f[1], f[2]
		if (typ == "") != switches[name] {
			t.Errorf("--%s shows type %q", name, typ)
		}
		if name == "version" {
			continue
		}
		env := "$AIADMIN_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		if !strings.Contains(help, "["+env+"]") && !strings.Contains(help, "["+env+",") {
			t.Errorf("--%s: -h does not show %s", name, env)
		}
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

// TestParseConfigDebugListen accepts --debug-listen on loopback, and
// elsewhere only with --debug-listen-public.
func TestParseConfigDebugListen(t *testing.T) {
	for _, args := range [][]string{
		{"--debug-listen", "127.0.0.1:6060"},
		{"--debug-listen", "127.0.0.2:0"},
		{"--debug-listen", "localhost:6060"},
		{"--debug-listen", "[::1]:6060"},
		{"--debug-listen", "0.0.0.0:6060", "--debug-listen-public"},
		{"--debug-listen", ":6060", "--debug-listen-public"},
	} {
		c, err := server.ParseConfig(args, func(string) string { return "" })
		if err != nil || c.DebugListen != args[1] {
			t.Errorf("%v: %q, %v", args, c.DebugListen, err)
		}
	}
	c, err := server.ParseConfig(nil, func(string) string { return "" })
	if err != nil || c.DebugListen != "" {
		t.Errorf("by default: --debug-listen %q, %v; want off", c.DebugListen, err)
	}
}
