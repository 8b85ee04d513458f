package flight_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/threatwinds/aiadmin/clients/flight"
)

// The tests run in synctest bubbles: synctest.Wait returns once every
// caller is blocked waiting for the shared call, so "every caller has
// joined" is a fact rather than a guess, and timeouts use the bubble's clock.

// TestConcurrentCallersShareOneCall holds a call until a hundred callers
// wait for it: it runs once and every caller gets its value.
func TestConcurrentCallersShareOneCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := flight.NewGroup[[]string]()
		defer g.Close()
		var calls atomic.Int64
		release := make(chan struct{})
		fn := func(context.Context) ([]string, error) {
			calls.Add(1)
			<-release
			return []string{"a", "b"}, nil
		}
		const callers = 100
		got := make([][]string, callers)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() { got[i], errs[i] = g.Do(context.Background(), "k", fn) })
		}
		synctest.Wait()
		close(release)
		wg.Wait()

		for i := range callers {
			if errs[i] != nil {
				t.Fatalf("caller %d: %v", i, errs[i])
			}
			if diff := cmp.Diff([]string{"a", "b"}, got[i]); diff != "" {
				t.Fatalf("caller %d (-want +got):\n%s", i, diff)
			}
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("calls = %d, want 1", n)
		}
	})
}

type ctxKey struct{}

// TestCallOutlivesTheCallerThatStopsWaiting lets the first caller's deadline
// pass while the call runs: that caller gets ErrStoppedWaiting at its
// deadline, the call goes on with the caller's values but not its deadline,
// and a caller arriving later gets its value without a second call.
func TestCallOutlivesTheCallerThatStopsWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := flight.NewGroup[string]()
		defer g.Close()
		var calls atomic.Int64
		release := make(chan struct{})
		var callErr error
		var callValue any
		fn := func(ctx context.Context) (string, error) {
			calls.Add(1)
			<-release
			callErr, callValue = ctx.Err(), ctx.Value(ctxKey{})
			return "answer", nil
		}

		ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), ctxKey{}, "trace-1"), time.Second)
		defer cancel()
		start := time.Now()
		_, err := g.Do(ctx, "k", fn)
		if !errors.Is(err, flight.ErrStoppedWaiting) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("impatient caller: %v, want %v and %v", err, flight.ErrStoppedWaiting, context.DeadlineExceeded)
		}
		if waited := time.Since(start); waited != time.Second {
			t.Errorf("impatient caller waited %v on the bubble's clock, want its 1s deadline", waited)
		}

		var got string
		done := make(chan struct{})
		go func() { defer close(done); got, err = g.Do(context.Background(), "k", fn) }()
		synctest.Wait()
		close(release)
		<-done
		if err != nil || got != "answer" {
			t.Fatalf("patient caller: %q, %v; want answer", got, err)
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("calls = %d, want 1", n)
		}
		if callErr != nil {
			t.Errorf("the call's context ended with its first caller: %v", callErr)
		}
		if callValue != "trace-1" {
			t.Errorf("the call's context lost its first caller's values: %v", callValue)
		}
	})
}

// TestEndedCallerStartsNothing: a caller whose context has already ended
// gets ErrStoppedWaiting and fn never runs.
func TestEndedCallerStartsNothing(t *testing.T) {
	g := flight.NewGroup[int]()
	defer g.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	_, err := g.Do(ctx, "k", func(context.Context) (int, error) { ran = true; return 1, nil })
	if !errors.Is(err, flight.ErrStoppedWaiting) || !errors.Is(err, context.Canceled) {
		t.Errorf("Do() = %v, want %v and %v", err, flight.ErrStoppedWaiting, context.Canceled)
	}
	if ran {
		t.Error("fn ran for a caller that had already gone")
	}
}

// TestFnErrorsReachEveryCaller: fn's error comes back as it is, and a nil
// interface value does not trip Do.
func TestFnErrorsReachEveryCaller(t *testing.T) {
	g := flight.NewGroup[error]()
	defer g.Close()
	boom := errors.New("boom")
	v, err := g.Do(context.Background(), "k", func(context.Context) (error, error) { return nil, boom })
	if err != boom || v != nil {
		t.Errorf("Do() = %v, %v; want nil, %v", v, err, boom)
	}
}

// TestCloseEndsAbandonedCalls starts a call that runs until cancelled, lets
// its only caller give up, and closes the group: Close cancels the call and
// returns only once it has returned; later calls get ErrClosed and start
// nothing.
func TestCloseEndsAbandonedCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := flight.NewGroup[int]()
		var calls atomic.Int64
		var ended atomic.Bool
		fn := func(ctx context.Context) (int, error) {
			calls.Add(1)
			<-ctx.Done()
			ended.Store(true)
			return 0, ctx.Err()
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := g.Do(ctx, "k", fn); !errors.Is(err, flight.ErrStoppedWaiting) {
			t.Fatalf("caller that gave up: %v, want %v", err, flight.ErrStoppedWaiting)
		}
		if ended.Load() {
			t.Fatal("the call ended with its caller")
		}

		g.Close()
		if !ended.Load() {
			t.Error("Close returned before the call it cancelled")
		}
		if _, err := g.Do(context.Background(), "k", fn); !errors.Is(err, flight.ErrClosed) {
			t.Errorf("Do after Close: %v, want %v", err, flight.ErrClosed)
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("calls = %d, want 1: nothing starts after Close", n)
		}
		g.Close() // a second Close is harmless
	})
}

// TestForgetStartsANewCall: after Forget a caller starts a fresh call while
// the old one runs on for the callers already waiting on it.
func TestForgetStartsANewCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := flight.NewGroup[int]()
		defer g.Close()
		var calls atomic.Int64
		releases := []chan struct{}{make(chan struct{}), make(chan struct{})}
		fn := func(context.Context) (int, error) {
			n := calls.Add(1)
			<-releases[n-1]
			return int(n), nil
		}
		var first, second int
		var wg sync.WaitGroup
		wg.Go(func() { first, _ = g.Do(context.Background(), "k", fn) })
		synctest.Wait()
		g.Forget("k")
		wg.Go(func() { second, _ = g.Do(context.Background(), "k", fn) })
		synctest.Wait()
		close(releases[1])
		close(releases[0])
		wg.Wait()
		if diff := cmp.Diff([2]int{1, 2}, [2]int{first, second}); diff != "" {
			t.Errorf("values of the old and the new call (-want +got):\n%s", diff)
		}
	})
}
