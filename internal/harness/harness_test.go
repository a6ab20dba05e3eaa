package harness

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestSamplerStrideAndBound(t *testing.T) {
	for _, tc := range []struct{ ops, stride, kept int }{
		{MaxSamples / 2, 1, MaxSamples / 2},
		{MaxSamples, 1, MaxSamples},
		{MaxSamples + 1, 2, MaxSamples/2 + 1},
		{8 * MaxSamples, 8, MaxSamples},
		{10 * MaxSamples, 16, 10 * MaxSamples / 16},
	} {
		s := NewSampler(tc.ops)
		if s.Stride != tc.stride {
			t.Fatalf("stride for %d ops = %d, want %d", tc.ops, s.Stride, tc.stride)
		}
		kept := 0
		for i := range tc.ops {
			if s.Want(i) {
				if i%tc.stride != 0 {
					t.Fatalf("%d ops: sampled operation %d, not a multiple of the stride %d", tc.ops, i, tc.stride)
				}
				s.Record(int64(i))
				kept++
			}
		}
		if kept != tc.kept || s.Len() != tc.kept {
			t.Fatalf("%d ops: kept %d samples (Len %d), want %d", tc.ops, kept, s.Len(), tc.kept)
		}
		p := s.Percentiles(0, 100)
		if last := (tc.kept - 1) * tc.stride; p[0] != 0 || p[1] != float64(last) {
			t.Fatalf("%d ops: min/max = %v, want 0 and %d", tc.ops, p, last)
		}
	}
	s := NewSampler(MaxSamples)
	allocs := testing.AllocsPerRun(1000, func() {
		if s.Want(0) {
			s.Record(1)
		}
	})
	if allocs != 0 {
		t.Fatalf("recording a sample allocates %v times", allocs)
	}
}

// A side whose partner never answers must fail the run within the timeout,
// naming the side and its CPU, and every side must have stopped.
func TestWatchdogFiresOnSilentPartner(t *testing.T) {
	var never atomic.Bool
	var exited atomic.Int32
	start := time.Now()
	err := RunSides(300*time.Millisecond,
		Side{Name: "waiter", CPU: Unpinned, Run: func(stop *Stop) error {
			defer exited.Add(1)
			for !never.Load() {
				if stop.Load() {
					return ErrAborted
				}
			}
			return nil
		}},
		Side{Name: "quitter", CPU: Unpinned, Run: func(stop *Stop) error {
			defer exited.Add(1)
			return nil // never answers the waiter
		}},
	)
	if err == nil || !strings.Contains(err.Error(), "stalled: waiter on an unpinned thread") {
		t.Fatalf("RunSides error = %v, want a stall naming the waiter", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("watchdog took %v to fire", d)
	}
	if exited.Load() != 2 {
		t.Fatalf("%d sides exited, want 2", exited.Load())
	}
}

func TestRunSidesReportsFirstFailureAndStopsOthers(t *testing.T) {
	boom := errors.New("boom")
	err := RunSides(DefaultStallTimeout,
		Side{Name: "spinner", CPU: Unpinned, Run: func(stop *Stop) error {
			for !stop.Load() {
			}
			return ErrAborted
		}},
		Side{Name: "failer", CPU: Unpinned, Run: func(*Stop) error { return boom }},
	)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "failer on an unpinned thread") {
		t.Fatalf("RunSides error = %v, want boom from failer", err)
	}
}

func TestRunSidesRecoversPanic(t *testing.T) {
	err := RunSides(DefaultStallTimeout,
		Side{Name: "panicker", CPU: Unpinned, Run: func(*Stop) error { panic("oops") }},
	)
	if err == nil || !strings.Contains(err.Error(), "panic: oops") {
		t.Fatalf("RunSides error = %v, want the panic", err)
	}
}

// The stall scale multiplies the default timeout; a value that is not a
// factor from 1 to 1000 is an error naming the variable, never a silent
// default.
func TestScaledStallTimeout(t *testing.T) {
	for _, c := range []struct {
		v    string
		want time.Duration
	}{{"", DefaultStallTimeout}, {"1", DefaultStallTimeout}, {"2.5", 25 * time.Second}, {"1000", 1000 * DefaultStallTimeout}} {
		if got, err := scaledStallTimeout(c.v); err != nil || got != c.want {
			t.Errorf("scale %q: %v, %v; want %v", c.v, got, err, c.want)
		}
	}
	for _, v := range []string{"0", "0.5", "-3", "1001", "NaN", "Inf", "ten", "10s"} {
		if _, err := scaledStallTimeout(v); err == nil || !strings.Contains(err.Error(), StallScaleEnv) {
			t.Errorf("scale %q: error %v, want one naming %s", v, err, StallScaleEnv)
		}
	}
}

// A side that blocks rather than spins sees the stop through Done: when
// its partner fails, the select returns and the run reports the failure.
func TestStopDoneWakesABlockedSide(t *testing.T) {
	boom := errors.New("boom")
	never := make(chan struct{})
	err := RunSides(DefaultStallTimeout,
		Side{Name: "receiver", CPU: Unpinned, Run: func(stop *Stop) error {
			select {
			case <-never:
				return nil
			case <-stop.Done():
				return ErrAborted
			}
		}},
		Side{Name: "failer", CPU: Unpinned, Run: func(*Stop) error { return boom }},
	)
	if !errors.Is(err, boom) {
		t.Fatalf("RunSides error = %v, want boom", err)
	}
}
