package workload

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/harness"
	"github.com/pinbench/pinbench/internal/leakcheck"
)

// Every implementation completes its iterations with the counter intact,
// on two and on five iothreads, and leaves no goroutine behind.
func TestMutexRuns(t *testing.T) {
	ops := 20000
	if *long {
		ops = 2000000
	}
	harness.EnsureProcs(t, mutexContexts+1)
	for _, impl := range MutexImpls {
		for _, cpus := range [][]int{{harness.Unpinned, harness.Unpinned}, spreadCPUs(t, mutexContexts)} {
			t.Run(fmt.Sprintf("impl=%s/contexts=%d", impl, len(cpus)), func(t *testing.T) {
				leakcheck.Goroutines(t)
				res, err := RunMutex(MutexConfig{Impl: impl, CPUs: cpus, Ops: ops})
				if err != nil {
					t.Fatal(err)
				}
				if res.Ops != int64(ops) || res.Elapsed <= 0 {
					t.Fatalf("result %+v: want %d ops and a positive time", res, ops)
				}
				if (impl == "sync") != (res.Handoffs < 0) {
					t.Fatalf("%s: handoffs %d", impl, res.Handoffs)
				}
			})
		}
	}
	if _, err := RunMutex(MutexConfig{Impl: "spinlock", CPUs: []int{harness.Unpinned}}); err == nil {
		t.Fatal("an unknown implementation ran")
	}
}

// A time limit ends a run that would take hours, counting the iterations
// made: the counter invariant holds over them, and the time is the run's.
func TestMutexTimeLimit(t *testing.T) {
	harness.EnsureProcs(t, mutexContexts+1)
	for _, impl := range MutexImpls {
		t.Run("impl="+impl, func(t *testing.T) {
			leakcheck.Goroutines(t)
			const limit = 50 * time.Millisecond
			const ops = 1 << 40
			var res MutexResult
			var err error
			within(t, 30*time.Second, "a run limited to "+limit.String(), func() {
				res, err = RunMutex(MutexConfig{Impl: impl, CPUs: []int{harness.Unpinned, harness.Unpinned}, Ops: ops, TimeLimit: limit})
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Ops <= 0 || res.Ops >= ops {
				t.Fatalf("%d iterations counted: want some, fewer than the %d asked", res.Ops, int64(ops))
			}
			if res.Elapsed < limit {
				t.Fatalf("elapsed %v: the run stopped before its limit of %v", res.Elapsed, limit)
			}
		})
	}
}

// The start line lets nobody go before the last arrives, calls OnStart
// once, then; one that waits past the timeout gives up and names the
// missing.
func TestMutexStartLine(t *testing.T) {
	leakcheck.Goroutines(t)
	const n = 3
	r := &mutexRun{cfg: MutexConfig{CPUs: make([]int, n), Timeout: 5 * time.Second}, atLine: make([]atomic.Bool, n)}
	var atStart []int32
	r.cfg.OnStart = func() { atStart = append(atStart, r.arrived.Load()) }
	r.base = time.Now()
	var wg sync.WaitGroup
	var early atomic.Int32
	for i := range n {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 20 * time.Millisecond)
			r.startLine(i)
			if r.arrived.Load() != n {
				early.Add(1)
			}
		})
	}
	wg.Wait()
	if early.Load() != 0 || len(atStart) != 1 || atStart[0] != n || r.gaveUp.Load() {
		t.Fatalf("%d let go early; OnStart saw %v arrived; gave up %v: want none, [%d], false", early.Load(), atStart, r.gaveUp.Load(), n)
	}

	r = &mutexRun{cfg: MutexConfig{Impl: "mcs", CPUs: []int{harness.Unpinned, 3}, Timeout: 50 * time.Millisecond}, atLine: make([]atomic.Bool, 2)}
	r.startLine(0)
	msg := r.startLineMissing()
	if !r.gaveUp.Load() || !r.stop.Load() || !strings.Contains(msg, "1 of 2") || !strings.Contains(msg, "coroutine 1 on iothread 1 (CPU 3)") {
		t.Fatalf("alone at the line: gave up %v, stop %v, message %q", r.gaveUp.Load(), r.stop.Load(), msg)
	}
}

// within runs fn on a new goroutine and fails the test, naming what, if
// fn has not returned after d (a broken time limit would run for hours).
// A stuck fn's goroutine is left behind: the test has failed anyway.
func within(t *testing.T, d time.Duration, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s: still running after %v", what, d)
	}
}

// mutexContexts is how many iothreads QEMU's contended mutex tests run.
const mutexContexts = 5

// spreadCPUs returns n CPUs for n iothreads: the CPUs this process may
// use, in order, round robin.
func spreadCPUs(t *testing.T, n int) []int {
	allowed, err := affinity.Allowed()
	if err != nil {
		t.Fatal(err)
	}
	cpus := make([]int, n)
	for i := range cpus {
		cpus[i] = allowed.CPUs()[i%allowed.Count()]
	}
	return cpus
}
