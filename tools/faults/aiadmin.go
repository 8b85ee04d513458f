package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// readyTimeout bounds how long an aiadmin process may take to serve /readyz.
const readyTimeout = 20 * time.Second

// aiadminProc is one aiadmin process the tool runs.
type aiadminProc struct {
	name    string
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port
	logPath string
	// exited is closed when the process has exited; waitErr and exitedAt
	// are set before.
	exited   chan struct{}
	waitErr  error
	exitedAt time.Time
	// plain asks /metrics and /readyz on connections of their own, so that
	// none of the load's connections is counted or kept open.
	plain *http.Client
}

// startAiadmin runs the aiadmin binary with args on a free loopback port and
// waits until it answers /readyz. The process is killed by Close if nothing
// stopped it before.
func (e *env) startAiadmin(ctx context.Context, name string, args ...string) (*aiadminProc, error) {
	var lastErr error
	for attempt := range 3 {
		p, err := e.launchAiadmin(ctx, fmt.Sprintf("%s-%d", name, attempt), args)
		if err == nil {
			return p, nil
		}
		lastErr = err
		// Another process may have taken the port between choosing and
		// binding it; anything else is not worth a second try.
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, lastErr
}

func (e *env) launchAiadmin(ctx context.Context, name string, args []string) (*aiadminProc, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()

	p := &aiadminProc{
		name: name, base: "http://" + addr, logPath: filepath.Join(e.dir, name+".log"), exited: make(chan struct{}),
		plain: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}},
	}
	logf, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	p.cmd = exec.Command(e.bin, append([]string{"--listen", addr}, args...)...)
	p.cmd.Env = aiadminEnv(e.runpodKey)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	setProcAttr(p.cmd)
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting aiadmin: %w", err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		p.exitedAt = time.Now()
		close(p.exited)
	}()
	e.onClose(p.kill)

	deadline := time.Now().Add(readyTimeout)
	for {
		if p.ready() {
			return p, nil
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("aiadmin %s exited before it was ready (%v):\n%s", name, p.waitErr, p.logTail(20))
		case <-ctx.Done():
			p.kill()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.kill()
			return nil, fmt.Errorf("aiadmin %s not ready after %s:\n%s", name, readyTimeout, p.logTail(20))
		}
	}
}

// aiadminEnv is the tool's environment without any aiadmin or RunPod
// setting, which would change what the scenarios configure, and with the
// RunPod key, which so stays out of the process list.
func aiadminEnv(runpodKey string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AIADMIN_") || strings.HasPrefix(kv, "RUNPOD_API_KEY=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "AIADMIN_RUNPOD_API_KEY="+runpodKey)
}

func (p *aiadminProc) ready() bool {
	resp, err := p.plain.Get(p.base + "/readyz")
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// api is the URL of an admin API path such as "/pods".
func (p *aiadminProc) api(path string) string { return p.base + "/api/ai/v1/admin" + path }

// running reports whether the process has not exited.
func (p *aiadminProc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// goroutines reads the process's go_goroutines series from /metrics.
func (p *aiadminProc) goroutines() (int, error) {
	resp, err := p.plain.Get(p.base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("/metrics answered %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int(f), err
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("/metrics has no go_goroutines series")
}

// rss is the process's resident memory in bytes.
func (p *aiadminProc) rss() (int64, error) { return residentBytes(p.cmd.Process.Pid) }

// signal sends sig to the process.
func (p *aiadminProc) signal(sig syscall.Signal) error { return p.cmd.Process.Signal(sig) }

// stop sends SIGTERM and waits up to timeout for the process to exit, then
// kills it. It fails when the process had to be killed or exited with an
// error.
func (p *aiadminProc) stop(timeout time.Duration) error {
	if !p.running() {
		return p.exitError()
	}
	if err := p.signal(syscall.SIGTERM); err != nil && p.running() {
		return err
	}
	select {
	case <-p.exited:
		return p.exitError()
	case <-time.After(timeout):
		p.kill()
		return fmt.Errorf("aiadmin %s did not exit within %s of SIGTERM; killed", p.name, timeout)
	}
}

func (p *aiadminProc) exitError() error {
	if p.waitErr != nil {
		return fmt.Errorf("aiadmin %s exited with %v:\n%s", p.name, p.waitErr, p.logTail(10))
	}
	return nil
}

// kill kills the process if it runs and waits for it.
func (p *aiadminProc) kill() {
	if p.running() {
		_ = p.cmd.Process.Kill()
	}
	<-p.exited
}

// logTail returns the last n lines of the process's log.
func (p *aiadminProc) logTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
