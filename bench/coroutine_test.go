package bench

import (
	"iter"
	"runtime"
	"testing"

	"github.com/pinbench/pinbench/coroutine"
)

// BenchmarkCoroutine compares coroutine mechanisms on one locked thread, as
// an iothread runs them.
//
//   - op=switch: one op is one enter+yield round trip (two switches).
//   - op=lifecycle: one op is one coroutine's whole life: create, enter, and
//     finish with nothing in its body.
//
// impl=coro is the project's coroutine (lifecycle through its Thread's
// pool), impl=pull a bare iter.Pull, impl=goroutine a goroutine resumed and
// suspended through two unbuffered channels.
func BenchmarkCoroutine(b *testing.B) {
	b.Run("op=switch/impl=coro", func(b *testing.B) {
		lockForBenchmark(b)
		th := coroutine.NewLockedThread() // as an iothread has
		defer th.Close()
		co := th.New(func(self *coroutine.Coroutine) {
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
	})
	b.Run("op=switch/impl=pull", func(b *testing.B) {
		lockForBenchmark(b)
		next, stop := iter.Pull(func(yield func(struct{}) bool) {
			for yield(struct{}{}) {
			}
		})
		defer stop()
		b.ReportAllocs()
		for b.Loop() {
			next()
		}
	})
	b.Run("op=switch/impl=goroutine", func(b *testing.B) {
		lockForBenchmark(b)
		resume, yielded := make(chan struct{}), make(chan struct{})
		go func() {
			for range resume {
				yielded <- struct{}{}
			}
		}()
		defer close(resume)
		b.ReportAllocs()
		for b.Loop() {
			resume <- struct{}{}
			<-yielded
		}
	})
	b.Run("op=lifecycle/impl=coro", func(b *testing.B) {
		lockForBenchmark(b)
		th := coroutine.NewLockedThread() // as an iothread has
		defer th.Close()
		empty := func(*coroutine.Coroutine) {}
		b.ReportAllocs()
		for b.Loop() {
			th.Enter(th.New(empty))
		}
	})
	b.Run("op=lifecycle/impl=pull", func(b *testing.B) {
		lockForBenchmark(b)
		seq := func(yield func(struct{}) bool) {}
		b.ReportAllocs()
		for b.Loop() {
			next, stop := iter.Pull(seq)
			next()
			stop()
		}
	})
	b.Run("op=lifecycle/impl=goroutine", func(b *testing.B) {
		lockForBenchmark(b)
		done := make(chan struct{})
		b.ReportAllocs()
		for b.Loop() {
			go func() { done <- struct{}{} }()
			<-done
		}
	})
}

// lockForBenchmark locks the benchmark's goroutine to its thread, as an
// iothread is, for the duration of the benchmark.
func lockForBenchmark(b *testing.B) {
	planLeaf(b)
	runtime.LockOSThread()
	b.Cleanup(runtime.UnlockOSThread)
}
