package coroutine

import (
	"iter"
	"runtime"
	"testing"
)

// lockThread runs the benchmark body on a locked OS thread (thread=locked),
// as an iothread would, or leaves the goroutine free (thread=unlocked).
var threadModes = []struct {
	name   string
	locked bool
}{{"locked", true}, {"unlocked", false}}

// BenchmarkEnterYield measures one enter+yield round trip: Thread.Enter on a
// coroutine that yields at once (via=coroutine), against one next of a bare
// iter.Pull whose sequence yields at once (via=iterpull), on the same thread.
// One op is one round trip (two switches). Target: via=coroutine at most
// 1.25x via=iterpull, zero allocations.
//
// via=iterpullcall is the same bare next called through one function that
// the compiler does not inline and that does nothing else: the floor of any
// Enter that is a function of its own. Enter cannot be inlined (the inliner
// charges 57 of its budget of 80 for each call it keeps, and Enter keeps
// the switch and its slow paths), so via=coroutine against
// via=iterpullcall is what Enter's own work costs, and via=iterpullcall
// against via=iterpull what the frame costs: after a switch the CPU's
// return-address predictor is out of step with the stack, so the frame's
// return is mispredicted.
func BenchmarkEnterYield(b *testing.B) {
	for _, m := range threadModes {
		b.Run("via=iterpull/thread="+m.name, func(b *testing.B) {
			benchIterPull(b, m.locked, false)
		})
		b.Run("via=iterpullcall/thread="+m.name, func(b *testing.B) {
			benchIterPull(b, m.locked, true)
		})
		b.Run("via=coroutine/thread="+m.name, func(b *testing.B) {
			if m.locked {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
			}
			th := newBenchThread(m.locked)
			co := th.New(func(self *Coroutine) {
				for {
					self.Yield()
				}
			})
			th.Enter(co)
			b.ReportAllocs()
			for b.Loop() {
				th.Enter(co)
			}
			b.StopTimer()
			th.Destroy(co)
			th.Close()
		})
	}
}

// benchIterPull times one next of a bare iter.Pull sequence that yields at
// once, called directly or, with viaCall, through callNext.
func benchIterPull(b *testing.B, locked, viaCall bool) {
	if locked {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	next, stop := iter.Pull(func(yield func(struct{}) bool) {
		for yield(struct{}{}) {
		}
	})
	next()
	b.ReportAllocs()
	if viaCall {
		for b.Loop() {
			callNext(next)
		}
	} else {
		for b.Loop() {
			next()
		}
	}
	b.StopTimer()
	stop()
}

// callNext is via=iterpullcall's frame: a function of its own around the
// switch, as Enter is.
//
//go:noinline
func callNext(next func() (struct{}, bool)) { next() }

func emptyEntry(*Coroutine) {}

// BenchmarkLifecycle measures create-enter-finish of a coroutine whose body
// returns at once (QEMU's /perf/lifecycle): Thread.New, Thread.Enter, and the
// coroutine's end, with the Thread's pool (pool=on: the parked runtime
// coroutine is reused) and without it (pool=off: a goroutine is started and
// ended each time). One op is one coroutine's whole life. Target: pool=on at
// most 0.5x pool=off, zero allocations with the pool.
func BenchmarkLifecycle(b *testing.B) {
	for _, m := range threadModes {
		for _, pool := range []bool{false, true} { // baseline first, for benchstat -col
			name := "pool=off/thread=" + m.name
			if pool {
				name = "pool=on/thread=" + m.name
			}
			b.Run(name, func(b *testing.B) {
				if m.locked {
					runtime.LockOSThread()
					defer runtime.UnlockOSThread()
				}
				th := newBenchThread(m.locked)
				if !pool {
					th.SetPoolSize(0)
				}
				b.ReportAllocs()
				for b.Loop() {
					th.Enter(th.New(emptyEntry))
				}
				b.StopTimer()
				th.Close()
			})
		}
	}
}

// newBenchThread returns the Thread an owner in that mode makes: a locked
// goroutine (an iothread) uses NewLockedThread, whose owner checks the
// benchmarks then include.
func newBenchThread(locked bool) *Thread {
	if locked {
		return NewLockedThread()
	}
	return NewThread()
}
