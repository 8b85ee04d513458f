// Command loadtest measures aiadmin under closed-loop load against the
// physical limit of each operation. It starts a redis-server, writes a
// realistic fleet into it, serves the RunPod stand-in, starts aiadmin (the
// binary make build writes) and a baseline, and sends each read operation
// to both, interleaved, with a fixed number of workers:
//
//	loadtest -aiadmin bin/aiadmin            # the long form, for BENCHMARKS.md
//	loadtest -aiadmin bin/aiadmin -short     # a few seconds per operation
//
// The baseline of a Valkey-backed read is a bare echo handler issuing the
// same Valkey commands and writing the same bytes; of the pod list and a pod
// detail, the same with RunPod's pods held in memory; of the fleet summary,
// aiadmin itself over a fleet of 50 pods. It prints, per operation,
// throughput and p50/p99/p99.9 of both sides, their ratios and the verdict
// on each target, and exits non-zero when a request failed or, with
// -strict, when a target was missed. Every process it starts it stops, and
// it only ever talks to loopback.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// config is the command line of a load run.
type config struct {
	aiadmin      string
	workers      int
	slice        time.Duration
	rounds       int
	warmup       time.Duration
	markdown     string
	strict       bool
	pods         int
	summaryPods  int
	servers      int
	modelURLs    int
	users        int
	auditEntries int
	only         string
	aiadminArgs  []string
	// args is the command line, for the record of a run.
	args []string
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("loadtest: ")
	if len(os.Args) > 1 && os.Args[1] == "baseline" {
		if err := baselineMain(os.Args[2:]); err != nil {
			log.Fatal(err)
		}
		return
	}
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	report, err := run(ctx, cfg, os.Stdout)
	if err != nil {
		log.Fatal(err)
	}
	if report.failed > 0 {
		log.Fatalf("%d requests got no 2xx answer", report.failed)
	}
	if cfg.strict && report.missed > 0 {
		log.Fatalf("%d targets missed", report.missed)
	}
}

// parseFlags reads a load run's command line.
func parseFlags(args []string) (config, error) {
	cfg := config{args: args}
	var short bool
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.StringVar(&cfg.aiadmin, "aiadmin", "bin/aiadmin", "the aiadmin `binary` to measure")
	fs.IntVar(&cfg.workers, "workers", 32, "requests in flight at once (closed loop)")
	fs.DurationVar(&cfg.slice, "slice", 4*time.Second, "how long each side runs at a time")
	fs.IntVar(&cfg.rounds, "rounds", 5, "slices of each side per operation, interleaved")
	fs.DurationVar(&cfg.warmup, "warmup", time.Second, "unmeasured load on each side before an operation")
	fs.BoolVar(&short, "short", false, "a few seconds per operation: -slice 1s -rounds 2 -warmup 300ms")
	fs.StringVar(&cfg.markdown, "markdown", "", "also write the table, the command and the machine to this `file`")
	fs.BoolVar(&cfg.strict, "strict", false, "exit non-zero when a target is missed")
	fs.IntVar(&cfg.pods, "pods", 5000, "pods in the RunPod stand-in")
	fs.IntVar(&cfg.summaryPods, "summary-pods", 50, "pods of the smaller fleet the summary is compared with")
	fs.IntVar(&cfg.servers, "servers", 2000, "registered servers (the first pods' backend URLs)")
	fs.IntVar(&cfg.modelURLs, "model-urls", 100000, "URLs in the registry of the large model")
	fs.IntVar(&cfg.users, "users", 100000, "users with pinned sessions")
	fs.IntVar(&cfg.auditEntries, "audit", 1000, "entries in the audit trail")
	fs.StringVar(&cfg.only, "only", "", "run only the operations whose name contains this")
	fs.Func("aiadmin-flag", "a further flag for the measured aiadmin replica (the large fleet), such as --debug-listen=127.0.0.1:6060 to profile it (repeatable)", func(v string) error {
		cfg.aiadminArgs = append(cfg.aiadminArgs, v)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if short {
		cfg.slice, cfg.rounds, cfg.warmup = time.Second, 2, 300*time.Millisecond
	}
	switch {
	case cfg.workers < 1, cfg.rounds < 1, cfg.slice <= 0:
		return config{}, fmt.Errorf("-workers, -rounds and -slice must be positive")
	case cfg.servers > cfg.pods:
		return config{}, fmt.Errorf("-servers (%d) must not exceed -pods (%d): servers are the pods' backend URLs", cfg.servers, cfg.pods)
	case cfg.servers < 1, cfg.summaryPods < 1:
		return config{}, fmt.Errorf("-servers and -summary-pods must be positive")
	}
	return cfg, nil
}

// baselineMain runs the baseline process the load run starts.
func baselineMain(args []string) error {
	var cfg baselineConfig
	fs := flag.NewFlagSet("loadtest baseline", flag.ContinueOnError)
	fs.StringVar(&cfg.listen, "listen", "", "loopback `host:port` to serve on")
	fs.StringVar(&cfg.valkey, "valkey", "", "the store's `host:port`")
	fs.StringVar(&cfg.runpodURL, "runpod-url", "", "the RunPod stand-in, read once at start")
	fs.StringVar(&cfg.podPrefix, "pod-prefix", "", "name prefix of the fleet's pods")
	fs.StringVar(&cfg.podURLTemplate, "pod-url-template", "", "a pod's backend URL, {id} for its id")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return runBaseline(cfg)
}
