package pods

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/clients/fleet"
	"github.com/threatwinds/aiadmin/clients/fleet/valkeytest"
	"github.com/threatwinds/aiadmin/clients/runpod/standin"
	"github.com/threatwinds/aiadmin/server/contracttest"
)

// replicaStores starts one real Valkey-compatible server and returns n
// stores on it, each with a connection of its own, as n replicas have.
func replicaStores(t *testing.T, n int) (*valkeytest.Server, []*fleet.Store) {
	t.Helper()
	srv := valkeytest.StartServer(t)
	stores := make([]*fleet.Store, n)
	for i := range stores {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		client, err := fleet.Connect(ctx, fleet.ConnectOptions{Addrs: []string{srv.Addr()}})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(client.Close)
		stores[i] = fleet.New(client, fleet.Options{})
	}
	return srv, stores
}

// refusalCounter is a RestartLocker that counts the acquisitions refused
// because someone else held the lease.
type refusalCounter struct {
	RestartLocker
	refused atomic.Int64
}

func (r *refusalCounter) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	ok, err := r.RestartLocker.AcquireLease(ctx, name, holder, ttl)
	if err == nil && !ok {
		r.refused.Add(1)
	}
	return ok, err
}

// failingLocker is a RestartLocker whose store always fails.
type failingLocker struct{}

func (failingLocker) AcquireLease(context.Context, string, string, time.Duration) (bool, error) {
	return false, errors.New("dial tcp 127.0.0.1:6379: connection refused")
}

func (failingLocker) ReleaseLease(context.Context, string, string) error { return nil }

// leaseHolder reads who holds pod id's restart lease.
func leaseHolder(t *testing.T, st *fleet.Store, id string) string {
	t.Helper()
	h, err := st.LeaseHolder(t.Context(), fleet.RestartLeaseName(id))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestRestartsOnTwoReplicasDoNotInterleave runs a restart of one pod on each
// of two replicas sharing one Valkey: the first is held at its stop until
// the second has found the pod's lease taken, and RunPod must then see one
// whole restart after the other, with the lease given back at the end.
func TestRestartsOnTwoReplicasDoNotInterleave(t *testing.T) {
	const id = "inzk6tzuz833h5"
	standIn := standin.NewServer(testRunPodKey,
		standin.Pod{ID: id, Name: "aiapi-dev-vllm-a-1", DesiredStatus: "RUNNING", GPUCount: 2, MachineID: "m"})
	rec, url := contracttest.StartOpRecorder(t, standIn)
	_, stores := replicaStores(t, 2)
	lockers := []*refusalCounter{{RestartLocker: stores[0]}, {RestartLocker: stores[1]}}
	replicas := make([]*Catalog, 2)
	for i := range replicas {
		replicas[i] = New(newTestRunPod(t, url), &noState{}, Options{
			Prefix: "aiapi-dev-", RestartLocker: lockers[i],
		})
	}

	release := rec.Hold(standin.OpPodStop)
	defer release()
	errs := make(chan error, 2)
	go func() { errs <- replicas[0].Restart(t.Context(), id) }()
	catalogEventually(t, "the first replica's stop reaches RunPod", func() bool { return slices.Contains(rec.Log(), "podStop begin") })
	if h := leaseHolder(t, stores[1], id); h == "" {
		t.Fatal("the first replica restarts the pod without holding its lease")
	}
	go func() { errs <- replicas[1].Restart(t.Context(), id) }()
	catalogEventually(t, "the second replica finds the lease taken", func() bool { return lockers[1].refused.Load() >= 1 })
	release()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}

	one := contracttest.RestartCalls
	if d := cmp.Diff(append(slices.Clone(one), one...), rec.Log()); d != "" {
		t.Errorf("RunPod's calls (-want +got):\n%s", d)
	}
	if n := lockers[0].refused.Load(); n != 0 {
		t.Errorf("the first replica was refused the lease %d times", n)
	}
	if h := leaseHolder(t, stores[0], id); h != "" {
		t.Errorf("lease held by %q after both restarts, want nobody", h)
	}
	for i, c := range replicas {
		if n := c.locks.size(); n != 0 {
			t.Errorf("replica %d: %d pod locks left", i, n)
		}
	}
	if p, _ := standIn.Pod(id); p.DesiredStatus != standin.StatusRunning || p.GPUCount != 2 {
		t.Errorf("pod after the restarts: %+v", p)
	}
}

// TestRestartGivesUpWhileAnotherReplicaHoldsTheLease checks that a restart
// whose context ends while another replica holds the pod's lease answers 503
// "pod restart in progress", never a 500, without calling RunPod or taking
// the lease from its holder; and that once the lease is free the restart
// goes through and gives it back.
func TestRestartGivesUpWhileAnotherReplicaHoldsTheLease(t *testing.T) {
	const id = "busy1"
	standIn := standin.NewServer(testRunPodKey,
		standin.Pod{ID: id, Name: "vllm-a-1", DesiredStatus: "RUNNING", GPUCount: 1, MachineID: "m"})
	_, stores := replicaStores(t, 2)
	other, mine := stores[0], stores[1]
	c := New(newTestRunPod(t, standIn.Start(t)), &noState{}, Options{RestartLocker: mine})

	if ok, err := other.AcquireLease(t.Context(), fleet.RestartLeaseName(id), "replica-b", time.Minute); err != nil || !ok {
		t.Fatalf("the other replica takes the lease: %v, %v", ok, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err := c.Restart(ctx, id)
	if !errors.Is(err, ErrRestartInProgress) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Restart = %v; want %v", err, ErrRestartInProgress)
	}
	if n := standIn.Requests(); n != 0 {
		t.Errorf("%d RunPod requests while another replica held the lease", n)
	}
	if got := leaseHolder(t, mine, id); got != "replica-b" {
		t.Errorf("lease holder %q after giving up, want replica-b", got)
	}

	if err := other.ReleaseLease(t.Context(), fleet.RestartLeaseName(id), "replica-b"); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(t.Context(), id); err != nil {
		t.Fatalf("restart once the lease is free: %v", err)
	}
	if got := leaseHolder(t, mine, id); got != "" {
		t.Errorf("lease held by %q after the restart, want nobody", got)
	}
	if n := standIn.Calls(standin.OpPodStop); n != 1 {
		t.Errorf("%d stops, want 1", n)
	}
}

// TestRestartWaitsForAnotherReplicasLease checks that a restart finding the
// lease taken polls until the holder gives it back, then restarts.
func TestRestartWaitsForAnotherReplicasLease(t *testing.T) {
	const id = "busy1"
	standIn := standin.NewServer(testRunPodKey,
		standin.Pod{ID: id, Name: "vllm-a-1", DesiredStatus: "RUNNING", GPUCount: 1, MachineID: "m"})
	_, stores := replicaStores(t, 2)
	locker := &refusalCounter{RestartLocker: stores[1]}
	c := New(newTestRunPod(t, standIn.Start(t)), &noState{}, Options{RestartLocker: locker})

	if ok, err := stores[0].AcquireLease(t.Context(), fleet.RestartLeaseName(id), "replica-b", time.Minute); err != nil || !ok {
		t.Fatalf("the other replica takes the lease: %v, %v", ok, err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Restart(t.Context(), id) }()
	catalogEventually(t, "the restart is refused the lease twice", func() bool { return locker.refused.Load() >= 2 })
	if n := standIn.Requests(); n != 0 {
		t.Errorf("%d RunPod requests while another replica held the lease", n)
	}
	if err := stores[0].ReleaseLease(t.Context(), fleet.RestartLeaseName(id), "replica-b"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := standIn.Calls(standin.OpPodStop); n != 1 {
		t.Errorf("%d stops, want 1", n)
	}
	if got := leaseHolder(t, stores[1], id); got != "" {
		t.Errorf("lease held by %q after the restart, want nobody", got)
	}
}

// TestRestartLeaseIsReleasedWhateverTheOutcome checks that the lease is given
// back after a failed stop and after a pod that is not found, as after a
// success.
func TestRestartLeaseIsReleasedWhateverTheOutcome(t *testing.T) {
	const id = "pod1"
	standIn := standin.NewServer(testRunPodKey,
		standin.Pod{ID: id, Name: "vllm-a-1", DesiredStatus: "RUNNING", GPUCount: 1, MachineID: "m"})
	_, stores := replicaStores(t, 1)
	c := New(newTestRunPod(t, standIn.Start(t)), &noState{}, Options{RestartLocker: stores[0]})

	tests := []struct {
		name  string
		id    string
		fault func()
		want  error
	}{
		{"success", id, func() {}, nil},
		{"failed stop", id, func() {
			standIn.FaultNext(standin.OpPodStop, 1, standin.Fault{GraphQLError: "pod is locked"})
		}, ErrRunPod},
		{"unknown pod", "nosuchpod1", func() {}, ErrPodNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fault()
			if err := c.Restart(t.Context(), tc.id); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if got := leaseHolder(t, stores[0], tc.id); got != "" {
				t.Errorf("lease held by %q, want nobody", got)
			}
		})
	}
}

// TestRestartWhenValkeyFails checks that a restart whose lease cannot be
// taken answers 503 "valkey unavailable" and never reaches RunPod, whether
// the store refuses or has gone away.
func TestRestartWhenValkeyFails(t *testing.T) {
	standIn := standin.NewServer(testRunPodKey,
		standin.Pod{ID: "pod1", Name: "vllm-a-1", DesiredStatus: "RUNNING", GPUCount: 1, MachineID: "m"})
	url := standIn.Start(t)
	srv, stores := replicaStores(t, 1)
	srv.Stop()

	tests := []struct {
		name   string
		locker RestartLocker
	}{
		{"store refuses", failingLocker{}},
		{"server stopped", stores[0]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := New(newTestRunPod(t, url), &noState{}, Options{RestartLocker: tc.locker})
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			if err := c.Restart(ctx, "pod1"); !errors.Is(err, ErrFleetState) {
				t.Fatalf("Restart = %v; want %v", err, ErrFleetState)
			}
			if n := standIn.Requests(); n != 0 {
				t.Errorf("%d RunPod requests without the lease", n)
			}
		})
	}
}
