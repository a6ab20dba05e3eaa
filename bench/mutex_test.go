package bench

import "testing"

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
//
// Each run starts its clock once every coroutine is in its loop, and a
// time-based -benchtime also bounds each run (the cost of a run is not
// linear in its iterations; see bench/internal/workload's mutexRun.startLine): ns/op, ops/s, B/op
// and allocs/op are those of the iterations made, and testing's iteration
// column shows the b.N asked for.
func BenchmarkMutex(b *testing.B) { runFamily(b) }

var allocSink []byte

// A run that made fewer iterations than b.N reports its allocations per
// iteration made: one allocation an iteration shows as 1 allocs/op, where
// testing's own figure, divided by b.N, would round it away.
func TestMadeAllocsCountsTheIterationsMade(t *testing.T) {
	res := testing.Benchmark(func(b *testing.B) {
		var m madeAllocs
		m.clockStart(b)()
		made := min(int64(b.N), 10)
		for range made {
			allocSink = make([]byte, 64)
		}
		m.report(b, made)
	})
	if res.N <= 10 {
		t.Skipf("testing ran b.N = %d at most, which the body makes in full", res.N)
	}
	if a, by := res.AllocsPerOp(), res.AllocedBytesPerOp(); a != 1 || by < 64 {
		t.Fatalf("b.N %d, 10 made: %d allocs/op, %d B/op; want 1 and at least 64", res.N, a, by)
	}
}
