package fleet_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/clients/clocktest"
	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/embedded"
	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
	"github.com/valkey-io/valkey-go"
)

// backend is one kind of server the store's suite runs against.
type backend struct {
	name   string
	opts   fleet.ConnectOptions
	client valkey.Client
}

// startBackends starts a standalone redis-server, a three-master cluster and
// the embedded store, and connects to each.
func startBackends(t *testing.T) []backend {
	t.Helper()
	emb, err := embedded.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Close)
	bs := []backend{
		{name: "standalone", opts: fleet.ConnectOptions{Addrs: []string{valkeytest.StartServer(t).Addr()}}},
		{name: "cluster", opts: fleet.ConnectOptions{Addrs: valkeytest.StartCluster(t)}},
		{name: "embedded", opts: fleet.ConnectOptions{Addrs: []string{emb.Addr()}, Embedded: true}},
	}
	for i := range bs {
		bs[i].client = connect(t, bs[i].opts)
	}
	return bs
}

func connect(t testing.TB, o fleet.ConnectOptions) valkey.Client {
	t.Helper()
	c, err := fleet.Connect(testContext(t), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// testContext returns a context that ends with the test or after a minute.
func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// flush empties every node behind c.
func flush(t testing.TB, c valkey.Client) {
	t.Helper()
	for addr, n := range c.Nodes() {
		if err := n.Do(testContext(t), n.B().Flushall().Build()).Error(); err != nil {
			t.Fatalf("flushing %s: %v", addr, err)
		}
	}
}

// suite is one named behaviour run on a backend.
type suite struct {
	name string
	run  func(t *testing.T, b backend)
}

// runOnBackends runs every suite on every backend (a standalone server, a
// cluster and the embedded store), each on an emptied store.
func runOnBackends(t *testing.T, suites []suite) {
	for _, b := range startBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			for _, s := range suites {
				t.Run(s.name, func(t *testing.T) {
					flush(t, b.client)
					s.run(t, b)
				})
			}
		})
	}
}

// TestStore runs the store's behaviour on every backend, starting each once.
func TestStore(t *testing.T) {
	runOnBackends(t, []suite{
		{"RegistryPage", testRegistryPage},
		{"RegistryPageValidation", testRegistryPageValidation},
		{"RegisterDeregister", testRegisterDeregister},
		{"RegistryValidation", testRegistryValidation},
		{"PinLookupCounters", testPinLookupCounters},
		{"RouteOutcomes", testRouteOutcomes},
		{"RouteValidation", testRouteValidation},
		{"UserSessions", testUserSessions},
		{"Drains", testDrains},
		{"DrainValidation", testDrainValidation},
		{"RouterWatchesDrains", testRouterWatchesDrains},
		{"ServerKnown", testServerKnown},
		{"AffinityClockExpiry", testAffinityClockExpiry},
		{"ClearAffinity", testClearAffinity},
		{"AffinityValidation", testAffinityValidation},
		{"DemandStartFinish", testDemandStartFinish},
		{"LeaseExpiryClock", testLeaseExpiryClock},
		{"WindowSlides", testWindowSlides},
		{"DemandUnknownURL", testDemandUnknownURL},
		{"DemandMany", testDemandMany},
		{"DemandOneRoundTrip", testDemandOneRoundTrip},
		{"DemandValidation", testDemandValidation},
		{"FleetDemand", testFleetDemand},
		{"Health", testHealth},
		{"PublishRefresh", testPublishRefresh},
		{"BracesInIDs", testBracesInIDs},
		{"RealExpiry", testRealExpiry},
	})
}

// t0 is aligned to a demand bucket, so tests can reason about the window.
var t0 = time.UnixMilli(1_700_000_000_000)

// newFakeClock is a manual clock showing t0.
func newFakeClock() *clocktest.Clock { return clocktest.New(t0) }

// writeLog records what a client writes. A pipeline is written in one write
// and then answered, so the writes that carry an operation's commands count
// its round trips; writes that carry none of them (a new connection's
// handshake, a topology refresh) are the client's own business.
type writeLog struct {
	mu     sync.Mutex
	writes [][]byte
}

// Reset forgets every write so far.
func (l *writeLog) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes = nil
}

// Count returns how many writes since Reset carried marker.
func (l *writeLog) Count(marker string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, w := range l.writes {
		if bytes.Contains(w, []byte(marker)) {
			n++
		}
	}
	return n
}

type loggingConn struct {
	net.Conn
	log *writeLog
}

func (c loggingConn) Write(p []byte) (int, error) {
	c.log.mu.Lock()
	c.log.writes = append(c.log.writes, bytes.Clone(p))
	c.log.mu.Unlock()
	return c.Conn.Write(p)
}

// loggingClient connects like Connect does, but logs its writes.
func loggingClient(t testing.TB, o fleet.ConnectOptions) (valkey.Client, *writeLog) {
	t.Helper()
	return loggingClientWith(t, o, nil)
}

// loggingClientWith is loggingClient with tune, when set, changing the
// client's options first.
func loggingClientWith(t testing.TB, o fleet.ConnectOptions, tune func(*valkey.ClientOption)) (valkey.Client, *writeLog) {
	t.Helper()
	log := &writeLog{}
	opt := o.ClientOption()
	if tune != nil {
		tune(&opt)
	}
	opt.DialCtxFn = func(ctx context.Context, addr string, d *net.Dialer, _ *tls.Config) (net.Conn, error) {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		return loggingConn{Conn: conn, log: log}, nil
	}
	c, err := valkey.NewClient(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, log
}

// exists reports whether key exists, asking the node that holds it.
func exists(t testing.TB, c valkey.Client, key string) bool {
	t.Helper()
	n, err := c.Do(testContext(t), c.B().Exists().Key(key).Build()).AsInt64()
	if err != nil {
		t.Fatalf("EXISTS %s: %v", key, err)
	}
	return n == 1
}
