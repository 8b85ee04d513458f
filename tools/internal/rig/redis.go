// Package rig starts, on loopback, what a load run against aiadmin needs: a
// redis-server process, a realistic fleet written through clients/fleet, an
// inference stand-in that answers every health probe, and aiadmin processes.
// The load tool and the fault suite share it; every process it starts is
// stopped by the value that started it.
package rig

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// startTimeout bounds how long a started process may take to answer.
const startTimeout = 30 * time.Second

// ServerBinary is the path of valkey-server, or else redis-server; the
// error says how to get one.
func ServerBinary() (string, error) {
	for _, name := range []string{"valkey-server", "redis-server"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("neither valkey-server nor redis-server is on PATH: run make deps (or apt-get install redis-server)")
}

// Redis is one Valkey-compatible server process on a fixed loopback port,
// without persistence. Kill and Start stop and start it on the same port, as
// a crash and a restart would.
type Redis struct {
	bin  string
	addr string
	dir  string
	args []string

	mu  sync.Mutex
	cmd *exec.Cmd
}

// StartRedis starts a server on a free loopback port with extra arguments
// (such as "--maxclients", "20000") and waits until it answers PING.
func StartRedis(extraArgs ...string) (*Redis, error) {
	bin, err := ServerBinary()
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "rig-redis-")
	if err != nil {
		return nil, err
	}
	r := &Redis{bin: bin, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: dir, args: extraArgs}
	if err := r.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return r, nil
}

// Addr is the server's host:port.
func (r *Redis) Addr() string { return r.addr }

// Start starts the server, after Kill, on its port, and waits until it
// answers PING; the data is gone.
func (r *Redis) Start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		return errors.New("redis-server is already running")
	}
	_, port, _ := net.SplitHostPort(r.addr)
	args := append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", r.dir, "--logfile", filepath.Join(r.dir, "server.log")}, r.args...)
	cmd := exec.Command(r.bin, args...)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", r.bin, err)
	}
	r.cmd = cmd
	deadline := time.Now().Add(startTimeout)
	for {
		if err := Ping(r.addr); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			r.killLocked()
			log, _ := os.ReadFile(filepath.Join(r.dir, "server.log"))
			return fmt.Errorf("redis-server on %s did not answer within %s: %s", r.addr, startTimeout, tail(log))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill stops the server at once, as a crash would, and waits for it to
// exit. It does nothing when the server is not running.
func (r *Redis) Kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.killLocked()
}

func (r *Redis) killLocked() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	_ = r.cmd.Wait()
	r.cmd = nil
}

// Close kills the server and removes its directory.
func (r *Redis) Close() {
	r.Kill()
	_ = os.RemoveAll(r.dir)
}

// Ping sends PING to addr on a new connection and checks the answer.
func Ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	buf := make([]byte, 7)
	n, err := conn.Read(buf)
	if err != nil {
		return err
	}
	if string(buf[:n]) != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", buf[:n])
	}
	return nil
}

// FreePort returns a loopback TCP port nobody listens on now.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tail is the end of a log, for an error message.
func tail(b []byte) string {
	const max = 2000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

// waitContext sleeps d or until ctx ends.
func waitContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
