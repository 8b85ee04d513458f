package rig

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/threatwinds/aiadmin/clients/auth"
)

// Credentials is a throwaway admin credential: the bearer token and the
// credentials file aiadmin's --auth-file reads, holding only its hash.
type Credentials struct {
	Token string
	File  string
}

// WriteCredentials writes, in dir, a credentials file with one user holding
// the ai_admin role, proved by a random bearer token.
func WriteCredentials(dir, userID string) (Credentials, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Credentials{}, err
	}
	token := "tok_" + hex.EncodeToString(b[:])
	path := filepath.Join(dir, "credentials.yaml")
	content := fmt.Sprintf("credentials:\n  - user_id: %s\n    roles: [%s]\n    bearer_sha256: %s\n", userID, auth.AdminRole, auth.HashSecret(token))
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return Credentials{}, err
	}
	return Credentials{Token: token, File: path}, nil
}

// ProcessOptions start one server process.
type ProcessOptions struct {
	// Binary and Args are the command; Args must make it listen on Addr.
	Binary string
	Args   []string
	// Env is added to the process's environment.
	Env []string
	// Addr is the host:port it serves on; it is ready once GET Ready
	// answers 200 there.
	Addr  string
	Ready string
	// Output receives its standard output and error; nil discards them.
	Output io.Writer
}

// Process is a running server process, such as aiadmin.
type Process struct {
	addr string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// StartProcess starts the process and waits until it is ready, or until it
// exits or startTimeout passes, which is an error.
func StartProcess(ctx context.Context, o ProcessOptions) (*Process, error) {
	cmd := exec.Command(o.Binary, o.Args...)
	cmd.Env = append(os.Environ(), o.Env...)
	out := o.Output
	if out == nil {
		out = io.Discard
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", o.Binary, err)
	}
	p := &Process{addr: o.Addr, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil}}
	for {
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited before it was ready: %v", filepath.Base(o.Binary), p.err)
		default:
		}
		if resp, err := client.Get("http://" + o.Addr + o.Ready); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if err := waitContext(ctx, 50*time.Millisecond); err != nil {
			p.Kill()
			return nil, fmt.Errorf("%s was not ready on %s within %s", filepath.Base(o.Binary), o.Addr, startTimeout)
		}
	}
}

// Addr is the host:port the process serves on.
func (p *Process) Addr() string { return p.addr }

// PID is the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Stop sends SIGTERM and waits for the process to exit, killing it after
// timeout. It returns how the process exited; a kill is an error.
func (p *Process) Stop(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("the process did not exit within %s of SIGTERM and was killed", timeout)
	}
}

// Kill stops the process at once and waits for it to exit.
func (p *Process) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// AiadminOptions start one aiadmin replica on a real Valkey with RunPod
// behind a stand-in.
type AiadminOptions struct {
	// Binary is the aiadmin executable.
	Binary string
	// Valkey is the store's host:port.
	Valkey string
	// RunPodURL and RunPodKey reach the RunPod stand-in; the key is passed
	// in the environment, never on the command line.
	RunPodURL, RunPodKey string
	// PodPrefix and PodURLTemplate select the fleet's pods and give their
	// backend URLs.
	PodPrefix, PodURLTemplate string
	// CredentialsFile is --auth-file.
	CredentialsFile string
	// Args are further flags, such as "--pod-cache-ttl", "5s".
	Args []string
	// Output receives the log; nil discards it.
	Output io.Writer
}

// RateLimitsOff is the environment that turns every rate limit of aiadmin
// off: a load run measures throughput, not the limits. A replica that has
// no such settings ignores the variables.
var RateLimitsOff = []string{"AIADMIN_RATE_LIMIT=0", "AIADMIN_RATE_LIMIT_WRITES=0", "AIADMIN_AUTH_FAILURE_LIMIT=0"}

// StartAiadmin starts aiadmin on a free loopback port and waits until
// /readyz answers 200.
func StartAiadmin(ctx context.Context, o AiadminOptions) (*Process, error) {
	if o.Binary == "" {
		return nil, errors.New("no aiadmin binary: build it with make build")
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	args := append([]string{"--listen", addr, "--valkey", o.Valkey, "--auth-file", o.CredentialsFile,
		"--runpod-url", o.RunPodURL, "--pod-prefix", o.PodPrefix, "--pod-url-template", o.PodURLTemplate}, o.Args...)
	env := append([]string{"AIADMIN_RUNPOD_API_KEY=" + o.RunPodKey}, RateLimitsOff...)
	return StartProcess(ctx, ProcessOptions{Binary: o.Binary, Args: args, Env: env, Addr: addr, Ready: "/readyz", Output: o.Output})
}
