package valkeytest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
)

func TestServerRestartsOnSamePort(t *testing.T) {
	s := valkeytest.StartServer(t)
	addr := s.Addr()
	if _, err := valkeytest.Command(addr, "SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	if _, err := valkeytest.Command(addr, "PING"); err == nil {
		t.Fatal("server answers after Stop")
	}
	s.Stop() // twice is harmless
	s.Start()
	if s.Addr() != addr {
		t.Errorf("restarted on %s, want %s", s.Addr(), addr)
	}
	got, err := valkeytest.Command(addr, "GET", "k")
	if err != nil {
		t.Fatal(err)
	}
	if got != "" {
		t.Errorf("GET k after restart = %q, want nothing: persistence is off", got)
	}
}

func TestServerExtraArgs(t *testing.T) {
	s := valkeytest.StartServer(t, "--enable-debug-command", "yes")
	if _, err := valkeytest.Command(s.Addr(), "DEBUG", "POPULATE", "10"); err != nil {
		t.Fatal(err)
	}
	if got, err := valkeytest.Command(s.Addr(), "DBSIZE"); err != nil || got != "10" {
		t.Errorf("DBSIZE = %q, %v; want 10", got, err)
	}
}

func TestCluster(t *testing.T) {
	addrs := valkeytest.StartCluster(t)
	if len(addrs) != 3 {
		t.Fatalf("%d nodes, want 3", len(addrs))
	}
	for _, a := range addrs {
		info, err := valkeytest.Command(a, "CLUSTER", "INFO")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"cluster_state:ok", "cluster_known_nodes:3", "cluster_size:3", "cluster_slots_assigned:16384"} {
			if !strings.Contains(info, want) {
				t.Errorf("node %s: CLUSTER INFO lacks %s:\n%s", a, want, info)
			}
		}
	}
}

func TestLaunchIsStoppedByItsCaller(t *testing.T) {
	s, err := valkeytest.Launch(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if _, err := valkeytest.Command(s.Addr(), "SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	if _, err := valkeytest.Command(s.Addr(), "PING"); err == nil {
		t.Fatal("server answers after Stop")
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if got, err := valkeytest.Command(s.Addr(), "PING"); err != nil || got != "PONG" {
		t.Errorf("PING after Restart = %q, %v", got, err)
	}
}

func TestParseClusterNodes(t *testing.T) {
	const text = `07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@31004,host4 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@31002 master - 0 1426238316232 2 connected 5461-10922
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460 5462 [5463->-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1]
6ec23923021cf3ffec47632106199cb7f496ce01 127.0.0.1:30005@31005 master,fail - 1426238316232 0 5 disconnected
`
	nodes, err := valkeytest.ParseClusterNodes(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 4 {
		t.Fatalf("%d nodes, want 4", len(nodes))
	}
	replica, other, me, failed := nodes[0], nodes[1], nodes[2], nodes[3]
	if replica.Addr != "127.0.0.1:30004" || replica.IsMaster() || replica.MasterID != me.ID || !replica.Connected {
		t.Errorf("replica parsed as %+v", replica)
	}
	if !me.IsMaster() || !me.HasFlag("myself") || me.MasterID != "" {
		t.Errorf("own master parsed as %+v", me)
	}
	for slot, want := range map[int]bool{0: true, 5460: true, 5461: false, 5462: true, 5463: false} {
		if got := me.Serves(slot); got != want {
			t.Errorf("master serves slot %d: %v, want %v", slot, got, want)
		}
	}
	if !other.Serves(10922) || other.Serves(10923) {
		t.Errorf("range 5461-10922 parsed as %v", other.Slots)
	}
	if failed.IsMaster() || failed.Connected {
		t.Errorf("failed master parsed as %+v", failed)
	}
	if _, err := valkeytest.ParseClusterNodes("abc 127.0.0.1:1@2 master"); err == nil {
		t.Error("a short line parsed without error")
	}
}

// TestReplicatedClusterFailsOver kills the master of a key: its replica
// takes over, and the old master, started again, rejoins as a replica.
func TestReplicatedClusterFailsOver(t *testing.T) {
	c := valkeytest.StartReplicatedCluster(t, 1, "--cluster-node-timeout", "1000")
	if len(c.Nodes) != 6 {
		t.Fatalf("%d nodes, want 6", len(c.Nodes))
	}
	entry := c.Nodes[0].Addr()
	master, replicas, err := valkeytest.MasterFor(entry, "{k}")
	if err != nil {
		t.Fatal(err)
	}
	if len(replicas) != 1 {
		t.Fatalf("master %s has replicas %v, want one", master, replicas)
	}
	if role, err := valkeytest.Role(replicas[0]); err != nil || role != "slave" {
		t.Fatalf("replica role %q, %v", role, err)
	}
	c.Node(master).Stop()
	deadline := time.Now().Add(30 * time.Second)
	for {
		role, err := valkeytest.Role(replicas[0])
		if err == nil && role == "master" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s not promoted after the master was killed: %q, %v", replicas[0], role, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.Node(master).Start()
	for {
		role, err := valkeytest.Role(master)
		if err == nil && role == "slave" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("old master %s did not rejoin as a replica: %q, %v", master, role, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
