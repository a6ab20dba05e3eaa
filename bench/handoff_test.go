package bench

import "testing"

// BenchmarkHandoff bounces a coroutine between two pinned iothreads (or two
// goroutines, for the channel baselines). One op is one one-way handoff,
// ending when the coroutine (or the receiving goroutine) runs on the other
// side.
//
//   - via=aio: aio.CoSchedule through the home context's lock-free queue;
//     wait=poll|block|adaptive is the iothreads' wait strategy.
//   - via=queue/wait=poll: the queue traffic of via=aio/wait=poll alone (claim,
//     push, take, clear; see internal/handoff's RunQueue), between two pinned spinning
//     threads: no event loop, no coroutine switch. It splits via=aio's cost
//     between the lock-free protocol and the rest.
//   - via=chan/wait=block: a channel between two locked, pinned goroutines
//     (the naive Go design).
//   - via=chanfree/wait=block: a channel between ordinary goroutines (Go's
//     default); only place=unpinned.
//
// Names without a rate part hand off back to back; rate=sparse waits
// sparseGap before each send (ns/op then includes the gap: read p50-ns).
// Extra metrics: p50-ns and p99-ns of sampled one-way latencies, cpu-ns/op
// (CPU the two sides burned), wakeups/op (system-call wakes), and, where
// perf_event_open works, ctxsw/op and migrations/op on the iothreads, plus
// cycles/op and instructions/op where the machine exposes hardware
// counters (the "perf" configuration line says which). The counts come from
// a second, shorter run: counting slows every context switch, so the timed
// run goes without it.
//
// With -sweep, also via=aio/wait=adaptive/pollmax=Nus/rate=R: the tuning
// run's poll-window sweep. With -explain-outliers, a via=aio run saves the
// flight recorder's window for each slow sampled hop (internal/outlier).
func BenchmarkHandoff(b *testing.B) { runFamily(b) }

// The counting run after a timed one is a quarter of it, at least 1000
// hops and at most all of them.
func TestCounterHops(t *testing.T) {
	if got := counterHops(100); got != 100 {
		t.Errorf("counterHops(100) = %d, want all 100", got)
	}
	if got := counterHops(100000); got != 25000 {
		t.Errorf("counterHops(100000) = %d, want a quarter", got)
	}
}
