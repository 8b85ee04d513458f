package server

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
)

// Config is the whole configuration of one aiadmin replica. Every setting is
// a flag with a matching AIADMIN_* environment variable; a flag given on the
// command line wins over the environment.
type Config struct {
	Listen         string
	Valkey         []string
	ValkeyUsername string
	ValkeyPassword string
	// ValkeyTLS connects to Valkey over TLS, verifying its certificate
	// against ValkeyTLSCA (a PEM file; empty trusts the system's CAs) for
	// ValkeyTLSServerName (empty: each address's host).
	ValkeyTLS           bool
	ValkeyTLSCA         string
	ValkeyTLSServerName string
	LogLevel            zapcore.Level
	Demo                bool
	ShutdownTimeout     time.Duration

	AuthMode    string
	AuthFile    string
	AuthURL     string
	AuthTimeout time.Duration
	// AuthCacheTTL, AuthNegativeTTL and AuthCacheSize bound the Auth API cache.
	AuthCacheTTL    time.Duration
	AuthNegativeTTL time.Duration
	AuthCacheSize   int

	AffinityTTL         time.Duration
	AffinityTTLOverride map[string]time.Duration
	RequestLease        time.Duration

	RunPodURL      string
	RunPodAPIKey   string
	RunPodTimeout  time.Duration
	PodPrefix      string
	PodURLTemplate string
	PodCacheTTL    time.Duration
	// IdleAfter is how long a running pod goes without a request before the
	// fleet summary counts it idle.
	IdleAfter time.Duration

	ProbeInterval    time.Duration
	ProbeTimeout     time.Duration
	ProbePath        string
	ProbeConcurrency int
	UnhealthyAfter   int
	HealthyAfter     int

	AuditStreamLen int64
}

// Auth modes.
const (
	AuthModeFile        = "file"
	AuthModeThreatWinds = "threatwinds"
)

// ParseConfig reads the configuration from args and the environment and
// validates it. Errors name the setting at fault.
func ParseConfig(args []string, getenv func(string) string) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("aiadmin", flag.ContinueOnError)
	// Usage is printed for -h only: a bad flag gets one line naming it.
	fs.SetOutput(io.Discard)
	env := func(name, def string) string {
		if v := getenv("AIADMIN_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))); v != "" {
			return v
		}
		return def
	}
	str := func(p *string, name, def, usage string) { fs.StringVar(p, name, env(name, def), usage) }
	// A switch may stand alone (--valkey-tls) or take a value (--demo=false);
	// the value is checked below, with the others.
	switches := map[string]bool{}
	switchFlag := func(p *string, name, def, usage string) {
		switches[name] = true
		*p = env(name, def)
		fs.Var(switchValue{p}, name, usage)
	}
	var valkey, valkeyTLS, logLevel, demo, ttl, ttlOverride string
	durs := map[string]*string{}
	dur := func(name, def, usage string) { s := new(string); durs[name] = s; str(s, name, def, usage) }
	ints := map[string]*string{}
	integer := func(name, def, usage string) { s := new(string); ints[name] = s; str(s, name, def, usage) }

	str(&c.Listen, "listen", "127.0.0.1:8080", "address to serve on")
	str(&valkey, "valkey", "", "comma-separated Valkey addresses (standalone or cluster); empty runs the embedded in-memory store")
	str(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	switchFlag(&demo, "demo", "true", "with the embedded store, load a living demo fleet")
	dur("shutdown-timeout", "15s", "how long in-flight requests may take to finish on shutdown")
	str(&c.AuthMode, "auth-mode", "", "file (needs --auth-file) or threatwinds; left out: --auth-file if given, else a random demo token")
	str(&c.AuthFile, "auth-file", "", "YAML credentials file; empty creates a random demo token")
	str(&c.AuthURL, "auth-url", "https://intelligence.threatwinds.com/api/auth/v2", "ThreatWinds Auth API base URL")
	dur("auth-timeout", "5s", "timeout of one credential check")
	dur("auth-cache-ttl", "30s", "how long an accepted credential is cached (never past its expiry)")
	dur("auth-negative-ttl", "5s", "how long a refused credential is cached")
	integer("auth-cache-size", "10000", "credentials the Auth API cache holds at most")
	str(&ttl, "affinity-ttl", "30m", "session affinity TTL for every provider")
	str(&ttlOverride, "affinity-ttl-provider", "", "per-provider TTLs, e.g. vllm=45m,sglang=20m")
	dur("request-lease", "10m", "lease of an in-flight request a router never finished")
	str(&c.RunPodURL, "runpod-url", "https://api.runpod.io/graphql", "RunPod GraphQL endpoint")
	// Secrets never become flag defaults: usage text would print them.
	fs.StringVar(&c.RunPodAPIKey, "runpod-api-key", "", "RunPod API key (or AIADMIN_RUNPOD_API_KEY, or RUNPOD_API_KEY)")
	fs.StringVar(&c.ValkeyPassword, "valkey-password", "", "Valkey password (or AIADMIN_VALKEY_PASSWORD)")
	str(&c.ValkeyUsername, "valkey-username", "", "Valkey ACL user name")
	switchFlag(&valkeyTLS, "valkey-tls", "false", "connect to Valkey over TLS, verifying its certificate")
	str(&c.ValkeyTLSCA, "valkey-tls-ca", "", "PEM file of the CA that signed Valkey's certificate (implies --valkey-tls); empty trusts the system's CAs")
	str(&c.ValkeyTLSServerName, "valkey-tls-server-name", "", "name expected in Valkey's certificate; empty uses each address's host")
	dur("runpod-timeout", "10s", "timeout of one RunPod call")
	str(&c.PodPrefix, "pod-prefix", "", "name prefix selecting the fleet's pods; empty selects all")
	str(&c.PodURLTemplate, "pod-url-template", "https://{id}.proxy.runpod.net/v1", "backend URL of a pod; {id} is the pod id")
	dur("pod-cache-ttl", "5s", "how long the pod list is cached")
	dur("idle-after", "15m", "how long a running pod goes without a request before the fleet summary counts it idle")
	dur("probe-interval", "10s", "health probe interval")
	dur("probe-timeout", "2s", "timeout of one health probe")
	str(&c.ProbePath, "probe-path", "/models", "path probed below each server URL")
	integer("probe-concurrency", "256", "probes in flight at once")
	integer("unhealthy-after", "3", "consecutive failures that make a server unhealthy")
	integer("healthy-after", "2", "consecutive successes that make a server healthy again")
	integer("audit-stream-len", "10000", "admin audit records kept in Valkey")

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stderr)
			fs.Usage()
			return c, err
		}
		return c, fmt.Errorf("%w (aiadmin -h lists every setting)", err)
	}
	for _, secret := range []struct {
		dst  *string
		envs []string
	}{
		{&c.RunPodAPIKey, []string{"AIADMIN_RUNPOD_API_KEY", "RUNPOD_API_KEY"}},
		{&c.ValkeyPassword, []string{"AIADMIN_VALKEY_PASSWORD"}},
	} {
		for _, name := range secret.envs {
			if *secret.dst == "" {
				*secret.dst = getenv(name)
			}
		}
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if fs.NArg() > 0 {
		// "--demo false" leaves "false" behind: a switch takes its value
		// with "=".
		if i := len(args) - fs.NArg(); i > 0 {
			if name := strings.TrimLeft(args[i-1], "-"); switches[name] {
				return c, fmt.Errorf("--%s: give its value with \"=\", as --%s=%s", name, name, args[i])
			}
		}
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var errs []error
	bad := func(setting, format string, a ...any) {
		errs = append(errs, fmt.Errorf("--%s: "+format, append([]any{setting}, a...)...))
	}
	parsedDur := map[string]time.Duration{}
	for name, s := range durs {
		d, err := time.ParseDuration(*s)
		if err != nil || d <= 0 {
			bad(name, "must be a positive duration such as 10s, got %q", *s)
		}
		parsedDur[name] = d
	}
	parsedInt := map[string]int{}
	for name, s := range ints {
		n, err := strconv.Atoi(*s)
		if err != nil || n <= 0 {
			bad(name, "must be a positive integer, got %q", *s)
		}
		parsedInt[name] = n
	}
	c.ShutdownTimeout = parsedDur["shutdown-timeout"]
	c.AuthTimeout = parsedDur["auth-timeout"]
	c.AuthCacheTTL = parsedDur["auth-cache-ttl"]
	c.AuthNegativeTTL = parsedDur["auth-negative-ttl"]
	c.AuthCacheSize = parsedInt["auth-cache-size"]
	c.RequestLease = parsedDur["request-lease"]
	c.RunPodTimeout = parsedDur["runpod-timeout"]
	c.PodCacheTTL = parsedDur["pod-cache-ttl"]
	c.IdleAfter = parsedDur["idle-after"]
	c.ProbeInterval = parsedDur["probe-interval"]
	c.ProbeTimeout = parsedDur["probe-timeout"]
	c.ProbeConcurrency = parsedInt["probe-concurrency"]
	c.UnhealthyAfter = parsedInt["unhealthy-after"]
	c.HealthyAfter = parsedInt["healthy-after"]
	c.AuditStreamLen = int64(parsedInt["audit-stream-len"])

	if !validHostPort(c.Listen, true) {
		bad("listen", "must be host:port with a port from 0 to 65535, got %q", c.Listen)
	}
	for _, a := range strings.Split(valkey, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if !validHostPort(a, false) {
			bad("valkey", "each address must be host:port with a port from 1 to 65535, got %q", a)
		}
		c.Valkey = append(c.Valkey, a)
	}
	tlsOff := false
	switch strings.ToLower(valkeyTLS) {
	case "true", "1", "yes":
		c.ValkeyTLS = true
	case "false", "0", "no":
		tlsOff = given["valkey-tls"] || getenv("AIADMIN_VALKEY_TLS") != ""
	default:
		bad("valkey-tls", "must be true or false, got %q", valkeyTLS)
	}
	if tlsSetting := c.ValkeyTLSCA != "" || c.ValkeyTLSServerName != ""; tlsSetting && tlsOff {
		bad("valkey-tls", "is false, but --valkey-tls-ca and --valkey-tls-server-name only apply over TLS")
	} else if tlsSetting {
		c.ValkeyTLS = true
	}
	if c.ValkeyTLS && len(c.Valkey) == 0 {
		bad("valkey-tls", "needs --valkey: the embedded store is in-process and speaks plain TCP on loopback")
	}
	if err := c.LogLevel.UnmarshalText([]byte(logLevel)); err != nil {
		bad("log-level", "must be debug, info, warn or error, got %q", logLevel)
	}
	switch strings.ToLower(demo) {
	case "true", "1", "yes":
		c.Demo = len(c.Valkey) == 0
	case "false", "0", "no":
	default:
		bad("demo", "must be true or false, got %q", demo)
	}
	switch c.AuthMode {
	case "":
		// Not chosen: the credentials file, or with none a random demo token,
		// so that a first run works with nothing configured.
		c.AuthMode = AuthModeFile
	case AuthModeFile:
		// Chosen explicitly: the file is required, never a demo token.
		if c.AuthFile == "" {
			bad("auth-file", "is required with --auth-mode=file (leave --auth-mode out to run with a random demo token)")
		}
	case AuthModeThreatWinds:
		if u, err := url.Parse(c.AuthURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("auth-url", "must be an http(s) URL for --auth-mode=threatwinds, got %q", c.AuthURL)
		}
		if c.AuthFile != "" {
			bad("auth-file", "is only used with --auth-mode=file")
		}
	default:
		bad("auth-mode", "must be file or threatwinds, got %q", c.AuthMode)
	}
	if d, err := time.ParseDuration(ttl); err != nil || d < time.Minute {
		bad("affinity-ttl", "must be a duration of at least 1m, got %q", ttl)
	} else {
		c.AffinityTTL = d
	}
	c.AffinityTTLOverride = map[string]time.Duration{}
	for _, kv := range strings.Split(ttlOverride, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		p, v, _ := strings.Cut(kv, "=")
		d, err := time.ParseDuration(v)
		switch {
		case p != "vllm" && p != "sglang" && p != "speaches":
			bad("affinity-ttl-provider", "unknown provider %q (vllm, sglang, speaches)", p)
		case err != nil || d < time.Minute:
			bad("affinity-ttl-provider", "%s must have a duration of at least 1m, got %q", p, v)
		default:
			c.AffinityTTLOverride[p] = d
		}
	}
	if u, err := url.Parse(c.RunPodURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("runpod-url", "must be an http(s) URL, got %q", c.RunPodURL)
	}
	if !strings.Contains(c.PodURLTemplate, "{id}") {
		bad("pod-url-template", "must contain {id}, got %q", c.PodURLTemplate)
	}
	if !strings.HasPrefix(c.ProbePath, "/") {
		bad("probe-path", "must start with /, got %q", c.ProbePath)
	}
	if c.ProbeTimeout > c.ProbeInterval {
		bad("probe-timeout", "must not exceed --probe-interval")
	}
	return c, errors.Join(errs...)
}

// switchValue is a flag that may be given alone, meaning true, or with a
// value; it keeps the text for ParseConfig to check.
type switchValue struct{ p *string }

func (v switchValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v switchValue) Set(s string) error { *v.p = s; return nil }

func (v switchValue) IsBoolFlag() bool { return true }

// validHostPort reports whether addr is host:port with a numeric port in
// range; port 0 (any free port) only when zeroOK.
func validHostPort(addr string, zeroOK bool) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n <= 65535 && (n > 0 || (zeroOK && n == 0 && port != ""))
}
