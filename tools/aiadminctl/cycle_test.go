package main

import (
	"bufio"
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/clients/aiadmin"
	"github.com/threatwinds/aiadmin/clients/aiadmin/aiadmintest"
	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
)

// sdk is a client of s as its admin, to check through the API what a
// command did.
func sdk(t *testing.T, s *aiadmintest.Server) *aiadmin.Client {
	t.Helper()
	c, err := aiadmin.New(s.URL, aiadmin.WithToken(s.Creds.AdminToken))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// envOf is the environment of an operator of s.
func envOf(s *aiadmintest.Server) []string {
	return []string{"AIADMIN_URL=" + s.URL, "AIADMIN_TOKEN=" + s.Creds.AdminToken}
}

// eventually checks cond every 200 ms until it holds, failing the test
// after timeout with what cond last said.
func eventually(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		done, seen := cond()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not so after %v: %s", timeout, seen)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// steps returns the first word of each line a cycle printed.
func steps(out string) []string {
	var s []string
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			s = append(s, f[0])
		}
	}
	return s
}

// serverOf returns the pool's entry for url, if any.
func serverOf(t *testing.T, c *aiadmin.Client, url string) (aiadmin.Server, bool) {
	t.Helper()
	for s, err := range c.Servers(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		if s.Url == url {
			return s, true
		}
	}
	return aiadmin.Server{}, false
}

// auditOf returns the actions of the audit trail on any of targets, newest
// first.
func auditOf(t *testing.T, c *aiadmin.Client, targets ...string) []string {
	t.Helper()
	var actions []string
	for e, err := range c.Audit(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(targets, e.Target) {
			actions = append(actions, e.Action+" "+e.Outcome)
		}
	}
	return actions
}

// TestPodsCycleAgainstTheDemoFleet cycles a demo pod. A resumed demo pod
// answers 503 while it "loads its model" (45 s), so the test takes about
// that long; it runs beside the others. The server probes every 2 s and
// lets an abandoned request's lease lapse after 5 s, so that neither wait
// is longer than the demo makes it.
func TestPodsCycleAgainstTheDemoFleet(t *testing.T) {
	t.Parallel()
	s, err := aiadmintest.StartServer(serverBin, t.TempDir(), aiadmintest.NewCredentials(),
		"--probe-interval", "2s", "--probe-timeout", "1s", "--healthy-after", "1", "--request-lease", "5s")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	c := sdk(t, s)

	// A first replica: the demo's second replica of its main model flaps.
	var pod aiadmin.Pod
	eventually(t, 30*time.Second, func() (bool, string) {
		for p, err := range c.Pods(t.Context()) {
			if err != nil {
				return false, err.Error()
			}
			if strings.HasSuffix(p.Name, "-1") && p.DesiredStatus == "RUNNING" && p.Healthy != nil && *p.Healthy {
				pod = p
				return true, ""
			}
		}
		return false, "no first replica is RUNNING and healthy"
	})
	before, err := c.GetPod(t.Context(), pod.Id)
	if err != nil {
		t.Fatal(err)
	}

	r := ctl(t, envOf(s), "pods", "cycle", pod.Id, "--yes",
		"--poll-interval", "250ms", "--drain-timeout", "1m", "--ready-timeout", "2m")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("pods cycle: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if got, want := steps(r.stdout), []string{stepDrain, stepIdle, stepRestart, stepHealthy, stepUndrain}; !slices.Equal(got, want) {
		t.Errorf("steps %v, want %v\n%s", got, want, r.stdout)
	}

	after, err := c.GetPod(t.Context(), pod.Id)
	if err != nil {
		t.Fatal(err)
	}
	if after.Draining || after.Healthy == nil || !*after.Healthy || after.DesiredStatus != "RUNNING" {
		t.Errorf("after the cycle the pod is draining %v, healthy %v, %s; want in rotation, healthy and RUNNING", after.Draining, after.Healthy, after.DesiredStatus)
	}
	if after.LastStartedAt == before.LastStartedAt {
		t.Errorf("the pod was not restarted: last started %q before and after", after.LastStartedAt)
	}
	if srv, ok := serverOf(t, c, pod.Url); !ok || srv.Draining {
		t.Errorf("/servers after the cycle: %+v (listed %v), want it not draining", srv, ok)
	}
	want := []string{"server.undrain undrained", "pod.restart initiated", "server.drain drained"}
	if got := auditOf(t, c, pod.Id, pod.Url); !slices.Equal(got, want) {
		t.Errorf("audit of the cycle, newest first: %v, want %v", got, want)
	}
}

// TestPodsCycleStopsWithThePodDrained runs the cycle against a server
// whose RunPod fails every stop, over a pool of one loopback inference
// server, and shows that each way of stopping (a timeout, a failed
// restart, Ctrl-C) leaves the pod's URL drained and says how to undrain
// it.
func TestPodsCycleStopsWithThePodDrained(t *testing.T) {
	t.Parallel()
	valkey := valkeytest.StartServer(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"object":"list","data":[]}`))
	}))
	t.Cleanup(backend.Close)
	standin, err := aiadmintest.StartStandin(standinBin, 2, "cyc", "-fail", "podStop=500")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(standin.Stop)
	s, err := aiadmintest.StartServer(serverBin, t.TempDir(), aiadmintest.NewCredentials(),
		"--valkey", valkey.Addr(), "--runpod-url", standin.URL, "--runpod-api-key", standin.APIKey,
		"--pod-prefix", "cyc", "--pod-url-template", backend.URL+"/{id}/v1",
		"--probe-interval", "1s", "--probe-timeout", "500ms", "--healthy-after", "1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	c := sdk(t, s)

	var pod aiadmin.Pod
	for p, err := range c.Pods(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		if p.DesiredStatus == "RUNNING" {
			pod = p
			break
		}
	}
	if pod.Id == "" {
		t.Fatal("the stand-in has no running pod")
	}
	client, err := fleet.Connect(t.Context(), fleet.ConnectOptions{Addrs: []string{valkey.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	store := fleet.New(client, fleet.Options{})
	if err := store.RegisterServer(t.Context(), "vllm", pod.Url, []string{"cyc-model"}); err != nil {
		t.Fatal(err)
	}
	if err := store.PublishRefresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() (bool, string) {
		srv, ok := serverOf(t, c, pod.Url)
		return ok && srv.Healthy, "the pod's URL is not in the pool and healthy"
	})
	env := envOf(s)
	undrain := "aiadminctl servers undrain " + pod.Url + " --yes"
	stillDrained := func(t *testing.T) {
		t.Helper()
		srv, ok := serverOf(t, c, pod.Url)
		if !ok || !srv.Draining || srv.DrainReason != "aiadminctl pods cycle" {
			t.Errorf("/servers: %+v (listed %v), want it draining for aiadminctl pods cycle", srv, ok)
		}
		if _, err := c.UndrainServer(t.Context(), pod.Url); err != nil {
			t.Fatal(err)
		}
	}

	// A request in flight on the pod keeps the cycle waiting for idle.
	lease, err := store.StartRequest(t.Context(), pod.Url, "cyc-model")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a wait times out", func(t *testing.T) {
		r := ctl(t, env, "pods", "cycle", pod.Id, "--yes", "--poll-interval", "100ms", "--drain-timeout", "1s")
		if r.code != exitTimeout || !slices.Equal(steps(r.stdout), []string{stepDrain}) {
			t.Errorf("exit %d, want %d, after the drain only\nstdout: %s\nstderr: %s", r.code, exitTimeout, r.stdout, r.stderr)
		}
		for _, want := range []string{"pods cycle stopped at idle: timed out after 1s (requests still in flight: 1)", "is left drained", undrain} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr %q lacks %q", r.stderr, want)
			}
		}
		stillDrained(t)
	})

	t.Run("Ctrl-C", func(t *testing.T) {
		cmd := exec.CommandContext(t.Context(), ctlBin, "pods", "cycle", pod.Id, "--yes", "--poll-interval", "100ms")
		cmd.Env = cleanEnv(env...)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(stdout)
		if !lines.Scan() || !strings.HasPrefix(lines.Text(), stepDrain) {
			t.Fatalf("the cycle's first line is %q, want the drain (stderr %q)", lines.Text(), stderr.String())
		}
		// The cycle is now waiting for the request in flight.
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		for lines.Scan() {
			t.Errorf("after Ctrl-C the cycle printed %q", lines.Text())
		}
		err = cmd.Wait()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitInterrupted {
			t.Errorf("exit %v, want %d", err, exitInterrupted)
		}
		for _, want := range []string{"pods cycle interrupted at idle", "is left drained", undrain} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr %q lacks %q", stderr.String(), want)
			}
		}
		stillDrained(t)
	})

	if err := store.FinishRequest(t.Context(), lease); err != nil {
		t.Fatal(err)
	}
	t.Run("the restart fails", func(t *testing.T) {
		r := ctl(t, env, "pods", "cycle", pod.Id, "--yes", "--poll-interval", "100ms")
		if r.code != exitServer || !slices.Equal(steps(r.stdout), []string{stepDrain, stepIdle}) {
			t.Errorf("exit %d, want %d, after drain and idle only\nstdout: %s\nstderr: %s", r.code, exitServer, r.stdout, r.stderr)
		}
		for _, want := range []string{"pods cycle stopped at restart: RestartPod: 502", "(failed at stop)", "(error id ", "is left drained", undrain} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr %q lacks %q", r.stderr, want)
			}
		}
		if strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("the failure wrote %d lines on stderr, want one", strings.Count(r.stderr, "\n"))
		}
		if got := auditOf(t, c, pod.Id); len(got) == 0 || got[0] != "pod.restart failed at stop" {
			t.Errorf("audit of the pod: %v, want the failed restart first", got)
		}
		stillDrained(t)
	})
}
