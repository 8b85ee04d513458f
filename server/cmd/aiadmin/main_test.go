package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/gen/adminclient"
	"github.com/threatwinds/aiadmin/server/contracttest"
)

// syncBuffer is written by the child's output copiers while the test reads it.
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

// testVersion is the version buildBinary stamps, as the Makefile's build
// target stamps the one from git.
const testVersion = "v0.0.0-test+stamped"

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "aiadmin")
	out, err := exec.Command("go", "build", "-ldflags", "-X main.version="+testVersion, "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// cleanEnv is the test's environment without any aiadmin or RunPod setting,
// as on a fresh machine, plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AIADMIN_") || strings.HasPrefix(kv, "RUNPOD_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// waitHealthy polls /healthz at addr until it answers, for at most 30 s.
func waitHealthy(t *testing.T, addr string, stderr *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("never served /healthz: %v\n%s", err, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// printedToken is the demo token from the start-up banner in stdout.
func printedToken(t *testing.T, stdout string) string {
	t.Helper()
	for _, f := range strings.Fields(stdout) {
		if token, ok := strings.CutPrefix(f, "TOKEN="); ok && len(token) >= 32 {
			return token
		}
	}
	t.Fatalf("no demo token printed: %q", stdout)
	return ""
}

// stopWithSIGTERM signals cmd and checks that it exits 0 within 30 s.
func stopWithSIGTERM(t *testing.T, cmd *exec.Cmd, stderr *syncBuffer) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("did not stop after SIGTERM\n%s", stderr.String())
	}
}

// pollUntil calls check every 250ms until it returns "", failing the test
// with its last answer when timeout passes first.
func pollUntil(t *testing.T, timeout time.Duration, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		problem := check()
		if problem == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %s", what, timeout, problem)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// runQuick runs bin with args and stdin (nil: none), with no aiadmin
// setting in its environment, and returns its standard output; it fails the
// test when the command has not exited within 30 s.
func runQuick(t *testing.T, bin string, stdin *os.File, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = cleanEnv()
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return stdout.String(), fmt.Errorf("%w: %s", err, stderr.String())
		}
		return stdout.String(), nil
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("aiadmin %v did not exit within 30 s", args)
		return "", nil
	}
}

// TestVersionIsDevWithoutStamp: a plain go build, as go test's, reports dev.
func TestVersionIsDevWithoutStamp(t *testing.T) {
	if version != "dev" {
		t.Errorf("version = %q without -ldflags, want dev", version)
	}
}

func TestBinary(t *testing.T) {
	bin := buildBinary(t)

	t.Run("hash-secret prints the SHA-256 of standard input", func(t *testing.T) {
		cmd := exec.Command(bin, "hash-secret")
		cmd.Stdin = strings.NewReader("test\n")
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.TrimSpace(string(out)), "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"; got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})

	t.Run("invalid configuration stops start-up with one line naming the setting", func(t *testing.T) {
		cases := []struct {
			args    []string
			env     []string
			setting string
		}{
			{[]string{"--probe-interval", "soon"}, nil, "--probe-interval"},
			{[]string{"--probe-concurrency", "0"}, nil, "--probe-concurrency"},
			{[]string{"--affinity-ttl-provider", "openai=30m"}, nil, "--affinity-ttl-provider"},
			{[]string{"--demo", "false"}, nil, "--demo"},
			{[]string{"--auth-mode", "file"}, nil, "--auth-file"},
			{[]string{"--listen", "127.0.0.1:70000"}, nil, "--listen"},
			{nil, []string{"AIADMIN_LISTEN=localhost"}, "--listen"},
			{nil, []string{"AIADMIN_RUNPOD_TIMEOUT=fast"}, "--runpod-timeout"},
			{[]string{"--no-such-flag"}, nil, "--no-such-flag"},
		}
		for _, tc := range cases {
			cmd := exec.Command(bin, tc.args...)
			cmd.Env = cleanEnv(tc.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
				t.Errorf("%v %v: exit %v", tc.args, tc.env, err)
				continue
			}
			got := stderr.String()
			if lines := strings.Count(got, "\n"); lines != 1 || !strings.HasPrefix(got, "aiadmin: invalid configuration: "+tc.setting) {
				t.Errorf("%v %v: want one line naming %s, got %d:\n%s", tc.args, tc.env, tc.setting, lines, got)
			}
			if stdout.Len() > 0 || strings.Contains(got, "Usage") {
				t.Errorf("%v %v: printed more than the error:\n%s%s", tc.args, tc.env, stdout.String(), got)
			}
		}
	})

	t.Run("-h, --help and help print every flag with its type, default and variable, and the commands", func(t *testing.T) {
		for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}} {
			out, err := runQuick(t, bin, nil, args...)
			if err != nil {
				t.Fatalf("aiadmin %v: %v", args, err)
			}
			for _, want := range []string{
				"aiadmin [serve] [flags]", "aiadmin hash-secret", "aiadmin help",
				"--listen=HOST:PORT", "(default 127.0.0.1:8080)", "[$AIADMIN_LISTEN]",
				"--probe-concurrency=INT", "(default 256)", "[$AIADMIN_PROBE_CONCURRENCY]",
				"--auth-timeout=DURATION", "(default 5s)", "[$AIADMIN_AUTH_TIMEOUT]",
				"--affinity-ttl-provider=PROVIDER=DURATION,...", "vllm=45m,sglang=20m",
				"[$AIADMIN_RUNPOD_API_KEY, $RUNPOD_API_KEY]", "--version",
				"Commands:", "serve ", "hash-secret ", "help ",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("aiadmin %v lacks %q:\n%s", args, want, out)
				}
			}
		}
	})

	t.Run("--version prints the version stamped at build time", func(t *testing.T) {
		out, err := runQuick(t, bin, nil, "--version")
		if err != nil || out != testVersion+"\n" {
			t.Errorf("got %q, %v; want %q", out, err, testVersion)
		}
	})

	t.Run("hash-secret -h and help hash-secret print help without reading standard input", func(t *testing.T) {
		for _, args := range [][]string{{"hash-secret", "-h"}, {"help", "hash-secret"}} {
			// Standard input stays open and empty: reading it would block
			// until runQuick gives up.
			stdin, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			out, err := runQuick(t, bin, stdin, args...)
			_ = w.Close()
			_ = stdin.Close()
			if err != nil {
				t.Fatalf("aiadmin %v: %v", args, err)
			}
			if !strings.Contains(out, "Usage: aiadmin hash-secret") {
				t.Errorf("aiadmin %v printed:\n%s", args, out)
			}
		}
	})

	t.Run("a bad credentials file stops start-up with one line, before the demo", func(t *testing.T) {
		cmd := exec.Command(bin, "--listen", freeAddr(t), "--auth-file", filepath.Join(t.TempDir(), "absent.yaml"))
		cmd.Env = cleanEnv()
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("exit: %v\n%s", err, stderr.String())
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, "aiadmin: cannot start: --auth-file:") {
			t.Errorf("the last line does not name --auth-file: %q", last)
		}
		if strings.Contains(stderr.String(), "demo") || strings.Contains(stdout.String(), "TOKEN=") {
			t.Errorf("the demo started before the credentials were read:\n%s\n%s", stdout.String(), stderr.String())
		}
	})

	t.Run("serves with a printed demo token and stops on SIGTERM", func(t *testing.T) {
		addr := freeAddr(t)
		cmd := exec.Command(bin, "--listen", addr, "--demo=false")
		cmd.Env = cleanEnv()
		var stdout, stderr syncBuffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill() }()
		waitHealthy(t, addr, &stderr)
		token := printedToken(t, stdout.String())
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/ai/v1/admin/affinity", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("the printed token does not work: %v %v", err, resp)
		}
		resp.Body.Close()
		stopWithSIGTERM(t, cmd, &stderr)
		if strings.Contains(stderr.String(), token) {
			t.Error("the demo token reached the log")
		}
	})

	t.Run("make run: the demo fleet is served with the printed token", func(t *testing.T) {
		addr := freeAddr(t)
		// Exactly what `make run` runs, on a free port.
		cmd := exec.Command(bin, "--listen", addr)
		cmd.Env = cleanEnv()
		var stdout, stderr syncBuffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill() }()
		waitHealthy(t, addr, &stderr)
		token := printedToken(t, stdout.String())
		if want := "Dashboard: http://" + addr + "/ui/"; !strings.Contains(stdout.String(), want) {
			t.Errorf("the banner does not give the dashboard's address %q:\n%s", want, stdout.String())
		}
		if resp, err := http.Get("http://" + addr + "/ui/"); err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("the dashboard is not served: %v %v", err, resp)
		} else {
			resp.Body.Close()
		}

		tr := &contracttest.Transport{Spec: contracttest.Spec(t)}
		client, err := adminclient.NewClientWithResponses("http://"+addr,
			adminclient.WithHTTPClient(&http.Client{Transport: tr, Timeout: 30 * time.Second}),
			adminclient.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
				r.Header.Set("Authorization", "Bearer "+token)
				return nil
			}))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()

		pollUntil(t, 30*time.Second, "GET /pods lists the demo pods", func() string {
			resp, err := client.ListPodsWithResponse(ctx, nil)
			switch {
			case err != nil:
				return err.Error()
			case resp.JSON200 == nil:
				return fmt.Sprintf("%d %s", resp.StatusCode(), resp.Body)
			case resp.JSON200.Total <= 0 || len(resp.JSON200.Pods) == 0:
				return fmt.Sprintf("total %d, %d pods", resp.JSON200.Total, len(resp.JSON200.Pods))
			}
			return ""
		})
		pollUntil(t, 30*time.Second, "GET /servers lists the demo servers", func() string {
			resp, err := client.ListServersWithResponse(ctx, nil)
			switch {
			case err != nil:
				return err.Error()
			case resp.JSON200 == nil:
				return fmt.Sprintf("%d %s", resp.StatusCode(), resp.Body)
			case resp.JSON200.Total <= 0 || len(resp.JSON200.Servers) == 0:
				return fmt.Sprintf("total %d, %d servers", resp.JSON200.Total, len(resp.JSON200.Servers))
			}
			return ""
		})
		pollUntil(t, 30*time.Second, "GET /registry/threatwinds-qwen3-6-27b lists at least 300 URLs", func() string {
			resp, err := client.GetRegistryWithResponse(ctx, "threatwinds-qwen3-6-27b", nil)
			switch {
			case err != nil:
				return err.Error()
			case resp.JSON200 == nil:
				return fmt.Sprintf("%d %s", resp.StatusCode(), resp.Body)
			case resp.JSON200.Total < 300 || len(resp.JSON200.Urls) == 0:
				return fmt.Sprintf("total %d, %d urls", resp.JSON200.Total, len(resp.JSON200.Urls))
			}
			return ""
		})
		pollUntil(t, 60*time.Second, "GET /affinity shows traffic", func() string {
			resp, err := client.GetAffinityMetricsWithResponse(ctx)
			switch {
			case err != nil:
				return err.Error()
			case resp.JSON200 == nil:
				return fmt.Sprintf("%d %s", resp.StatusCode(), resp.Body)
			}
			for _, p := range resp.JSON200.Providers {
				if p.SessionHitCount+p.SessionMissCount+p.FallbackCount > 0 {
					return ""
				}
			}
			return fmt.Sprintf("every counter is zero: %s", resp.Body)
		})
		for _, r := range tr.Results() {
			if r.Err != nil {
				t.Errorf("contract violated: %v", r.Err)
			}
		}

		stopWithSIGTERM(t, cmd, &stderr)
		if strings.Contains(stderr.String(), token) {
			t.Error("the demo token reached the log")
		}
	})

	t.Run("the RunPod API key from the environment is never printed", func(t *testing.T) {
		const secret = "rpa_SECRET_TEST_VALUE"
		for _, args := range [][]string{{"-h"}, {"--bogus-flag"}} {
			cmd := exec.Command(bin, args...)
			cmd.Env = cleanEnv("RUNPOD_API_KEY="+secret, "AIADMIN_RUNPOD_API_KEY="+secret)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				// -h exits 0, an unknown flag 2; the point is what they print.
				if _, ok := err.(*exec.ExitError); err != nil && !ok {
					t.Fatalf("aiadmin %s: %v", args[0], err)
				}
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("aiadmin %s did not exit", args[0])
			}
			for name, out := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String()} {
				if strings.Contains(out, secret) {
					t.Errorf("aiadmin %s prints the RunPod API key on %s:\n%s", args[0], name, out)
				}
			}
			if args[0] == "-h" && !strings.Contains(stdout.String(), "runpod-api-key") {
				t.Errorf("aiadmin -h does not show the usage (no --runpod-api-key in stdout):\n%s", stdout.String())
			}
			if args[0] == "--bogus-flag" {
				if got := strings.TrimSpace(stderr.String()); !strings.Contains(got, "--bogus-flag") || !strings.Contains(got, "aiadmin -h") || strings.Contains(got, "runpod-api-key") {
					t.Errorf("aiadmin --bogus-flag must name the flag and point at -h, without the whole usage:\n%s", got)
				}
			}
		}
	})
}
