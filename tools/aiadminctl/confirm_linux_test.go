package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/threatwinds/aiadmin/clients/aiadmin"
)

// openPTY opens a pseudo-terminal pair: what is written to the controller
// arrives on the terminal as typed input.
func openPTY(t *testing.T) (controller, terminal *os.File) {
	t.Helper()
	controller, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening /dev/ptmx (is devpts mounted?): %v", err)
	}
	t.Cleanup(func() { controller.Close() })
	fd := int(controller.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlocking the terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("naming the terminal: %v", err)
	}
	terminal, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening the terminal: %v", err)
	}
	t.Cleanup(func() { terminal.Close() })
	// The terminal echoes what is typed back to the controller; drain it
	// so the echo never fills the buffer.
	go func() { _, _ = io.Copy(io.Discard, controller) }()
	return controller, terminal
}

// typed runs aiadminctl with a terminal on standard input and answer typed
// on it.
func typed(t *testing.T, answer string, args ...string) result {
	t.Helper()
	controller, terminal := openPTY(t)
	if _, err := controller.WriteString(answer + "\n"); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), ctlBin, args...)
	cmd.Env = cleanEnv(asAdmin()...)
	cmd.Stdin = terminal
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

func TestDestructiveActionsAskOnATerminal(t *testing.T) {
	r := typed(t, "y", "affinity", "clear", "usr_nobody")
	if r.code != 0 || !strings.HasPrefix(r.stderr, "Clear the session affinity of user usr_nobody for every model? [y/N] ") {
		t.Errorf("answering y: exit %d, stderr %q", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "cleared 0 affinity entries") {
		t.Errorf("answering y did not clear: %q", r.stdout)
	}

	r = typed(t, "n", "pods", "restart", "abc123")
	if r.code != 2 || !strings.Contains(r.stderr, "Restart pod abc123? It is stopped, then resumed. [y/N] ") || !strings.Contains(r.stderr, "not confirmed: nothing was done") {
		t.Errorf("answering n: exit %d, stderr %q", r.code, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("answering n printed %q", r.stdout)
	}

	r = typed(t, "n", "pods", "cycle", "abc123")
	if r.code != 2 || !strings.Contains(r.stderr, "Cycle pod abc123? Its URL is drained, the pod restarted once idle, and undrained once healthy. [y/N] ") || !strings.Contains(r.stderr, "not confirmed: nothing was done") {
		t.Errorf("answering n to pods cycle: exit %d, stderr %q", r.code, r.stderr)
	}

	var page aiadmin.ServerList
	decode(t, ok(t, "servers", "list", "--limit", "1", "-o", "json"), &page)
	url := page.Servers[0].Url
	r = typed(t, "yes", "servers", "drain", url)
	if r.code != 0 || !strings.HasPrefix(r.stderr, "Drain server "+url+"? It keeps its requests but gets no new sessions until undrained. [y/N] ") || !strings.Contains(r.stdout, "draining") {
		t.Errorf("answering yes to servers drain: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = typed(t, "y", "servers", "undrain", url)
	if r.code != 0 || !strings.HasPrefix(r.stderr, "Undrain server "+url+"? It gets new sessions again. [y/N] ") || !strings.Contains(r.stdout, "not draining") {
		t.Errorf("answering y to servers undrain: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	// --yes needs no terminal answer.
	if r := typed(t, "", "affinity", "clear", "usr_nobody", "--yes"); r.code != 0 || strings.Contains(r.stderr, "[y/N]") {
		t.Errorf("--yes on a terminal: exit %d, stderr %q", r.code, r.stderr)
	}
}
