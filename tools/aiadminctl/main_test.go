package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/threatwinds/aiadmin/clients/aiadmin/aiadmintest"
)

// The binaries under test and the demo server every test shares. The tests
// run aiadminctl as a subprocess, as a shell or a script would.
var (
	ctlBin, serverBin, standinBin, workDir string
	demo                                   *aiadmintest.Server
)

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aiadminctl tests:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	var err error
	if workDir, err = os.MkdirTemp("", "aiadminctl-"); err != nil {
		return 0, err
	}
	defer os.RemoveAll(workDir)
	if ctlBin, err = aiadmintest.Build(workDir, "./tools/aiadminctl"); err != nil {
		return 0, err
	}
	if serverBin, err = aiadmintest.Build(workDir, "./server/cmd/aiadmin"); err != nil {
		return 0, err
	}
	if standinBin, err = aiadmintest.Build(workDir, "./tools/runpod-standin"); err != nil {
		return 0, err
	}
	if demo, err = aiadmintest.StartServer(serverBin, workDir, aiadmintest.NewCredentials()); err != nil {
		return 0, err
	}
	defer demo.Stop()
	return m.Run(), nil
}

// result is what one run of aiadminctl gave.
type result struct {
	stdout, stderr string
	code           int
}

// ctl runs aiadminctl with args, standard input from /dev/null (not a
// terminal), and an environment without aiadmin settings plus env.
func ctl(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), ctlBin, args...)
	cmd.Env = cleanEnv(env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running aiadminctl %v: %v", args, err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// cleanEnv is the test's environment without aiadmin settings, plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AIADMIN_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// asAdmin is the environment of an operator of the demo server.
func asAdmin() []string {
	return []string{"AIADMIN_URL=" + demo.URL, "AIADMIN_TOKEN=" + demo.Creds.AdminToken}
}

// ok runs aiadminctl as the demo's admin and fails the test unless it
// exits 0 with nothing on standard error.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	r := ctl(t, asAdmin(), args...)
	if r.code != 0 || r.stderr != "" && !strings.HasPrefix(r.stderr, "page ") {
		t.Fatalf("aiadminctl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}
