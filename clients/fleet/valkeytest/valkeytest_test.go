package valkeytest_test

import (
	"strings"
	"testing"

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
