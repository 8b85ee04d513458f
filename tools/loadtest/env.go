package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/runpod/standin"
	"github.com/threatwinds/aiadmin/tools/internal/rig"
)

// podPrefix names the stand-in's fleet pods.
const podPrefix = "aiapi-dev-"

// bigModel is the model whose registry holds -model-urls URLs.
const bigModel = "bench-big-model"

// env is everything a load run starts; close stops it all, last started
// first.
type env struct {
	dir     string
	redis   *rig.Redis
	creds   rig.Credentials
	fleet   []standin.Pod
	seeded  rig.Seeded
	demand  []string
	infer   *rig.Inference
	aiadmin *rig.Process
	small   *rig.Process
	base    *rig.Process
	// modelURLs is how many URLs the large model's registry holds.
	modelURLs int
	closers   []func()
}

func (e *env) close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	e.closers = nil
}

// logFile opens a log of the run's directory; processes write to it
// directly, with no copying in this process.
func (e *env) logFile(name string) (*os.File, error) {
	f, err := os.Create(filepath.Join(e.dir, name))
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, func() { _ = f.Close() })
	return f, nil
}

// startEnv starts redis-server, seeds the fleet, serves two RunPod stand-ins
// (the fleet and a small one) and the inference stand-in, and starts aiadmin
// over each and the baseline. progress receives a line per step.
func startEnv(ctx context.Context, cfg config, progress io.Writer) (_ *env, err error) {
	e := &env{modelURLs: cfg.modelURLs}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if e.dir, err = os.MkdirTemp("", "loadtest-"); err != nil {
		return nil, err
	}
	e.closers = append(e.closers, func() { _ = os.RemoveAll(e.dir) })
	if e.creds, err = rig.WriteCredentials(e.dir, "usr_loadtest"); err != nil {
		return nil, err
	}
	step := func(format string, a ...any) { fmt.Fprintf(progress, "# "+format+"\n", a...) }

	if e.redis, err = rig.StartRedis("--maxclients", "10000"); err != nil {
		return nil, err
	}
	e.closers = append(e.closers, e.redis.Close)
	if e.infer, err = rig.StartInference(); err != nil {
		return nil, err
	}
	e.closers = append(e.closers, e.infer.Close)

	runpodKey := "rpa_loadtest_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	big := standin.NewServer(runpodKey, standin.DemoPods(cfg.pods, podPrefix)...)
	small := standin.NewServer(runpodKey, standin.DemoPods(cfg.summaryPods, podPrefix)...)
	bigURL, err := serveRunPod(e, big)
	if err != nil {
		return nil, err
	}
	smallURL, err := serveRunPod(e, small)
	if err != nil {
		return nil, err
	}
	for _, p := range big.Pods() {
		if len(p.Name) >= len(podPrefix) && p.Name[:len(podPrefix)] == podPrefix {
			e.fleet = append(e.fleet, p)
		}
	}

	start := time.Now()
	client, err := fleet.Connect(ctx, fleet.ConnectOptions{Addrs: []string{e.redis.Addr()}})
	if err != nil {
		return nil, err
	}
	defer client.Close()
	urls := make([]string, cfg.servers)
	for i := range urls {
		urls[i] = e.infer.URL(e.fleet[i].ID)
	}
	e.demand = urls[:min(len(urls), 500)]
	spec := rig.FleetSpec{ServerURLs: urls, BigModel: bigModel, BigModelURLs: cfg.modelURLs, Users: cfg.users,
		DemandURLs: e.demand, Drained: min(20, cfg.servers/10), AuditEntries: cfg.auditEntries}
	if e.seeded, err = rig.Seed(ctx, client, fleet.New(client, fleet.Options{}), spec); err != nil {
		return nil, err
	}
	step("seeded %d servers, %d URLs of %s, %d users with pins, demand on %d URLs, %d audit entries in %s",
		cfg.servers, cfg.modelURLs, bigModel, cfg.users, len(e.demand), cfg.auditEntries, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	aiadminLog, err := e.logFile("aiadmin.log")
	if err != nil {
		return nil, err
	}
	opts := rig.AiadminOptions{Binary: cfg.aiadmin, Valkey: e.redis.Addr(), RunPodURL: bigURL, RunPodKey: runpodKey,
		PodPrefix: podPrefix, PodURLTemplate: e.infer.URLTemplate(), CredentialsFile: e.creds.File, Output: aiadminLog,
		Args: cfg.aiadminArgs}
	if e.aiadmin, err = rig.StartAiadmin(ctx, opts); err != nil {
		return nil, fmt.Errorf("%w; its log ends:\n%s", err, logTail(aiadminLog))
	}
	e.closers = append(e.closers, func() { _ = e.aiadmin.Stop(20 * time.Second) })
	smallLog, err := e.logFile("aiadmin-small.log")
	if err != nil {
		return nil, err
	}
	// The small replica takes no further flags: a debug listener's address
	// is for one replica only.
	opts.RunPodURL, opts.Output, opts.Args = smallURL, smallLog, nil
	if e.small, err = rig.StartAiadmin(ctx, opts); err != nil {
		return nil, fmt.Errorf("%w; its log ends:\n%s", err, logTail(smallLog))
	}
	e.closers = append(e.closers, func() { _ = e.small.Stop(20 * time.Second) })

	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	port, err := rig.FreePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	baseLog, err := e.logFile("baseline.log")
	if err != nil {
		return nil, err
	}
	if e.base, err = rig.StartProcess(ctx, rig.ProcessOptions{
		Binary: self, Addr: addr, Ready: "/readyz", Output: baseLog,
		Args: []string{"baseline", "-listen", addr, "-valkey", e.redis.Addr(), "-runpod-url", bigURL,
			"-pod-prefix", podPrefix, "-pod-url-template", e.infer.URLTemplate()},
		Env: []string{"AIADMIN_RUNPOD_API_KEY=" + runpodKey},
	}); err != nil {
		return nil, fmt.Errorf("%w; its log ends:\n%s", err, logTail(baseLog))
	}
	e.closers = append(e.closers, func() { _ = e.base.Stop(10 * time.Second) })
	step("started aiadmin (%d pods), aiadmin (%d pods) and the baseline in %s", cfg.pods, cfg.summaryPods, time.Since(start).Round(time.Millisecond))
	return e, nil
}

// logTail is the end of a process's log, for an error message: the run's
// directory is removed when it stops.
func logTail(f *os.File) string {
	b, err := os.ReadFile(f.Name())
	if err != nil {
		return err.Error()
	}
	const max = 2000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}
