package main

import (
	"bytes"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "aiadmin")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
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

	t.Run("invalid configuration names the setting and exits 2", func(t *testing.T) {
		cmd := exec.Command(bin, "--probe-interval", "soon")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 {
			t.Fatalf("exit: %v", err)
		}
		if !strings.Contains(stderr.String(), "--probe-interval") {
			t.Errorf("stderr does not name the setting: %s", stderr.String())
		}
	})

	t.Run("serves with a printed demo token and stops on SIGTERM", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		cmd := exec.Command(bin, "--listen", addr, "--demo=false")
		var stdout, stderr syncBuffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill() }()
		deadline := time.Now().Add(20 * time.Second)
		var resp *http.Response
		for time.Now().Before(deadline) {
			if resp, err = http.Get("http://" + addr + "/healthz"); err == nil {
				resp.Body.Close()
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("never served: %v\n%s", err, stderr.String())
		}
		token := ""
		for _, f := range strings.Fields(stdout.String()) {
			if strings.HasPrefix(f, "TOKEN=") {
				token = strings.TrimPrefix(f, "TOKEN=")
			}
		}
		if len(token) < 32 {
			t.Fatalf("no demo token printed: %q", stdout.String())
		}
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/ai/v1/admin/affinity", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err = http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("the printed token does not work: %v %v", err, resp)
		}
		resp.Body.Close()
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
			t.Fatal("did not stop after SIGTERM")
		}
		if strings.Contains(stderr.String(), token) {
			t.Error("the demo token reached the log")
		}
	})
}
