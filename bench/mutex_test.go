package bench

import (
	"fmt"
	"testing"

	"github.com/pinbench/pinbench/internal/leakcheck"
)

// BenchmarkMutex runs the loop of QEMU's test-aio-multithread mutex tests:
// one coroutine per iothread, each locking, incrementing a shared counter
// and unlocking, then counting the iteration with an atomic add (QEMU's
// atomic_counter). One op is one lock-increment-unlock, by any coroutine.
// The iothreads block when idle, as QEMU's test iothreads do (their
// contexts have no poll window).
//
//   - impl=comutex: colock.CoMutex; a waiter sleeps in its home context and
//     the unlocker hands the lock over through aio.CoSchedule.
//   - impl=mcs: the MCS lock on a futex of QEMU's test (colock.MCS); a
//     waiter blocks its whole iothread in the kernel.
//   - impl=sync: sync.Mutex (QEMU's pthread mutex), on the iothreads'
//     locked threads.
//
// contexts=2/place=P puts the two iothreads on the class's CPU pair
// (QEMU's /aio/multi/mutex/handoff, there unpinned); contexts=5/place=all
// spreads five over the allowed CPUs (iothread i on allowed CPU i mod
// count), and contexts=5/place=unpinned leaves them to the OS (QEMU's
// contended, mcs and pthread tests). Extra metrics: ops/s, handoffs/op
// (the lock passed to a waiter on another context; comutex and mcs) and
// wakeups/op (futex wakes of a sleeping iothread's event loop).
func BenchmarkMutex(b *testing.B) { runFamily(b) }

// Every implementation completes its iterations with the counter intact,
// on two and on five iothreads, and leaves no goroutine behind.
func TestMutexRuns(t *testing.T) {
	ops := 20000
	if *long {
		ops = 2000000
	}
	ensureProcs(t, MutexContexts+1)
	for _, impl := range MutexImpls {
		for _, cpus := range [][]int{{Unpinned, Unpinned}, spreadCPUs(topo, MutexContexts)} {
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
	if _, err := RunMutex(MutexConfig{Impl: "spinlock", CPUs: []int{Unpinned}}); err == nil {
		t.Fatal("an unknown implementation ran")
	}
}
