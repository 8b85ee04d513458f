package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/threatwinds/aiadmin/tools/internal/loadrun"
	"github.com/threatwinds/aiadmin/tools/internal/rig"
)

// Targets, as ratios of aiadmin to its baseline in one run.
const (
	minThroughputRatio = 0.8 // Valkey-backed reads and pods: of the baseline's req/s
	maxP99Ratio        = 2.0 // Valkey-backed reads: of the baseline's p99
	maxPodListSpread   = 3.0 // the pod list: p99 over p50, across cache expiries
	minSummaryRatio    = 0.5 // the summary at the large fleet: of its req/s at the small one
)

// verdict judges one operation against its targets: what was checked and
// whether every check held.
func verdict(m measured) (string, bool) {
	a, b := m.aiadmin, m.other
	thr := ratio(a.Throughput(), b.Throughput())
	p99 := ratio(float64(a.Quantile(0.99)), float64(b.Quantile(0.99)))
	var checks []string
	ok := true
	check := func(held bool, format string, args ...any) {
		mark := "ok"
		if !held {
			mark, ok = "MISSED", false
		}
		checks = append(checks, fmt.Sprintf(format, args...)+" "+mark)
	}
	switch m.op.kind {
	case kindValkey:
		check(thr >= minThroughputRatio, "req/s %.2f≥%.1f", thr, minThroughputRatio)
		check(p99 <= maxP99Ratio, "p99 %.2f≤%.0f", p99, maxP99Ratio)
	case kindPods:
		check(thr >= minThroughputRatio, "req/s %.2f≥%.1f", thr, minThroughputRatio)
		if strings.HasPrefix(m.op.name, "GET /pods?") {
			spread := ratio(float64(a.Quantile(0.99)), float64(a.Quantile(0.5)))
			check(spread <= maxPodListSpread, "p99/p50 %.2f≤%.0f", spread, maxPodListSpread)
		}
	case kindSummary:
		check(thr >= minSummaryRatio, "req/s %.2f≥%.1f", thr, minSummaryRatio)
		check(p99 <= maxP99Ratio, "p99 %.2f≤%.0f", p99, maxP99Ratio)
	}
	return strings.Join(checks, ", "), ok
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// baselineName says what an operation's other side is.
func baselineName(kind string) string {
	switch kind {
	case kindPods:
		return "baseline (pods in memory)"
	case kindSummary:
		return "aiadmin, small fleet"
	}
	return "baseline"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// rows are the table's lines: per operation, aiadmin's row with the
// verdict, then its baseline's.
func rows(rep runReport) (lines [][]string, missed int) {
	for _, m := range rep.results {
		v, ok := verdict(m)
		if !ok {
			missed++
		}
		for i, r := range []loadrun.Result{m.aiadmin, m.other} {
			name, side, ratios := m.op.name, "aiadmin", fmt.Sprintf("%.2f× req/s, %.2f× p99",
				ratio(m.aiadmin.Throughput(), m.other.Throughput()), ratio(float64(m.aiadmin.Quantile(0.99)), float64(m.other.Quantile(0.99))))
			if i == 1 {
				name, side, ratios, v = "", baselineName(m.op.kind), "", ""
			}
			lines = append(lines, []string{name, side, fmt.Sprintf("%.0f", r.Throughput()), ms(r.Quantile(0.5)), ms(r.Quantile(0.99)),
				ms(r.Quantile(0.999)), fmt.Sprint(r.Failed()), ratios, v})
		}
	}
	return lines, missed
}

var header = []string{"operation", "side", "req/s", "p50", "p99", "p99.9", "non-2xx", "aiadmin / baseline", "targets"}

// writeReport prints the table and returns how many operations missed a
// target.
func writeReport(out io.Writer, cfg config, rep runReport, loadBefore, loadAfter string) int {
	lines, missed := rows(rep)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, l := range lines {
		fmt.Fprintln(tw, strings.Join(l, "\t"))
	}
	_ = tw.Flush()
	fmt.Fprintf(out, "# %d workers, %d rounds of %s per side; load average before %s, after %s; %d operations missed a target\n",
		cfg.workers, cfg.rounds, cfg.slice, loadBefore, loadAfter, missed)
	return missed
}

// writeMarkdown writes the table with the command and the machine.
func writeMarkdown(cfg config, rep runReport, loadBefore, loadAfter string) error {
	var b bytes.Buffer
	lines, missed := rows(rep)
	fmt.Fprintf(&b, "Run %s with:\n\n```\n%s\n```\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"), commandLine(cfg.args))
	fmt.Fprintf(&b, "Machine: %s; %d CPUs; %s; Go %s; %s. Load average (1, 5, 15 min) before the run %s, after it %s.\n\n",
		cpuModel(), runtime.NumCPU(), runtime.GOOS+"/"+runtime.GOARCH, strings.TrimPrefix(runtime.Version(), "go"), serverVersion(), loadBefore, loadAfter)
	fmt.Fprintf(&b, "Closed loop: %d workers; each operation ran %d slices of %s on each side, interleaved (A B, B A, ...), after %s of unmeasured warm-up. Every request carried an admin bearer token. %d of %d operations missed a target.\n\n",
		cfg.workers, cfg.rounds, cfg.slice, cfg.warmup, missed, len(rep.results))
	fmt.Fprintf(&b, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat("---|", len(header)))
	for _, l := range lines {
		fmt.Fprintf(&b, "| %s |\n", strings.Join(l, " | "))
	}
	old, err := os.ReadFile(cfg.markdown)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.WriteFile(cfg.markdown, spliceRun(old, b.Bytes()), 0o644)
}

// The generated part of a markdown file lies between these lines; what is
// around them is written by hand and kept.
const (
	runBegin = "<!-- loadtest: the run below is written by make bench-http -->"
	runEnd   = "<!-- loadtest: end of the run -->"
)

// spliceRun puts run between the markers of doc, or makes a document of
// the run alone when doc has no markers.
func spliceRun(doc, run []byte) []byte {
	block := append(append([]byte(runBegin+"\n"), run...), []byte(runEnd+"\n")...)
	i, j := bytes.Index(doc, []byte(runBegin)), bytes.Index(doc, []byte(runEnd))
	if i < 0 || j < i {
		return block
	}
	rest := doc[j+len(runEnd):]
	rest = bytes.TrimPrefix(rest, []byte("\n"))
	return append(append(append([]byte{}, doc[:i]...), block...), rest...)
}

// commandLine is how a run with args was started.
func commandLine(args []string) string {
	return strings.Join(append([]string{"loadtest"}, args...), " ")
}

// loadAverage is the machine's 1, 5 and 15 minute load average.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// cpuModel is the processor's name.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// serverVersion is the store server's version line.
func serverVersion() string {
	bin, err := rig.ServerBinary()
	if err != nil {
		return "no store server"
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return bin
	}
	f := strings.Fields(string(out))
	if len(f) >= 3 {
		return f[0] + " " + strings.TrimPrefix(f[2], "v=")
	}
	return strings.TrimSpace(string(out))
}
