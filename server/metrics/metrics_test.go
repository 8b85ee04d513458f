package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/threatwinds/aiadmin/clients/clocktest"
	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
	"github.com/threatwinds/aiadmin/clients/runpod"
	"github.com/threatwinds/aiadmin/server/pool"

	"github.com/valkey-io/valkey-go"
)

// gauges gathers reg's series called name: labels -> value.
func gauges(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			out[strings.Join(labels, ",")] = m.GetGauge().GetValue()
		}
	}
	return out
}

// TestServersReplaceTheLastReport: each report replaces the last, a
// provider gone from it leaves, and nil (no longer probing) clears them.
func TestServersReplaceTheLastReport(t *testing.T) {
	reg := prometheus.NewRegistry()
	d := New(reg, nil)
	d.Servers(pool.ServerStates{"vllm": {"healthy": 2, "unhealthy": 1, "draining": 0}, "sglang": {"healthy": 1, "unhealthy": 0, "draining": 0}})
	if got := gauges(t, reg, "aiadmin_servers"); len(got) != 6 || got["provider=vllm,state=unhealthy"] != 1 {
		t.Fatalf("after the first report: %v", got)
	}
	d.Servers(pool.ServerStates{"vllm": {"healthy": 3, "unhealthy": 0, "draining": 0}})
	want := map[string]float64{"provider=vllm,state=healthy": 3, "provider=vllm,state=unhealthy": 0, "provider=vllm,state=draining": 0}
	if diff := cmp.Diff(want, gauges(t, reg, "aiadmin_servers")); diff != "" {
		t.Fatalf("after the second report (-want +got):\n%s", diff)
	}
	d.Servers(nil)
	if got := gauges(t, reg, "aiadmin_servers"); len(got) != 0 {
		t.Fatalf("after nil: %v, want none", got)
	}
}

// TestPodListAge: absent until RunPod answers a list, then the time since;
// a source set with SetPodListAge replaces it.
func TestPodListAge(t *testing.T) {
	clock := clocktest.New(time.Unix(1_700_000_000, 0))
	reg := prometheus.NewRegistry()
	d := New(reg, clock.Now)
	age := func() string {
		t.Helper()
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() == "aiadmin_pod_list_age_seconds" {
				return fmt.Sprint(f.GetMetric()[0].GetGauge().GetValue())
			}
		}
		return "absent"
	}
	if got := age(); got != "absent" {
		t.Fatalf("before any list: %s", got)
	}
	d.RunPodCall(runpod.Call{Operation: runpod.OpListPods, Outcome: runpod.OutcomeTimeout, Duration: time.Second})
	d.RunPodCall(runpod.Call{Operation: runpod.OpGetPod, Outcome: runpod.OutcomeOK, Duration: time.Second})
	if got := age(); got != "absent" {
		t.Fatalf("after a failed list and a pod: %s", got)
	}
	d.RunPodCall(runpod.Call{Operation: runpod.OpListPods, Outcome: runpod.OutcomeOK, Duration: time.Second})
	clock.Advance(7 * time.Second)
	if got := age(); got != "7" {
		t.Fatalf("7 s after a list: %s", got)
	}
	d.SetPodListAge(func() (time.Duration, bool) { return 90 * time.Second, true })
	if got := age(); got != "90" {
		t.Fatalf("from the source set: %s", got)
	}
}

// TestValkeyKind: the kinds follow the HTTP layer's failure mapping.
func TestValkeyKind(t *testing.T) {
	srv := valkeytest.StartServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := valkey.NewClient(valkey.ClientOption{InitAddress: []string{srv.Addr()}, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Do(ctx, c.B().Set().Key("w").Value("x").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	refused := c.Do(ctx, c.B().Incr().Key("w").Build()).Error()
	for _, tc := range []struct {
		err  error
		want string
	}{
		{refused, ValkeyRefused},
		{context.DeadlineExceeded, ValkeyTimeout},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, ValkeyUnreachable},
	} {
		if got := valkeyKind(tc.err); got != tc.want {
			t.Errorf("valkeyKind(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
	for in, want := range map[string]string{"HGETALL": "HGETALL", "EVALSHA": "EVALSHA", "": "other", "get": "other", strings.Repeat("A", 33): "other"} {
		if got := commandLabel(in); got != want {
			t.Errorf("commandLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
