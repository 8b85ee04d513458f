// Command faults runs aiadmin under steady load on loopback and injects the
// faults an operator meets: Valkey killed and restarted, a cluster master
// killed, RunPod slow, throttling, failing and unreachable, the Auth API
// down, SIGTERM, and a thousand connections at once. Every answer is
// recorded; each scenario prints the count of each answer, the slowest one
// and the recovery time, checks the bounds the service promises, and the
// command exits 1 when one was missed.
//
//	go run ./tools/faults          the full run (make faults)
//	go run ./tools/faults -short   shorter phases, for CI (make faults-short)
//
// Everything runs on loopback: aiadmin as a subprocess (built with go build
// unless -aiadmin names a binary), real redis-server or valkey-server
// processes, and the RunPod and Auth API stand-ins in this process. Every
// process it starts is stopped when it ends, also on an interrupt.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// config is the command line.
type config struct {
	short   bool
	aiadmin string
	// moduleRoot is where go build runs when no binary is given.
	moduleRoot string
	only       []string
	workers    int
	pause      time.Duration
	conns      int
	connsFor   time.Duration
	maxRSS     int64
}

// pick returns full, or short with -short.
func (c config) pick(full, short time.Duration) time.Duration {
	if c.short {
		return short
	}
	return full
}

// scenario is one fault and what the service must do under it.
type scenario struct {
	name string
	run  func(ctx context.Context, e *env) *report
}

var scenarios = []scenario{
	{"valkey", runValkey},
	{"cluster", runCluster},
	{"runpod", runRunPod},
	{"auth", runAuth},
	{"sigterm", runShutdown},
	{"connections", runConnections},
}

func main() { os.Exit(run()) }

func run() int {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	began := time.Now()
	e, err := newEnv(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 1
	}
	defer e.Close()
	mode := "full"
	if cfg.short {
		mode = "short"
	}
	fmt.Printf("faults (%s run): aiadmin %s; steady load of %d workers, each pausing %s between requests; timeouts allowed %s beyond their setting for the work around the call\n",
		mode, e.bin, cfg.workers, cfg.pause, timeoutSlack)

	var reports []*report
	for _, s := range scenarios {
		if len(cfg.only) > 0 && !slices.Contains(cfg.only, s.name) {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		t := time.Now()
		rep := s.run(ctx, e)
		rep.figure("took %s", time.Since(t).Round(100*time.Millisecond))
		rep.print(os.Stdout)
		reports = append(reports, rep)
	}

	fmt.Printf("\n== summary (%s)\n", time.Since(began).Round(time.Second))
	failed := 0
	for _, r := range reports {
		verdict := "PASS"
		if r.failed() {
			verdict = fmt.Sprintf("FAIL (%d bounds missed)", r.missed())
			failed++
		}
		fmt.Printf("   %-12s %s\n", r.name, verdict)
	}
	switch {
	case ctx.Err() != nil:
		fmt.Println("interrupted")
		return 130
	case failed > 0:
		return 1
	}
	return 0
}

func parseFlags(args []string) (config, error) {
	var c config
	var only string
	var maxRSSMiB int64
	fs := flag.NewFlagSet("faults", flag.ContinueOnError)
	fs.BoolVar(&c.short, "short", false, "shorter phases and a shorter connection storm, for CI")
	fs.StringVar(&c.aiadmin, "aiadmin", "", "aiadmin `binary` to run; empty builds one with go build")
	fs.StringVar(&only, "run", "", "comma-separated `scenarios` to run (valkey, cluster, runpod, auth, sigterm, connections); empty runs all")
	fs.IntVar(&c.workers, "workers", 8, "concurrent requests of the steady load")
	fs.DurationVar(&c.pause, "pause", 5*time.Millisecond, "how long each worker of the steady load waits between an answer and its next request")
	fs.IntVar(&c.conns, "conns", 1000, "concurrent connections of the connections scenario")
	fs.DurationVar(&c.connsFor, "conns-for", 0, "how long the connections scenario lasts (default 30s, 8s with -short)")
	fs.Int64Var(&maxRSSMiB, "max-rss", 256, "resident memory bound of aiadmin under the connections scenario, in `MiB`")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, name := range strings.Split(only, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		if !slices.ContainsFunc(scenarios, func(s scenario) bool { return s.name == name }) {
			return c, fmt.Errorf("-run: unknown scenario %q", name)
		}
		c.only = append(c.only, name)
	}
	if c.workers < 1 || c.conns < 1 || maxRSSMiB < 1 || c.connsFor < 0 || c.pause < 0 {
		return c, errors.New("-workers, -conns and -max-rss must be positive, -conns-for and -pause not negative")
	}
	if c.connsFor == 0 {
		c.connsFor = c.pick(30*time.Second, 8*time.Second)
	}
	c.maxRSS = maxRSSMiB << 20
	if c.aiadmin == "" {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		mod := strings.TrimSpace(string(out))
		if err != nil || mod == "" || mod == os.DevNull {
			return c, errors.New("run inside the aiadmin module (go build needs it), or give -aiadmin")
		}
		c.moduleRoot = filepath.Dir(mod)
	}
	return c, nil
}
