package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
	"github.com/threatwinds/aiadmin/gen/adminclient"
	"github.com/threatwinds/aiadmin/server/contracttest"
	"github.com/threatwinds/aiadmin/server/pool"
)

// replicaProcess is one aiadmin process of a fleet of replicas.
type replicaProcess struct {
	name   string
	addr   string
	cmd    *exec.Cmd
	stderr *syncBuffer
	tr     *contracttest.Transport
	admin  *adminclient.ClientWithResponses
	// exited is closed when the process has exited, with waitErr set.
	exited  chan struct{}
	waitErr error
}

// startReplicaProcess runs bin as one replica with args, listening on a
// free loopback port, and waits until it serves /healthz.
func startReplicaProcess(t *testing.T, bin, name, token string, args ...string) *replicaProcess {
	t.Helper()
	r := &replicaProcess{name: name, addr: freeAddr(t), stderr: &syncBuffer{}, exited: make(chan struct{}),
		tr: &contracttest.Transport{Spec: contracttest.Spec(t)}}
	r.cmd = exec.Command(bin, append([]string{"--listen", r.addr}, args...)...)
	r.cmd.Env = cleanEnv()
	r.cmd.Stdout, r.cmd.Stderr = &syncBuffer{}, r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r.waitErr = r.cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-r.exited
		if strings.Contains(r.stderr.String(), token) {
			t.Errorf("replica %s: the admin token reached the log", name)
		}
		for _, res := range r.tr.Results() {
			if res.Err != nil {
				t.Errorf("replica %s: contract violated: %v", name, res.Err)
			}
		}
	})
	waitHealthy(t, r.addr, r.stderr)

	var err error
	r.admin, err = adminclient.NewClientWithResponses("http://"+r.addr,
		adminclient.WithHTTPClient(&http.Client{Transport: r.tr, Timeout: 30 * time.Second}),
		adminclient.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+token)
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// acquiredLeaseAs reports whether this replica's log says it took the
// prober lease as holder.
func (r *replicaProcess) acquiredLeaseAs(holder string) bool {
	for _, line := range strings.Split(r.stderr.String(), "\n") {
		var entry struct {
			Msg    string `json:"msg"`
			Holder string `json:"holder"`
		}
		if json.Unmarshal([]byte(line), &entry) == nil &&
			strings.HasPrefix(entry.Msg, "prober lease acquired") && entry.Holder == holder {
			return true
		}
	}
	return false
}

// server is the /servers entry of url as this replica lists it, or a
// description of what it answered instead.
func (r *replicaProcess) server(ctx context.Context, url string) (*adminclient.Server, string) {
	return contracttest.ListedServer(ctx, r.admin, url)
}

// TestKillingTheLeaseHolderHandsProbingOver runs two aiadmin processes on one
// Valkey and kills the one holding the prober lease with SIGKILL, so it
// releases nothing: the other takes the lease when it expires and probing
// goes on, all within 15 s of the kill.
func TestKillingTheLeaseHolderHandsProbingOver(t *testing.T) {
	bin := buildBinary(t)
	vk := valkeytest.StartServer(t)
	const token = "tok-replica-admin-7d3f0c"
	creds := contracttest.WriteCredentialsFile(t, "usr_ops", token)
	serverURL := contracttest.InferenceServer(t, "m")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	client, err := fleet.Connect(ctx, fleet.ConnectOptions{Addrs: []string{vk.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	store := fleet.New(client, fleet.Options{})
	if err := store.RegisterServer(ctx, fleet.ProviderVLLM, serverURL, []string{"m"}); err != nil {
		t.Fatal(err)
	}

	args := []string{"--valkey", vk.Addr(), "--auth-file", creds, "--demo=false",
		"--probe-interval", "1s", "--probe-timeout", "500ms"}
	replicas := []*replicaProcess{
		startReplicaProcess(t, bin, "A", token, args...),
		startReplicaProcess(t, bin, "B", token, args...),
	}

	// Who holds the lease is in Valkey; which process that is, in its log.
	var holder string
	var leader, survivor *replicaProcess
	pollUntil(t, 15*time.Second, "one replica holds the prober lease and logged taking it", func() string {
		h, err := store.LeaseHolder(ctx, pool.LeaseName)
		if err != nil || h == "" {
			return fmt.Sprintf("holder %q, %v", h, err)
		}
		holder = h
		for i, r := range replicas {
			if r.acquiredLeaseAs(h) {
				leader, survivor = r, replicas[1-i]
				return ""
			}
		}
		return fmt.Sprintf("no replica logged taking the lease as %q", h)
	})
	pollUntil(t, 15*time.Second, survivor.name+" shows the server probed by "+leader.name, func() string {
		s, state := survivor.server(ctx, serverURL)
		if s == nil || s.LastCheckMs == 0 || !s.Healthy {
			return state
		}
		return ""
	})

	if err := leader.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-leader.exited
	killedAt := time.Now()

	// Every check after the kill is the survivor's: no other prober runs.
	pollUntil(t, 15*time.Second, survivor.name+" takes the lease and probes after "+leader.name+" was killed", func() string {
		h, err := store.LeaseHolder(ctx, pool.LeaseName)
		if err != nil || h == "" || h == holder {
			return fmt.Sprintf("lease holder %q (the killed replica was %q), %v", h, holder, err)
		}
		if !survivor.acquiredLeaseAs(h) {
			return fmt.Sprintf("lease holder %q is not %s", h, survivor.name)
		}
		s, state := survivor.server(ctx, serverURL)
		if s == nil || s.LastCheckMs <= killedAt.UnixMilli() || !s.Healthy {
			return "no probe since the kill: " + state
		}
		return ""
	})
	t.Logf("%s probes %s after %s was killed (lease TTL %s)",
		survivor.name, time.Since(killedAt).Round(100*time.Millisecond), leader.name, pool.DefaultLeaseTTL)
	survivor.stop(t)
}

// stop sends SIGTERM and checks that the process exits 0 within 30 s.
func (r *replicaProcess) stop(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.exited:
		if r.waitErr != nil {
			t.Errorf("replica %s: exit after SIGTERM: %v\n%s", r.name, r.waitErr, r.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Errorf("replica %s: did not stop after SIGTERM\n%s", r.name, r.stderr.String())
	}
}
