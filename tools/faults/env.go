package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/threatwinds/aiadmin/clients/auth"
	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/runpod/standin"
)

// Names of the fleet the tool builds.
const (
	podPrefix = "aiapi-faults"
	fleetPods = 24
	// servedPods of the fleet pods are registered as servers of modelID.
	servedPods = 12
	modelID    = "faults-model"
	pinnedUser = "usr_faults_pinned"
)

// env is what every scenario shares: the aiadmin binary, a credential, the
// RunPod stand-in, an inference stand-in for probes, and every process the
// tool started, so that Close stops them whatever happened.
type env struct {
	cfg config
	dir string
	// bin is the aiadmin binary; flags are the flags its help lists.
	bin   string
	flags map[string]bool
	// token authenticates in file mode; creds is the credentials file.
	token string
	creds string

	runpodKey string
	runpod    *standin.Server
	runpodUp  *upstream
	pods      []standin.Pod

	infer *upstream

	mu        sync.Mutex
	closers   []func()
	upstreams []*upstream
}

// newEnv builds what the scenarios share. Close releases it, also after an
// error.
func newEnv(ctx context.Context, cfg config) (_ *env, err error) {
	dir, err := os.MkdirTemp("", "aiadmin-faults-")
	if err != nil {
		return nil, err
	}
	e := &env{cfg: cfg, dir: dir}
	e.onClose(func() { _ = os.RemoveAll(dir) })
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if e.bin, err = e.aiadminBinary(ctx); err != nil {
		return nil, err
	}
	if e.flags, err = helpFlags(ctx, e.bin); err != nil {
		return nil, err
	}
	e.token = "tok_faults_" + rand.Text()
	e.creds = filepath.Join(dir, "auth.yaml")
	file := fmt.Sprintf("credentials:\n  - user_id: usr_faults\n    roles: [%s]\n    bearer_sha256: %s\n", auth.AdminRole, auth.HashSecret(e.token))
	if err := os.WriteFile(e.creds, []byte(file), 0o600); err != nil {
		return nil, err
	}

	e.runpodKey = "rp_faults_" + rand.Text()
	e.pods = standin.DemoPods(fleetPods, podPrefix)
	e.runpod = standin.NewServer(e.runpodKey, e.pods...)
	if e.runpodUp, err = e.serve(e.runpod); err != nil {
		return nil, err
	}
	// Probes of the registered servers succeed: any GET answers 200.
	e.infer, err = e.serve(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"object":"list","data":[]}`))
	}))
	if err != nil {
		return nil, err
	}
	return e, nil
}

// serve serves a stand-in on loopback until Close.
func (e *env) serve(h http.Handler) (*upstream, error) {
	u, err := serveUpstream(h)
	if err != nil {
		return nil, err
	}
	e.onClose(u.down)
	e.mu.Lock()
	e.upstreams = append(e.upstreams, u)
	e.mu.Unlock()
	return u, nil
}

// dropIdle has every stand-in close its idle keep-alive connections.
func (e *env) dropIdle() {
	e.mu.Lock()
	ups := e.upstreams
	e.mu.Unlock()
	for _, u := range ups {
		u.dropIdle()
	}
}

// onClose adds f to what Close runs, last added first.
func (e *env) onClose(f func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closers = append(e.closers, f)
}

// Close stops everything the tool started.
func (e *env) Close() {
	e.mu.Lock()
	closers := e.closers
	e.closers = nil
	e.mu.Unlock()
	for i := len(closers) - 1; i >= 0; i-- {
		closers[i]()
	}
}

// aiadminBinary returns the binary the configuration names, or builds one
// with go build into the tool's directory.
func (e *env) aiadminBinary(ctx context.Context) (string, error) {
	if e.cfg.aiadmin != "" {
		return filepath.Abs(e.cfg.aiadmin)
	}
	bin := filepath.Join(e.dir, "aiadmin")
	fmt.Println("building aiadmin (go build ./server/cmd/aiadmin)")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./server/cmd/aiadmin")
	cmd.Dir = e.cfg.moduleRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building aiadmin: %w\n%s", err, out)
	}
	return bin, nil
}

// helpFlags returns the long flags aiadmin -h lists, so that a scenario uses
// a setting (the rate limits, the pod list's staleness bound) only where the
// binary has it.
func helpFlags(ctx context.Context, bin string) (map[string]bool, error) {
	out, err := exec.CommandContext(ctx, bin, "-h").Output()
	if err != nil {
		return nil, fmt.Errorf("%s -h: %w", bin, err)
	}
	flags := parseHelpFlags(string(out))
	if !flags["listen"] || !flags["shutdown-timeout"] {
		return nil, fmt.Errorf("%s -h lists no --listen or --shutdown-timeout: not an aiadmin binary?", bin)
	}
	return flags, nil
}

// parseHelpFlags returns the long flags a help text names ("--listen=HOST:PORT"
// names listen).
func parseHelpFlags(help string) map[string]bool {
	flags := map[string]bool{}
	for _, f := range strings.Fields(help) {
		if name, ok := strings.CutPrefix(f, "--"); ok && name != "" {
			name, _, _ = strings.Cut(name, "=")
			flags[name] = true
		}
	}
	return flags
}

// podURL is the backend URL of a pod, as --pod-url-template makes it.
func (e *env) podURL(id string) string { return e.infer.URL() + "/" + id + "/v1" }

// fleetPodIDs are the ids of the pods whose name has the fleet's prefix.
func (e *env) fleetPodIDs() []string {
	var ids []string
	for _, p := range e.pods {
		if strings.HasPrefix(p.Name, podPrefix) {
			ids = append(ids, p.ID)
		}
	}
	return ids
}

// baseArgs are the flags every aiadmin of the tool runs with: loopback,
// Valkey at addrs, the RunPod stand-in, quiet logs, and every rate limit off
// where the binary has them (the tool measures faults, not limits).
func (e *env) baseArgs(addrs []string) []string {
	args := []string{
		"--valkey", strings.Join(addrs, ","),
		"--demo=false",
		"--log-level", "warn",
		"--runpod-url", e.runpodUp.URL() + "/graphql",
		"--pod-prefix", podPrefix,
		"--pod-url-template", e.infer.URL() + "/{id}/v1",
		"--probe-interval", "10m",
		"--probe-timeout", "1s",
	}
	for _, limit := range []string{"rate-limit", "rate-limit-writes", "auth-failure-limit"} {
		if e.flags[limit] {
			args = append(args, "--"+limit, "0")
		}
	}
	return args
}

// fileAuthArgs authenticate with the tool's credentials file.
func (e *env) fileAuthArgs() []string {
	return []string{"--auth-mode", "file", "--auth-file", e.creds}
}

// seed writes a small fleet into the Valkey at addrs, as routers would:
// servers serving one model, a pinned user and some demand. The client is
// closed again, so it holds no connection when levels are measured.
func (e *env) seed(ctx context.Context, addrs []string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := fleet.Connect(ctx, fleet.ConnectOptions{Addrs: addrs})
	if err != nil {
		return fmt.Errorf("seeding the fleet state: %w", err)
	}
	defer c.Close()
	store := fleet.New(c, fleet.Options{})
	ids := e.fleetPodIDs()
	for _, id := range ids[:servedPods] {
		u := e.podURL(id)
		if err := store.RegisterServer(ctx, fleet.ProviderVLLM, u, []string{modelID}); err != nil {
			return fmt.Errorf("seeding the fleet state: %w", err)
		}
		if _, err := store.StartRequest(ctx, u, modelID); err != nil {
			return fmt.Errorf("seeding the fleet state: %w", err)
		}
	}
	if err := store.PinSession(ctx, fleet.ProviderVLLM, pinnedUser, modelID, e.podURL(ids[0])); err != nil {
		return fmt.Errorf("seeding the fleet state: %w", err)
	}
	return store.PublishRefresh(ctx)
}

// escapedPodURL is a pod's backend URL as the demand path takes it.
func (e *env) escapedPodURL(id string) string { return url.QueryEscape(e.podURL(id)) }
