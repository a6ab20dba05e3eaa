package aio

import (
	"testing"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/coroutine"
)

// BenchmarkQueuePushDrain: one op is one item pushed and then drained, on
// one thread, in batches of 64 (the uncontended cost of the queue: a
// compare-and-swap per push, one swap per batch, the reversal). Zero
// allocations per item.
//
//	go test -run '^$' -bench QueuePushDrain -count 6 ./aio | go tool benchstat -col /pad -
func BenchmarkQueuePushDrain(b *testing.B) {
	for _, name := range []string{"pad=128", "pad=64"} {
		b.Run(name, func(b *testing.B) {
			q := queues()[name]()
			items := make([]Item, 64)
			n := 0
			sink := func(*Item) { n++ }
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += len(items) {
				batch := min(len(items), b.N-i)
				for k := range batch {
					q.Push(&items[k])
				}
				q.Drain(sink)
			}
			if n != b.N {
				b.Fatalf("drained %d of %d", n, b.N)
			}
		})
	}
}

// BenchmarkNotify: one op is one Notify of a context whose owner is awake
// (no system call in either case):
//   - state=notified: the flag is already set (a load, the fast path taken
//     when several notifiers hit a busy owner);
//   - state=clear: the owner has accepted the last notification, so Notify
//     stores the flag and checks notifyMe (the owner's clearing store is
//     in the loop too).
//
// owner=asleep: one op is one wake-up of an iothread asleep in the kernel:
// the Notify (one futex wake system call, wakeups/op 1; notify-ns is the
// time spent in Notify alone) plus the wait until the iothread has woken,
// run its (empty) Poll and gone back to sleep.
func BenchmarkNotify(b *testing.B) {
	b.Run("owner=awake/state=notified", func(b *testing.B) {
		c := NewContext()
		c.Notify()
		b.ReportAllocs()
		for b.Loop() {
			c.Notify()
		}
		reportWakes(b, c, 0)
	})
	b.Run("owner=awake/state=clear", func(b *testing.B) {
		c := NewContext()
		b.ReportAllocs()
		for b.Loop() {
			c.Notify()
			c.notified.Store(false)
		}
		reportWakes(b, c, 0)
	})
	b.Run("owner=awake/state=notified/parallel", func(b *testing.B) {
		c := NewContext()
		c.Notify()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Notify()
			}
		})
		reportWakes(b, c, 0)
	})
	b.Run("owner=asleep", func(b *testing.B) {
		it, err := NewIOThread(affinity.CPUSet{}, WithWaitMode(WaitBlock))
		if err != nil {
			b.Fatal(err)
		}
		defer it.Join()
		c := it.Context()
		w0 := c.Stats().Wakes
		var inNotify time.Duration
		for c.notifyMe.Load() == 0 { // asleep, or about to be
			runtimeGosched()
		}
		sleeps := c.sleeps.Load() - 1
		b.ResetTimer()
		for range b.N {
			// Wait until the owner has gone back to sleep: it counts the
			// sleep just before its futex wait, with notifyMe set, so a
			// Notify from then on is a wake.
			for c.sleeps.Load() == sleeps {
				runtimeGosched()
			}
			sleeps = c.sleeps.Load()
			start := time.Now()
			c.Notify()
			inNotify += time.Since(start)
		}
		b.StopTimer()
		b.ReportMetric(float64(inNotify.Nanoseconds())/float64(b.N), "notify-ns")
		reportWakes(b, c, w0)
	})
}

func reportWakes(b *testing.B, c *AioContext, before uint64) {
	b.ReportMetric(float64(c.Stats().Wakes-before)/float64(b.N), "wakeups/op")
}

// BenchmarkBHSchedulePoll: one op is one BH schedule and the Poll that
// runs it, on the owner's own goroutine (no wake-up involved). Zero
// allocations.
func BenchmarkBHSchedulePoll(b *testing.B) {
	c := NewContext()
	n := 0
	bh := c.NewBH(func() { n++ })
	b.ReportAllocs()
	for b.Loop() {
		bh.Schedule()
		c.Poll(false)
	}
	if n != b.N {
		b.Fatalf("%d runs for %d ops", n, b.N)
	}
}

// BenchmarkCoSchedulePoll: one op is one CoSchedule of a suspended
// coroutine on its own context and the Poll that enters it (it yields at
// once), on the owner's goroutine: the queue, the schedule-BH and one
// enter+yield, without a wake-up. Zero allocations.
func BenchmarkCoSchedulePoll(b *testing.B) {
	c := NewContext()
	defer c.Close()
	stop := false
	co := c.NewCoroutine(func(self *coroutine.Coroutine) {
		for !stop {
			self.Yield()
		}
	})
	c.Thread().Enter(co)
	b.ReportAllocs()
	for b.Loop() {
		CoSchedule(co)
		c.Poll(false)
	}
	stop = true
	c.Thread().Enter(co)
}
