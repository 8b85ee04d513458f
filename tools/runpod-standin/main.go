// Command runpod-standin serves the RunPod GraphQL stand-in on a loopback
// address with a demo fleet, for running the admin API without RunPod:
//
//	RUNPOD_API_KEY=dev-key runpod-standin -addr 127.0.0.1:8089 -pods 8 -prefix aiapi-dev
//
// then point the admin API at http://127.0.0.1:8089/graphql with that key.
//
// -fail OP=STATUS makes every call of the GraphQL operation OP (pod,
// podStop, podResume, podBidResume or myself) answer the HTTP status, so
// that a client's handling of a RunPod failure can be seen end to end; for
// example -fail podStop=500 makes every pod restart fail at its stop. The
// flag may be repeated.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/threatwinds/aiadmin/clients/runpod/standin"
)

// config is what the command is told on its command line and environment.
type config struct {
	addr   string
	apiKey string
	pods   int
	prefix string
	// fail maps an operation to the HTTP status every call of it answers.
	fail map[string]int
}

// faultOps are the operations -fail accepts.
var faultOps = []string{standin.OpMyself, standin.OpPod, standin.OpPodStop, standin.OpPodResume, standin.OpPodBidResume}

// parseFail reads one -fail OP=STATUS into fail.
func parseFail(fail map[string]int, v string) error {
	op, status, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("want OP=STATUS, got %q", v)
	}
	if !slices.Contains(faultOps, op) {
		return fmt.Errorf("unknown operation %q: use one of %s", op, strings.Join(faultOps, ", "))
	}
	n, err := strconv.Atoi(status)
	if err != nil || n < 400 || n > 599 {
		return fmt.Errorf("status %q: want an HTTP error status from 400 to 599", status)
	}
	fail[op] = n
	return nil
}

func main() {
	if err := run(); err != nil {
		log.SetFlags(0)
		log.Fatalf("runpod-standin: %v", err)
	}
}

func run() error {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:8089", "loopback `host:port` to serve on")
	flag.IntVar(&cfg.pods, "pods", 8, "number of fleet pods, besides two pods outside the fleet")
	flag.StringVar(&cfg.prefix, "prefix", "aiapi-dev", "name prefix of the fleet pods")
	cfg.fail = map[string]int{}
	flag.Func("fail", "`OP=STATUS`: every call of the operation OP answers the HTTP status (repeatable)", func(v string) error {
		return parseFail(cfg.fail, v)
	})
	flag.Parse()
	// The key comes from the environment so it stays out of process lists.
	cfg.apiKey = os.Getenv("RUNPOD_API_KEY")
	if err := cfg.validate(); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	srv := standin.NewServer(cfg.apiKey, standin.DemoPods(cfg.pods, cfg.prefix)...)
	for op, status := range cfg.fail {
		srv.FaultNext(op, -1, standin.Fault{Status: status})
		log.Printf("every %s call answers %d", op, status)
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	httpSrv := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		IdleTimeout:       time.Minute,
	}
	log.Printf("serving %d pods at http://%s/graphql", len(srv.Pods()), ln.Addr())

	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// validate refuses a missing key, a negative fleet and any address that is
// not loopback: the stand-in is a development tool, not a service.
func (c config) validate() error {
	if c.apiKey == "" {
		return errors.New("RUNPOD_API_KEY must be set: requests must carry it as a bearer token")
	}
	if c.pods < 0 {
		return errors.New("-pods must not be negative")
	}
	host, _, err := net.SplitHostPort(c.addr)
	if err != nil {
		return fmt.Errorf("-addr: %w", err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %s is not a loopback address", c.addr)
	}
	return nil
}
