package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/aio"
)

// BenchmarkNotify measures what one aio Notify costs its caller (ns/op is
// the time spent inside Notify, read around each call).
//
//   - target=awake: the iothread busy-polls, so Notify only sets a flag and
//     makes no system call (wakeups/op shows 0).
//   - target=asleep: the iothread blocks in the kernel; before each Notify
//     the benchmark waits, untimed, until it has gone back to sleep, so
//     every Notify pays the futex wake (wakeups/op shows 1).
func BenchmarkNotify(b *testing.B) {
	for _, tc := range []struct {
		target string
		wait   aio.WaitMode
	}{{"awake", aio.WaitPoll}, {"asleep", aio.WaitBlock}} {
		b.Run("target="+tc.target, func(b *testing.B) {
			planLeaf(b)
			ensureProcs(b, 3)
			it, err := aio.NewIOThread(affinity.CPUSet{}, aio.WithWaitMode(tc.wait))
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				if err := it.Join(); err != nil {
					b.Error(err)
				}
			}()
			ctx := it.Context()
			wakes0 := ctx.Stats().Wakes
			var spent time.Duration
			var sleeps uint64 // the owner's sleeps seen before the last Notify
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if tc.wait == aio.WaitBlock {
					// Untimed: wait until the owner starts its next
					// sleep, so this Notify finds it asleep.
					n, err := waitNextSleep(ctx, sleeps)
					if err != nil {
						b.Fatal(err)
					}
					sleeps = n
				}
				t0 := time.Now()
				ctx.Notify()
				spent += time.Since(t0)
			}
			b.StopTimer()
			b.ReportMetric(float64(spent.Nanoseconds())/float64(b.N), "ns/op")
			b.ReportMetric(float64(ctx.Stats().Wakes-wakes0)/float64(b.N), "wakeups/op")
		})
	}
}

// waitNextSleep spins until the context's owner has begun more sleeps
// than seen, and returns the new count.
func waitNextSleep(ctx *aio.AioContext, seen uint64) (uint64, error) {
	deadline := time.Now().Add(DefaultStallTimeout)
	for {
		if n := ctx.Stats().Sleeps; n > seen {
			return n, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("stalled: the iothread did not go back to sleep within %v", DefaultStallTimeout)
		}
	}
}
