// Package valkeytest runs throwaway Valkey-compatible servers for tests and
// benchmarks: a standalone server that can be stopped and started again on
// the same port, a three-master cluster, and a cluster whose masters have
// replicas. They are real server processes (valkey-server, or else
// redis-server, found in PATH), with persistence off, bound to loopback, and
// stopped when the test ends.
//
// Launch and LaunchCluster start the same servers for a program rather than a
// test (a fault-injection tool, say): they return errors instead of failing a
// test, and the caller stops what they started.
//
// A test that cannot find a server binary fails; it does not skip.
package valkeytest

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// readyTimeout bounds how long a server or cluster may take to come up.
const readyTimeout = 15 * time.Second

// ServerBinary returns the path of valkey-server, or else redis-server.
func ServerBinary() (string, error) {
	return lookPath("valkey-server", "redis-server")
}

// CLIBinary returns the path of valkey-cli, or else redis-cli.
func CLIBinary() (string, error) {
	return lookPath("valkey-cli", "redis-cli")
}

func lookPath(names ...string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH: run `make deps` (apt-get install redis-server)", strings.Join(names, " or "))
}

// Server is one server process on a fixed loopback port.
type Server struct {
	// tb is the test that started the server, nil for one from Launch.
	tb   testing.TB
	bin  string
	dir  string
	port int
	args []string
	// tls, when set, makes the server speak TLS only, with these files.
	tls *TLSFiles

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// StartServer starts a standalone server with extra command-line arguments
// (for example "--enable-debug-command", "yes") and stops it when tb ends.
func StartServer(tb testing.TB, extraArgs ...string) *Server {
	tb.Helper()
	bin, err := ServerBinary()
	if err != nil {
		tb.Fatal(err)
	}
	var lastErr error
	// Another process may take the free port between choosing and binding it.
	for range 3 {
		ports, err := freePorts(1)
		if err != nil {
			tb.Fatalf("choosing a port: %v", err)
		}
		s, err := startOn(tb, bin, ports[0], extraArgs)
		if err == nil {
			return s
		}
		lastErr = err
	}
	tb.Fatalf("starting %s: %v", bin, lastErr)
	return nil
}

// StartTLSServer starts a standalone server that accepts TLS connections
// only, with a certificate for 127.0.0.1 signed by a throwaway CA, and stops
// it when tb ends. Clients need not present a certificate.
func StartTLSServer(tb testing.TB, extraArgs ...string) *Server {
	tb.Helper()
	bin, err := ServerBinary()
	if err != nil {
		tb.Fatal(err)
	}
	files, err := writeTLSFiles(tb.TempDir())
	if err != nil {
		tb.Fatalf("creating TLS certificates: %v", err)
	}
	var lastErr error
	for range 3 {
		ports, err := freePorts(1)
		if err != nil {
			tb.Fatalf("choosing a port: %v", err)
		}
		s, err := startServer(tb, bin, ports[0], extraArgs, files)
		if err == nil {
			return s
		}
		lastErr = err
	}
	tb.Fatalf("starting %s with TLS: %v", bin, lastErr)
	return nil
}

// Launch starts a standalone server on a free loopback port, with its data
// directory under dir, for a program rather than a test: the caller stops it
// with Stop, and Restart starts it again.
func Launch(dir string, extraArgs ...string) (*Server, error) {
	bin, err := ServerBinary()
	if err != nil {
		return nil, err
	}
	var lastErr error
	for range 3 {
		ports, err := freePorts(1)
		if err != nil {
			return nil, fmt.Errorf("choosing a port: %w", err)
		}
		s, err := launchOn(dir, bin, ports[0], extraArgs)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("starting %s: %w", bin, lastErr)
}

// launchOn starts a server on port with a data directory of its own under
// dir; nothing stops it but the caller.
func launchOn(dir, bin string, port int, args []string) (*Server, error) {
	own, err := os.MkdirTemp(dir, "valkey-")
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, dir: own, port: port, args: args}
	if err := s.start(); err != nil {
		return nil, err
	}
	return s, nil
}

// TLS returns the server's certificate files, or nil for a plain server.
func (s *Server) TLS() *TLSFiles { return s.tls }

// startOn starts a server on port and registers its stop with tb.
func startOn(tb testing.TB, bin string, port int, args []string) (*Server, error) {
	return startServer(tb, bin, port, args, nil)
}

func startServer(tb testing.TB, bin string, port int, args []string, files *TLSFiles) (*Server, error) {
	s := &Server{tb: tb, bin: bin, dir: tb.TempDir(), port: port, args: args, tls: files}
	if err := s.start(); err != nil {
		return nil, err
	}
	tb.Cleanup(s.Stop)
	return s, nil
}

// Addr returns the server's host:port.
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// Start starts the server again on the same port after Stop, failing the
// test that started it when it cannot. The data is gone: persistence is off.
// A cluster node keeps its cluster configuration, so it rejoins its cluster.
// A server from Launch has no test to fail: use Restart.
func (s *Server) Start() {
	s.tb.Helper()
	if err := s.Restart(); err != nil {
		s.tb.Fatalf("%v", err)
	}
}

// Restart starts the server again on the same port after Stop and returns
// once it answers PING, as Start does, but returns what went wrong.
func (s *Server) Restart() error {
	if err := s.start(); err != nil {
		return fmt.Errorf("restarting server on %s: %w", s.Addr(), err)
	}
	return nil
}

// Stop kills the server, as a crash would, and waits for it to exit;
// stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("already running")
	}
	listen := []string{"--port", strconv.Itoa(s.port)}
	if s.tls != nil {
		listen = []string{"--port", "0", "--tls-port", strconv.Itoa(s.port),
			"--tls-cert-file", s.tls.CertFile, "--tls-key-file", s.tls.KeyFile,
			"--tls-ca-cert-file", s.tls.CAFile, "--tls-auth-clients", "no"}
	}
	args := append(append(listen,
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--daemonize", "no",
		"--logfile", "",
	), s.args...)
	logPath := filepath.Join(s.dir, "server.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	deadline := time.Now().Add(readyTimeout)
	for {
		reply, err := s.command("PING")
		if err == nil && reply == "PONG" {
			s.cmd, s.exited = cmd, exited
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("server exited: %s", tail(logPath))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("server not ready after %s (last: %q, %v): %s", readyTimeout, reply, err, tail(logPath))
		}
	}
}

// command sends one command to the server, over TLS when it speaks TLS.
func (s *Server) command(args ...string) (string, error) {
	if s.tls == nil {
		return Command(s.Addr(), args...)
	}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: time.Second}, Config: s.tls.ClientConfig()}
	conn, err := d.Dial("tcp", s.Addr())
	if err != nil {
		return "", err
	}
	return commandOn(conn, args)
}

// Command sends one command to addr on a new connection and returns the
// reply of a simple, integer or bulk string type; an error reply is returned
// as an error. It is enough to probe a server without a client library.
func Command(addr string, args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	return commandOn(conn, args)
}

func commandOn(conn net.Conn, args []string) (string, error) {
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", errors.New(line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return "", fmt.Errorf("bad bulk length %q", line)
		}
		if n < 0 {
			return "", nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return "", fmt.Errorf("unsupported reply %q", line)
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// tail returns the end of a log file, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	const max = 2000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}
