package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/threatwinds/aiadmin/tools/internal/load"
)

func TestParseVmRSS(t *testing.T) {
	status := "Name:\taiadmin\nVmPeak:\t  812345 kB\nVmRSS:\t   38312 kB\nThreads:\t7\n"
	got, err := parseVmRSS(status)
	if err != nil || got != 38312*1024 {
		t.Errorf("parseVmRSS = %d, %v; want %d", got, err, 38312*1024)
	}
	for _, bad := range []string{"Name:\tx\n", "VmRSS:\t12 MB\n", "VmRSS:\tlots kB\n"} {
		if _, err := parseVmRSS(bad); err == nil {
			t.Errorf("parseVmRSS(%q) gave no error", bad)
		}
	}
}

// TestCountClients counts what CLIENT LIST shows of redis-server 7.0: the
// sampling connection and replication links are not clients of the store.
func TestCountClients(t *testing.T) {
	list := strings.Join([]string{
		"id=3 addr=127.0.0.1:40000 laddr=127.0.0.1:6379 fd=8 name= age=9 idle=0 flags=N db=0 cmd=evalsha user=default resp=3",
		"id=4 addr=127.0.0.1:40002 laddr=127.0.0.1:6379 fd=9 name= age=9 idle=0 flags=P db=0 sub=1 cmd=subscribe user=default resp=3",
		"id=5 addr=127.0.0.1:40004 laddr=127.0.0.1:6379 fd=10 name= age=9 idle=1 flags=S db=0 cmd=replconf user=default resp=2",
		"id=6 addr=127.0.0.1:40006 laddr=127.0.0.1:6379 fd=11 name= age=9 idle=1 flags=M db=0 cmd=ping user=default resp=2",
		"id=7 addr=127.0.0.1:40008 laddr=127.0.0.1:6379 fd=12 name= age=0 idle=0 flags=N db=0 cmd=client|list user=default resp=2",
		"",
	}, "\n")
	if got := countClients(list); got != 2 {
		t.Errorf("countClients = %d, want 2 (a command connection and a subscriber)", got)
	}
}

func TestParseHelpFlags(t *testing.T) {
	help := `Serving:
  --listen=HOST:PORT             address to serve on (default 127.0.0.1:8080) [$AIADMIN_LISTEN]
  --demo                         with the embedded store (default true)
  -h, --help       Show context-sensitive help.
  --rate-limit=INT  reads per minute`
	flags := parseHelpFlags(help)
	for _, want := range []string{"listen", "demo", "help", "rate-limit"} {
		if !flags[want] {
			t.Errorf("flag %s not found in %v", want, flags)
		}
	}
	if flags["pod-cache-max-stale"] || flags[""] {
		t.Errorf("flags found that the help does not name: %v", flags)
	}
}

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"-short", "-aiadmin", "/bin/true", "-run", "valkey, auth"})
	if err != nil {
		t.Fatal(err)
	}
	if !c.short || c.connsFor != 8*time.Second || c.maxRSS != 256<<20 || strings.Join(c.only, ",") != "valkey,auth" {
		t.Errorf("parsed %+v", c)
	}
	if c.pick(time.Minute, time.Second) != time.Second {
		t.Error("pick ignores -short")
	}
	for _, bad := range [][]string{{"-run", "nosuch"}, {"-workers", "0"}, {"extra"}} {
		if _, err := parseFlags(append([]string{"-aiadmin", "/bin/true"}, bad...)); err == nil {
			t.Errorf("parseFlags(%q) gave no error", bad)
		}
	}
}

func result(op string, status int, errMsg string, latency time.Duration) load.Result {
	return load.Result{Op: op, Status: status, Error: errMsg, Latency: latency, Start: time.Now()}
}

// TestReportFailsOnAMissedBound checks the checks: an answer outside those
// allowed, an answer over its bound, or no answer at all where one was
// expected each fail the report, and the report says so.
func TestReportFailsOnAMissedBound(t *testing.T) {
	rs := load.Results{
		result(opAffinity, 200, "", 10*time.Millisecond),
		result(opAffinity, 503, "valkey unavailable", 300*time.Millisecond),
	}
	for _, tc := range []struct {
		name  string
		check func(r *report)
		ok    bool
	}{
		{"allowed answers", func(r *report) { r.onlyAnswers("x", rs, "200", storeDown) }, true},
		{"an answer not allowed", func(r *report) { r.onlyAnswers("x", rs, "200") }, false},
		{"within the bound", func(r *report) { r.within("x", rs, 300*time.Millisecond, "300ms") }, true},
		{"over the bound", func(r *report) { r.within("x", rs, 299*time.Millisecond, "299ms") }, false},
		{"nothing to bound", func(r *report) { r.within("x", nil, time.Second, "1s") }, false},
		{"a failed step", func(r *report) { r.fail(errors.New("could not start")) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReport("s", "a scenario")
			r.expect(true, "a bound met")
			tc.check(r)
			if r.failed() == tc.ok {
				t.Errorf("failed() = %v, want %v", r.failed(), !tc.ok)
			}
			var out bytes.Buffer
			r.print(&out)
			verdict, mark := "[PASS]", "MISS"
			if !tc.ok {
				verdict = "[FAIL]"
			}
			if !strings.Contains(out.String(), verdict) || strings.Contains(out.String(), mark) == tc.ok {
				t.Errorf("printed:\n%s", out.String())
			}
		})
	}
}

func TestConnsAllowed(t *testing.T) {
	for _, tc := range []struct {
		l    levels
		want int
	}{
		{levels{conns: 2, perNode: []int{2}}, 2},
		{levels{conns: 0, perNode: []int{0}}, 0},
		{levels{conns: 4, perNode: []int{1, 1, 1, 0, 0, 1}}, 6},
		{levels{conns: 6, perNode: []int{1, 1, 2, 1, 0, 1}}, 7},
	} {
		if got := tc.l.connsAllowed(); got != tc.want {
			t.Errorf("%v: connsAllowed() = %d, want %d", tc.l.perNode, got, tc.want)
		}
	}
	if got := (levels{conns: 4, perNode: []int{1, 1, 1, 0, 0, 1}}).connsText(); got != "4 (1+1+1+0+0+1)" {
		t.Errorf("connsText = %q", got)
	}
}
