// Package aiadmintest runs the real aiadmin server, and the RunPod stand-in,
// as child processes for the tests of the API's clients (the SDK and the
// CLI), which must never import the server. The programs are built from
// this module's source with `go build`; every process binds loopback only
// and is stopped by Stop, or killed with the test process on Linux.
package aiadmintest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// readyTimeout bounds how long a started program may take to serve.
const readyTimeout = 60 * time.Second

// ModuleRoot returns the directory holding this module's go.mod.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w (is the go command in PATH?)", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the aiadmin module: run the tests from the repository")
	}
	return filepath.Dir(gomod), nil
}

// Build compiles the main package pkg, a path relative to the module root
// such as "./server/cmd/aiadmin", into dir and returns the binary's path.
func Build(dir, pkg string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return bin, nil
}

// Credentials are the secrets of a credentials file: a bearer token and a
// key pair with the ai_admin role, and a token without it.
type Credentials struct {
	AdminToken  string
	ViewerToken string
	APIKey      string
	APISecret   string
}

// NewCredentials returns fresh random credentials.
func NewCredentials() Credentials {
	return Credentials{
		AdminToken:  "tok_" + randomHex(16),
		ViewerToken: "tok_" + randomHex(16),
		APIKey:      "key_" + randomHex(8),
		APISecret:   "sec_" + randomHex(16),
	}
}

// WriteFile writes the credentials file the server reads with --auth-file:
// users usr_admin (token), usr_bot (key pair) and usr_viewer (no role).
func (c Credentials) WriteFile(path string) error {
	doc := fmt.Sprintf(`credentials:
  - user_id: usr_admin
    roles: [ai_admin]
    bearer_sha256: %s
  - user_id: usr_bot
    roles: [ai_admin]
    api_key: %s
    api_secret_sha256: %s
  - user_id: usr_viewer
    roles: [viewer]
    bearer_sha256: %s
`, hash(c.AdminToken), c.APIKey, hash(c.APISecret), hash(c.ViewerToken))
	return os.WriteFile(path, []byte(doc), 0o600)
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Process is a started child program.
type Process struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

// start runs bin with args and an environment free of aiadmin and RunPod
// settings, as on a fresh machine, plus env.
func start(bin string, args, env []string) (*Process, error) {
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AIADMIN_") && !strings.HasPrefix(kv, "RUNPOD_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	p := &Process{cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Output returns what the program printed so far.
func (p *Process) Output() string { return p.out.String() }

// Stop ends the program with SIGTERM, then SIGKILL after 15 s, and waits.
func (p *Process) Stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// exited reports whether the program has ended.
func (p *Process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Server is a running aiadmin.
type Server struct {
	*Process
	// URL is the base URL, http://127.0.0.1:port, without the API prefix.
	URL string
	// Creds are the credentials the server accepts.
	Creds Credentials
}

// StartServer runs the aiadmin binary bin on a free loopback port with a
// credentials file for creds, written in dir, and extra flags, and waits
// until /readyz answers 200. Without flags it serves the living demo fleet
// on the embedded store.
func StartServer(bin, dir string, creds Credentials, flags ...string) (*Server, error) {
	authFile := filepath.Join(dir, "auth-"+randomHex(4)+".yaml")
	if err := creds.WriteFile(authFile); err != nil {
		return nil, err
	}
	var lastErr error
	// Another process may take the free port between choosing and binding it.
	for range 3 {
		addr, err := FreeAddr()
		if err != nil {
			return nil, err
		}
		args := append([]string{"--listen", addr, "--auth-file", authFile, "--log-level", "warn"}, flags...)
		p, err := start(bin, args, nil)
		if err != nil {
			return nil, err
		}
		s := &Server{Process: p, URL: "http://" + addr, Creds: creds}
		if lastErr = waitHTTP(p, s.URL+"/readyz"); lastErr == nil {
			return s, nil
		}
		p.Stop()
	}
	return nil, lastErr
}

// Standin is a running RunPod stand-in.
type Standin struct {
	*Process
	// URL is its GraphQL endpoint.
	URL string
	// APIKey is the key requests must carry.
	APIKey string
}

// StartStandin runs the RunPod stand-in binary bin (tools/runpod-standin)
// with pods fleet pods named with prefix, on a free loopback port, with
// extra flags (such as "-fail", "podStop=500").
func StartStandin(bin string, pods int, prefix string, flags ...string) (*Standin, error) {
	key := "rp_" + randomHex(12)
	var lastErr error
	for range 3 {
		addr, err := FreeAddr()
		if err != nil {
			return nil, err
		}
		args := append([]string{"-addr", addr, "-pods", fmt.Sprint(pods), "-prefix", prefix}, flags...)
		p, err := start(bin, args, []string{"RUNPOD_API_KEY=" + key})
		if err != nil {
			return nil, err
		}
		s := &Standin{Process: p, URL: "http://" + addr + "/graphql", APIKey: key}
		// Any HTTP answer will do: the stand-in serves once it answers.
		if lastErr = waitHTTP(p, s.URL); lastErr == nil {
			return s, nil
		}
		p.Stop()
	}
	return nil, lastErr
}

// FreeAddr returns a loopback address nothing listened on a moment ago.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("choosing a port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitHTTP polls url until it answers 200 (or, for a non-GET endpoint, any
// status below 500), the program exits, or readyTimeout passes.
func waitHTTP(p *Process, url string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("%s exited before serving: %v\n%s", filepath.Base(p.cmd.Path), p.err, tail(p.Output()))
		}
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not serve %s within %v\n%s", filepath.Base(p.cmd.Path), url, readyTimeout, tail(p.Output()))
}

// tail returns the end of a program's output, for error messages.
func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}

// syncBuffer is written by the child's output copier while a test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
