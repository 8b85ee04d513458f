package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/threatwinds/aiadmin/tools/internal/load"
)

// timeoutSlack is what an answer bounded by a configured timeout may take
// beyond it: the work around the bounded call (routing, validation, the
// other reads of the request, writing the answer) on a loaded 2-core
// machine. Every bound that uses it prints it.
const timeoutSlack = 250 * time.Millisecond

// report is one scenario's figures and checks.
type report struct {
	name   string
	title  string
	lines  []string
	checks []check
}

// check is one bound: met or missed.
type check struct {
	ok   bool
	text string
}

func newReport(name, title string) *report { return &report{name: name, title: title} }

// figure records a line of figures.
func (r *report) figure(format string, a ...any) {
	r.lines = append(r.lines, fmt.Sprintf(format, a...))
}

// expect records a check; text says what was expected and what was seen.
func (r *report) expect(ok bool, format string, a ...any) bool {
	r.checks = append(r.checks, check{ok: ok, text: fmt.Sprintf(format, a...)})
	return ok
}

// fail records a missed check, for a scenario that could not go on.
func (r *report) fail(err error) { r.expect(false, "%v", err) }

// failed reports whether any check was missed.
func (r *report) failed() bool {
	for _, c := range r.checks {
		if !c.ok {
			return true
		}
	}
	return false
}

// missed counts the missed checks.
func (r *report) missed() int {
	n := 0
	for _, c := range r.checks {
		if !c.ok {
			n++
		}
	}
	return n
}

// answers records the counts of each answer of rs and its slowest one.
func (r *report) answers(label string, rs load.Results) {
	line := fmt.Sprintf("%s: %d answers: %s", label, len(rs), load.FormatCounts(rs.Counts()))
	if s, ok := rs.Slowest(); ok {
		line += fmt.Sprintf("; slowest %s (%s)", s.Latency.Round(time.Millisecond), s)
	}
	r.figure("%s", line)
}

// print writes the report.
func (r *report) print(w io.Writer) {
	verdict := "PASS"
	if r.failed() {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "\n== %s: %s [%s]\n", r.name, r.title, verdict)
	for _, l := range r.lines {
		fmt.Fprintf(w, "   %s\n", l)
	}
	for _, c := range r.checks {
		mark := "ok  "
		if !c.ok {
			mark = "MISS"
		}
		fmt.Fprintf(w, "   %s %s\n", mark, c.text)
	}
}

// onlyAnswers checks that every result in rs has one of the keys allowed
// (load.Result.Key: "200", "503 valkey unavailable"...), naming the first
// that has not.
func (r *report) onlyAnswers(what string, rs load.Results, allowed ...string) {
	var bad []load.Result
	for _, res := range rs {
		if !keyIn(res.Key(), allowed) {
			bad = append(bad, res)
		}
	}
	if len(bad) == 0 {
		r.expect(true, "%s: only %s (%d answers)", what, strings.Join(allowed, ", "), len(rs))
		return
	}
	r.expect(false, "%s: only %s expected, but %d answers were not, the first %s", what,
		strings.Join(allowed, ", "), len(bad), bad[0])
}

func keyIn(key string, allowed []string) bool {
	for _, a := range allowed {
		if key == a {
			return true
		}
	}
	return false
}

// within checks that every result in rs took at most bound.
func (r *report) within(what string, rs load.Results, bound time.Duration, boundText string) {
	s, ok := rs.Slowest()
	switch {
	case !ok:
		r.expect(false, "%s within %s: no such answer was seen", what, boundText)
	default:
		r.expect(s.Latency <= bound, "%s within %s: %d answers, slowest %s", what, boundText, len(rs), s.Latency.Round(time.Millisecond))
	}
}

// isKey selects results by their key.
func isKey(keys ...string) func(load.Result) bool {
	return func(r load.Result) bool { return keyIn(r.Key(), keys) }
}

// isOp selects results by their operation.
func isOp(ops ...string) func(load.Result) bool {
	return func(r load.Result) bool { return keyIn(r.Op, ops) }
}

// ms renders a duration in milliseconds, for figures.
func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }
