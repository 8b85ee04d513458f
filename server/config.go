package server

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"
	"go.uber.org/zap/zapcore"
)

// Config is the whole configuration of one aiadmin replica. Each field is a
// flag of the serve command, declared here once: its kong tags give the name
// (kong derives --shutdown-timeout from ShutdownTimeout), the default and the
// help, the Go type gives the type. Every flag also reads the environment
// variable AIADMIN_<FLAG> (upper case, "-" as "_"), and the variables an
// "alsoenv" tag adds; a flag given on the command line wins.
//
// Secrets carry no default tag: help prints defaults.
type Config struct {
	Listen          string        `group:"server" default:"127.0.0.1:8080" placeholder:"HOST:PORT" help:"address to serve on; port 0 picks a free one"`
	LogLevel        zapcore.Level `group:"server" default:"info" placeholder:"LEVEL" help:"log level: debug, info, warn or error"`
	ShutdownTimeout time.Duration `group:"server" default:"15s" help:"how long in-flight requests may take to finish on shutdown"`
	// DebugListen serves net/http/pprof, and nothing else, on a listener of
	// its own; off when empty, and refused off loopback unless
	// DebugListenPublic says so: profiles reveal the process's internals.
	DebugListen       string `group:"server" placeholder:"HOST:PORT" help:"serve net/http/pprof, and nothing else, on this address; empty is off; loopback only unless --debug-listen-public"`
	DebugListenPublic bool   `group:"server" help:"allow --debug-listen on an address other than loopback"`
	// Demo is the --demo switch, true only without --valkey once parsed.
	Demo bool `group:"server" default:"true" help:"with the embedded store, load a living demo fleet (give a value with =, as --demo=false)"`

	Valkey         []string `group:"valkey" placeholder:"HOST:PORT" help:"Valkey addresses (standalone or cluster), comma-separated; empty runs the embedded in-memory store"`
	ValkeyUsername string   `group:"valkey" help:"Valkey ACL user name"`
	ValkeyPassword string   `group:"valkey" help:"Valkey password; never printed"`
	// ValkeyTLS connects to Valkey over TLS, verifying its certificate
	// against ValkeyTLSCA (a PEM file; empty trusts the system's CAs) for
	// ValkeyTLSServerName (empty: each address's host).
	ValkeyTLS           bool   `name:"valkey-tls" group:"valkey" help:"connect to Valkey over TLS, verifying its certificate; needs --valkey"`
	ValkeyTLSCA         string `name:"valkey-tls-ca" group:"valkey" placeholder:"FILE" help:"PEM file of the CA that signed Valkey's certificate (implies --valkey-tls); empty trusts the system's CAs"`
	ValkeyTLSServerName string `name:"valkey-tls-server-name" group:"valkey" help:"name expected in Valkey's certificate (implies --valkey-tls); empty uses each address's host"`

	AuthMode    string        `group:"auth" placeholder:"MODE" help:"file (needs --auth-file) or threatwinds; left out: --auth-file if given, else a random demo token"`
	AuthFile    string        `group:"auth" placeholder:"FILE" help:"YAML credentials file; empty creates a random demo token"`
	AuthURL     string        `name:"auth-url" group:"auth" default:"https://intelligence.threatwinds.com/api/auth/v2" placeholder:"URL" help:"ThreatWinds Auth API base URL"`
	AuthTimeout time.Duration `group:"auth" default:"5s" help:"timeout of one credential check"`
	// AuthCacheTTL, AuthNegativeTTL and AuthCacheSize bound the Auth API cache.
	AuthCacheTTL    time.Duration `name:"auth-cache-ttl" group:"auth" default:"30s" help:"how long an accepted credential is cached (never past its expiry)"`
	AuthNegativeTTL time.Duration `name:"auth-negative-ttl" group:"auth" default:"5s" help:"how long a refused credential is cached"`
	AuthCacheSize   int           `group:"auth" default:"10000" help:"credentials the Auth API cache holds at most"`

	AffinityTTL         time.Duration            `name:"affinity-ttl" group:"affinity" default:"30m" min:"1m" help:"session affinity TTL of every provider"`
	AffinityTTLOverride map[string]time.Duration `name:"affinity-ttl-provider" group:"affinity" mapsep:"," placeholder:"PROVIDER=DURATION,..." help:"per-provider TTLs of at least 1m, e.g. vllm=45m,sglang=20m (vllm, sglang, speaches)"`
	RequestLease        time.Duration            `group:"affinity" default:"10m" help:"lease of an in-flight request a router never finished"`

	RunPodURL      string        `name:"runpod-url" group:"runpod" default:"https://api.runpod.io/graphql" placeholder:"URL" help:"RunPod GraphQL endpoint"`
	RunPodAPIKey   string        `name:"runpod-api-key" group:"runpod" alsoenv:"RUNPOD_API_KEY" help:"RunPod API key; never printed"`
	RunPodTimeout  time.Duration `name:"runpod-timeout" group:"runpod" default:"10s" help:"timeout of one RunPod call"`
	PodPrefix      string        `group:"runpod" help:"name prefix selecting the fleet's pods; empty selects all"`
	PodURLTemplate string        `name:"pod-url-template" group:"runpod" default:"https://{id}.proxy.runpod.net/v1" placeholder:"URL" help:"backend URL of a pod; {id} is the pod id"`
	PodCacheTTL    time.Duration `name:"pod-cache-ttl" group:"runpod" default:"5s" help:"how long the pod list, and each pod's read, is served before RunPod is read again"`
	// PodCacheMaxStale bounds how old a pod list may be and still be served
	// while it is refreshed in the background or RunPod fails.
	PodCacheMaxStale time.Duration `name:"pod-cache-max-stale" group:"runpod" default:"60s" help:"how old RunPod's facts may be and still be served, with x-data-age, while a refresh runs or RunPod fails; at least --pod-cache-ttl"`
	// IdleAfter is how long a running pod goes without a request before the
	// fleet summary counts it idle.
	IdleAfter time.Duration `name:"idle-after" group:"runpod" default:"15m" min:"1m" help:"how long a running pod goes without a request before the fleet summary counts it idle"`

	ProbeInterval    time.Duration `group:"probes" default:"10s" help:"health probe interval"`
	ProbeTimeout     time.Duration `group:"probes" default:"2s" help:"timeout of one health probe; at most --probe-interval"`
	ProbePath        string        `group:"probes" default:"/models" placeholder:"PATH" help:"path probed below each server URL"`
	ProbeConcurrency int           `group:"probes" default:"256" help:"probes in flight at once"`
	UnhealthyAfter   int           `group:"probes" default:"3" help:"consecutive failures that make a server unhealthy"`
	HealthyAfter     int           `group:"probes" default:"2" help:"consecutive successes that make a server healthy again"`

	AuditStreamLen int64 `group:"server" default:"10000" help:"admin audit records kept in Valkey"`

	// RateLimit, RateLimitWrites and AuthFailureLimit are per minute and
	// shared by every replica through Valkey; 0 turns one off.
	RateLimit        int `group:"limits" default:"1200" min:"0" help:"requests a minute each user may make to read operations; 0 turns the limit off"`
	RateLimitWrites  int `group:"limits" default:"60" min:"0" help:"requests a minute each user may make to restart, clear, refresh, drain and undrain; 0 turns the limit off"`
	AuthFailureLimit int `group:"limits" default:"30" min:"0" help:"failed authentications a minute from one client address, after which it gets 429 without a credential check; 0 turns the limit off"`
	// TrustedProxies are CIDRs (or single addresses) of the proxies whose
	// X-Forwarded-For names the client; see TrustedProxyPrefixes.
	TrustedProxies []string `group:"limits" placeholder:"CIDR" help:"proxies (CIDRs or addresses, comma-separated) whose X-Forwarded-For names the client address; empty trusts none"`
}

// configGroups title the flag groups of Config in help.
var configGroups = []kong.Group{
	{Key: "server", Title: "Serving:"},
	{Key: "valkey", Title: "Valkey (fleet state):"},
	{Key: "auth", Title: "Authentication:"},
	{Key: "affinity", Title: "Session affinity:"},
	{Key: "runpod", Title: "RunPod (pods):"},
	{Key: "probes", Title: "Health probes:"},
	{Key: "limits", Title: "Rate limits:"},
}

// Auth modes.
const (
	AuthModeFile        = "file"
	AuthModeThreatWinds = "threatwinds"
)

// providers may have their own affinity TTL.
var providers = []string{"vllm", "sglang", "speaches"}

// ParseConfig reads the serve command's configuration from args (flags only,
// no command word) and from the environment through getenv, and validates
// it. Errors name the setting at fault, on one line.
func ParseConfig(args []string, getenv func(string) string) (Config, error) {
	cmd, c, err := ParseCommandLine(args, getenv, CommandLineOptions{})
	if err == nil && cmd != CommandServe {
		return Config{}, fmt.Errorf("unexpected command %q: only the serve flags are expected", cmd)
	}
	return c, err
}

// envVars are the environment variables a Config flag reads, first first.
func envVars(v *kong.Value) []string {
	vars := []string{"AIADMIN_" + strings.ToUpper(strings.ReplaceAll(v.Name, "-", "_"))}
	if also := v.Tag.Get("alsoenv"); also != "" {
		vars = append(vars, strings.Split(also, ",")...)
	}
	return vars
}

// envResolver gives a Config flag not on the command line the value of the
// first of its variables that is set and not empty: an empty variable counts
// as unset, as in a compose file's "AIADMIN_VALKEY=". Kong's own env tags
// would read os.Getenv and count an empty variable as a value. from records
// which variable each flag came from, for error messages.
func envResolver(getenv func(string) string, isConfig func(*kong.Value) bool, from map[string]string) kong.Resolver {
	return kong.ResolverFunc(func(_ *kong.Context, _ *kong.Path, f *kong.Flag) (any, error) {
		if !isConfig(f.Value) {
			return nil, nil
		}
		for _, name := range envVars(f.Value) {
			if v := getenv(name); v != "" {
				from[f.Name] = name
				return v, nil
			}
		}
		return nil, nil
	})
}

// placeholder names a flag's type in help when no placeholder tag does.
func placeholder(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return "DURATION"
	case t.Kind() == reflect.Slice:
		return placeholder(t.Elem())
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64:
		return "INT"
	case reflect.String:
		return "STRING"
	}
	return strings.ToUpper(t.Name())
}

// finish checks what the flags' types cannot, and derives the settings that
// depend on others. given holds the flags set on the command line or by a
// variable. It returns every problem, each naming its setting.
func (c *Config) finish(flags []*kong.Flag, given map[string]bool) []error {
	var errs []error
	bad := func(setting, format string, a ...any) {
		errs = append(errs, fmt.Errorf("--%s: "+format, append([]any{setting}, a...)...))
	}
	// Every duration and count is positive; a min tag raises a duration's floor.
	for _, f := range flags {
		switch v := f.Target.Interface().(type) {
		case time.Duration:
			if m := f.Tag.Get("min"); m != "" {
				if floor, _ := time.ParseDuration(m); v < floor {
					bad(f.Name, "must be a duration of at least %s, got %s", m, v)
				}
			} else if v <= 0 {
				bad(f.Name, "must be a positive duration such as 10s, got %s", v)
			}
		case int, int64:
			if f.Tag.Get("min") == "0" {
				if f.Target.Int() < 0 {
					bad(f.Name, "must be 0 (off) or a positive integer, got %d", f.Target.Int())
				}
			} else if f.Target.Int() <= 0 {
				bad(f.Name, "must be a positive integer, got %d", f.Target.Int())
			}
		}
	}
	if !validHostPort(c.Listen, true) {
		bad("listen", "must be host:port with a port from 0 to 65535, got %q", c.Listen)
	}
	if c.DebugListen != "" {
		switch {
		case !validHostPort(c.DebugListen, true):
			bad("debug-listen", "must be host:port with a port from 0 to 65535, got %q", c.DebugListen)
		case !c.DebugListenPublic && !loopbackHost(c.DebugListen):
			bad("debug-listen", "%q is not a loopback address; profiles reveal the process's internals: give --debug-listen-public to serve them there", c.DebugListen)
		}
	} else if c.DebugListenPublic {
		bad("debug-listen-public", "needs --debug-listen")
	}
	addrs := c.Valkey
	c.Valkey = nil
	for _, a := range addrs {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if !validHostPort(a, false) {
			bad("valkey", "each address must be host:port with a port from 1 to 65535, got %q", a)
		}
		c.Valkey = append(c.Valkey, a)
	}
	tlsOff := given["valkey-tls"] && !c.ValkeyTLS
	if tlsSetting := c.ValkeyTLSCA != "" || c.ValkeyTLSServerName != ""; tlsSetting && tlsOff {
		bad("valkey-tls", "is false, but --valkey-tls-ca and --valkey-tls-server-name only apply over TLS")
	} else if tlsSetting {
		c.ValkeyTLS = true
	}
	if c.ValkeyTLS && len(c.Valkey) == 0 {
		bad("valkey-tls", "needs --valkey: the embedded store is in-process and speaks plain TCP on loopback")
	}
	c.Demo = c.Demo && len(c.Valkey) == 0
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
		if !httpURL(c.AuthURL) {
			bad("auth-url", "must be an http(s) URL for --auth-mode=threatwinds, got %q", c.AuthURL)
		}
		if c.AuthFile != "" {
			bad("auth-file", "is only used with --auth-mode=file")
		}
	default:
		bad("auth-mode", "must be file or threatwinds, got %q", c.AuthMode)
	}
	overrides := c.AffinityTTLOverride
	c.AffinityTTLOverride = map[string]time.Duration{}
	for p, d := range overrides {
		p = strings.TrimSpace(p) // "vllm=45m, sglang=20m"
		c.AffinityTTLOverride[p] = d
		switch {
		case !slices.Contains(providers, p):
			bad("affinity-ttl-provider", "unknown provider %q (vllm, sglang, speaches)", p)
		case d < time.Minute:
			bad("affinity-ttl-provider", "%s must have a duration of at least 1m, got %s", p, d)
		}
	}
	if !httpURL(c.RunPodURL) {
		bad("runpod-url", "must be an http(s) URL, got %q", c.RunPodURL)
	}
	if !strings.Contains(c.PodURLTemplate, "{id}") {
		bad("pod-url-template", "must contain {id}, got %q", c.PodURLTemplate)
	}
	if !strings.HasPrefix(c.ProbePath, "/") {
		bad("probe-path", "must start with /, got %q", c.ProbePath)
	}
	if c.PodCacheMaxStale < c.PodCacheTTL {
		bad("pod-cache-max-stale", "must be at least --pod-cache-ttl (%s), got %s", c.PodCacheTTL, c.PodCacheMaxStale)
	}
	if c.ProbeTimeout > c.ProbeInterval {
		bad("probe-timeout", "must not exceed --probe-interval")
	}
	proxies := c.TrustedProxies
	c.TrustedProxies = nil
	for _, p := range proxies {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if _, err := parseProxy(p); err != nil {
			bad("trusted-proxies", "each entry must be a CIDR such as 10.0.0.0/8 or an address, got %q", p)
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	return errs
}

// TrustedProxyPrefixes returns --trusted-proxies as prefixes; an address
// alone is a prefix of its full length. Entries finish refused are left out.
func (c Config) TrustedProxyPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range c.TrustedProxies {
		if p, err := parseProxy(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func parseProxy(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// loopbackHost reports whether addr's host is a loopback address or
// "localhost"; an empty host listens on every interface, so it is not.
func loopbackHost(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

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
