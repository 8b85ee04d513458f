package valkeytest

import (
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Cluster is a running cluster: masters that share the slots, each with the
// same number of replicas.
type Cluster struct {
	// Nodes are every node of the cluster. Which are masters changes with a
	// failover: ask ClusterNodes or Role.
	Nodes []*Server
}

// StartCluster starts three cluster-enabled servers, joins them into a
// cluster of three masters without replicas, waits until every node reports
// cluster_state:ok, and returns their addresses. The servers stop when tb
// ends.
func StartCluster(tb testing.TB, extraArgs ...string) []string {
	tb.Helper()
	return StartReplicatedCluster(tb, 0, extraArgs...).Addrs()
}

// StartReplicatedCluster starts a cluster of three masters with replicas
// replicas each and waits until every node reports cluster_state:ok and
// every replica is in sync with its master. The servers stop when tb ends.
func StartReplicatedCluster(tb testing.TB, replicas int, extraArgs ...string) *Cluster {
	tb.Helper()
	bin, cli, err := binaries()
	if err != nil {
		tb.Fatal(err)
	}
	start := func(port int, args []string) (*Server, error) { return startOn(tb, bin, port, args) }
	c, err := buildCluster(cli, start, 3, replicas, extraArgs)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// LaunchCluster starts a cluster of masters masters with replicas replicas
// each, with the nodes' data directories under dir, for a program rather
// than a test, and waits as StartReplicatedCluster does. The caller stops it
// with Stop; on error nothing is left running.
func LaunchCluster(dir string, masters, replicas int, extraArgs ...string) (*Cluster, error) {
	bin, cli, err := binaries()
	if err != nil {
		return nil, err
	}
	var started []*Server
	start := func(port int, args []string) (*Server, error) {
		s, err := launchOn(dir, bin, port, args)
		if err == nil {
			started = append(started, s)
		}
		return s, err
	}
	c, err := buildCluster(cli, start, masters, replicas, extraArgs)
	if err != nil {
		(&Cluster{Nodes: started}).Stop()
		return nil, err
	}
	return c, nil
}

func binaries() (server, cli string, err error) {
	if server, err = ServerBinary(); err != nil {
		return "", "", err
	}
	if cli, err = CLIBinary(); err != nil {
		return "", "", err
	}
	return server, cli, nil
}

// buildCluster starts the nodes with start, joins them with the CLI and waits
// until the cluster is whole.
func buildCluster(cli string, start func(port int, args []string) (*Server, error), masters, replicas int, extraArgs []string) (*Cluster, error) {
	if masters < 3 || replicas < 0 {
		return nil, fmt.Errorf("a cluster needs at least 3 masters and no negative replica count, got %d and %d", masters, replicas)
	}
	// The cluster bus needs a port of its own; the usual port+10000 may be
	// taken or out of range, so each node gets an explicit one, chosen with
	// the client ports so that none collide.
	nodes := masters * (1 + replicas)
	c := &Cluster{}
	var lastErr error
	for attempt := 0; attempt < 3 && len(c.Nodes) < nodes; attempt++ {
		ports, err := freePorts(2 * (nodes - len(c.Nodes)))
		if err != nil {
			return nil, fmt.Errorf("choosing cluster ports: %w", err)
		}
		for i := 0; i+1 < len(ports); i += 2 {
			args := append([]string{
				"--cluster-enabled", "yes",
				"--cluster-config-file", "nodes.conf",
				"--cluster-port", strconv.Itoa(ports[i+1]),
				"--cluster-node-timeout", "3000",
			}, extraArgs...)
			s, err := start(ports[i], args)
			if err != nil {
				lastErr = err
				continue
			}
			c.Nodes = append(c.Nodes, s)
		}
	}
	if len(c.Nodes) < nodes {
		return nil, fmt.Errorf("starting cluster nodes: %w", lastErr)
	}
	addrs := c.Addrs()
	create := exec.Command(cli, append(append([]string{"--cluster", "create"}, addrs...),
		"--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")...)
	if out, err := create.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("creating cluster of %v: %w\n%s", addrs, err, out)
	}
	if err := c.waitWhole(time.Now().Add(readyTimeout)); err != nil {
		return nil, err
	}
	return c, nil
}

// waitWhole waits until every node reports cluster_state:ok and knows every
// other, and every replica's link to its master is up.
func (c *Cluster) waitWhole(deadline time.Time) error {
	known := "cluster_known_nodes:" + strconv.Itoa(len(c.Nodes))
	for _, n := range c.Nodes {
		for {
			state, err := nodeState(n.Addr(), known)
			if err == nil && state == "" {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("cluster node %s not ready after %s: %v %s", n.Addr(), readyTimeout, err, state)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// nodeState says what a node still lacks to be part of a whole cluster, or
// "" when it lacks nothing.
func nodeState(addr, known string) (string, error) {
	info, err := Command(addr, "CLUSTER", "INFO")
	if err != nil {
		return "", err
	}
	if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, known) {
		return info, nil
	}
	repl, err := Command(addr, "INFO", "replication")
	if err != nil {
		return "", err
	}
	if strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up") {
		return repl, nil
	}
	return "", nil
}

// Addrs returns the address of every node.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr()
	}
	return addrs
}

// Node returns the node at addr, or nil.
func (c *Cluster) Node(addr string) *Server {
	for _, n := range c.Nodes {
		if n.Addr() == addr {
			return n
		}
	}
	return nil
}

// Stop kills every node.
func (c *Cluster) Stop() {
	for _, n := range c.Nodes {
		n.Stop()
	}
}

// MasterFor returns the address of the master serving key's slot and of its
// replicas, as the node at addr sees the cluster.
func MasterFor(addr, key string) (master string, replicas []string, err error) {
	slotText, err := Command(addr, "CLUSTER", "KEYSLOT", key)
	if err != nil {
		return "", nil, err
	}
	slot, err := strconv.Atoi(slotText)
	if err != nil {
		return "", nil, fmt.Errorf("CLUSTER KEYSLOT answered %q", slotText)
	}
	nodes, err := ClusterNodes(addr)
	if err != nil {
		return "", nil, err
	}
	var id string
	for _, n := range nodes {
		if n.IsMaster() && n.Serves(slot) {
			id, master = n.ID, n.Addr
		}
	}
	if id == "" {
		return "", nil, fmt.Errorf("no master serves slot %d", slot)
	}
	for _, n := range nodes {
		if n.MasterID == id && !n.HasFlag("fail") {
			replicas = append(replicas, n.Addr)
		}
	}
	return master, replicas, nil
}

// Role returns the replication role the node at addr reports: "master" or
// "slave".
func Role(addr string) (string, error) {
	info, err := Command(addr, "INFO", "replication")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(info, "\n") {
		if role, ok := strings.CutPrefix(strings.TrimSpace(line), "role:"); ok {
			return role, nil
		}
	}
	return "", errors.New("INFO replication has no role")
}

// ClusterNode is one node as CLUSTER NODES describes it.
type ClusterNode struct {
	// ID is the node's id in the cluster.
	ID string
	// Addr is the client address, host:port, without the bus port.
	Addr string
	// Flags are the node's flags: myself, master, slave, fail?, fail, ...
	Flags []string
	// MasterID is the id of the node's master, "" for a master.
	MasterID string
	// Connected reports the link state.
	Connected bool
	// Slots are the slot ranges the node serves ("0-5460", "5461"), without
	// the ones being imported or migrated.
	Slots []string
}

// HasFlag reports whether the node carries flag ("master", "fail", ...).
func (n ClusterNode) HasFlag(flag string) bool { return slices.Contains(n.Flags, flag) }

// IsMaster reports whether the node is a master not known to have failed.
func (n ClusterNode) IsMaster() bool { return n.HasFlag("master") && !n.HasFlag("fail") }

// Serves reports whether slot is in one of the node's ranges.
func (n ClusterNode) Serves(slot int) bool {
	for _, r := range n.Slots {
		lo, hi, ok := strings.Cut(r, "-")
		if !ok {
			hi = lo
		}
		a, errA := strconv.Atoi(lo)
		b, errB := strconv.Atoi(hi)
		if errA == nil && errB == nil && a <= slot && slot <= b {
			return true
		}
	}
	return false
}

// ClusterNodes returns the cluster as the node at addr sees it.
func ClusterNodes(addr string) ([]ClusterNode, error) {
	text, err := Command(addr, "CLUSTER", "NODES")
	if err != nil {
		return nil, err
	}
	return ParseClusterNodes(text)
}

// ParseClusterNodes parses the answer of CLUSTER NODES: one node a line,
// "<id> <ip:port@cport[,hostname]> <flags> <master> <ping-sent> <pong-recv>
// <config-epoch> <link-state> <slot> <slot> ...".
func ParseClusterNodes(text string) ([]ClusterNode, error) {
	var nodes []ClusterNode
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 8 {
			return nil, fmt.Errorf("CLUSTER NODES line has %d fields, want at least 8: %q", len(f), line)
		}
		addr, _, _ := strings.Cut(f[1], "@")
		addr, _, _ = strings.Cut(addr, ",")
		n := ClusterNode{ID: f[0], Addr: addr, Flags: strings.Split(f[2], ","), Connected: f[7] == "connected"}
		if f[3] != "-" {
			n.MasterID = f[3]
		}
		for _, s := range f[8:] {
			if !strings.HasPrefix(s, "[") {
				n.Slots = append(n.Slots, s)
			}
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}
