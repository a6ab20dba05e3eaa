package bench

import (
	"fmt"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/internal/harness"
	"github.com/pinbench/pinbench/internal/leakcheck"
	"github.com/pinbench/pinbench/internal/perfcount"
)

// BenchmarkHandoff bounces a coroutine between two pinned iothreads (or two
// goroutines, for the channel baselines). One op is one one-way handoff,
// ending when the coroutine (or the receiving goroutine) runs on the other
// side.
//
//   - via=aio: aio.CoSchedule through the home context's lock-free queue;
//     wait=poll|block|adaptive is the iothreads' wait strategy.
//   - via=queue/wait=poll: the queue traffic of via=aio/wait=poll alone (claim,
//     push, take, clear; see RunQueueHandoff), between two pinned spinning
//     threads: no event loop, no coroutine switch. It splits via=aio's cost
//     between the lock-free protocol and the rest.
//   - via=chan/wait=block: a channel between two locked, pinned goroutines
//     (the naive Go design).
//   - via=chanfree/wait=block: a channel between ordinary goroutines (Go's
//     default); only place=unpinned.
//
// Names without a rate part hand off back to back; rate=sparse waits
// SparseGap before each send (ns/op then includes the gap: read p50-ns).
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

// Every handoff variant completes the hops it was asked for, with every
// wait mode, and leaves no goroutine or thread behind.
func TestHandoffCompletes(t *testing.T) {
	hops := 2000
	if *long {
		hops = 200000
	}
	harness.EnsureProcs(t, 3) // two busy-polling iothreads and the test
	for _, w := range waitModes {
		t.Run("via=aio/wait="+w.String(), func(t *testing.T) {
			// RunAioHandoff joins the iothreads (Join checks that their
			// threads ended); the runtime's idle pool may grow meanwhile.
			leakcheck.Goroutines(t)
			res, err := RunAioHandoff(HandoffConfig{Wait: w, Hops: hops})
			if err != nil {
				t.Fatal(err)
			}
			if res.Hops != hops || res.Latency.Len() == 0 || res.Elapsed <= 0 {
				t.Fatalf("result %+v: want %d hops, samples and a positive time", res, hops)
			}
		})
	}
	for _, n := range []int{hops, hops + 1} { // ends on either side
		t.Run(fmt.Sprintf("via=queue/hops=%d", n), func(t *testing.T) {
			leakcheck.Goroutines(t)
			res, err := RunQueueHandoff([2]int{harness.Unpinned, harness.Unpinned}, n)
			if err != nil {
				t.Fatal(err)
			}
			if res.Hops != n || res.Latency.Len() == 0 || res.Elapsed <= 0 {
				t.Fatalf("result %+v: want %d hops, samples and a positive time", res, n)
			}
		})
	}
	for _, cpus := range [][2]int{{harness.Unpinned, harness.Unpinned}, {harness.Unlocked, harness.Unlocked}} {
		t.Run(fmt.Sprintf("via=chan/cpus=%v", cpus), func(t *testing.T) {
			// Locked goroutines blocked on a channel make the runtime
			// start idle threads of its own; RunSides checks that the
			// sides' own threads ended.
			leakcheck.Goroutines(t)
			res, err := RunChanHandoff(cpus, 0, hops+1) // an odd count ends on the other side
			if err != nil {
				t.Fatal(err)
			}
			if res.Hops != hops+1 || res.Latency.Len() == 0 {
				t.Fatalf("result %+v: want %d hops and samples", res, hops+1)
			}
		})
	}
}

// The aio handoff's hot path (schedule, drain, enter, yield) allocates
// nothing: a run ten times longer allocates no more than a short one.
func TestHandoffDoesNotAllocatePerHop(t *testing.T) {
	measure := func(hops int) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := RunAioHandoff(HandoffConfig{Wait: aio.WaitBlock, Hops: hops}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.Mallocs - before.Mallocs
	}
	measure(100) // warm up pools and the sampler's first use
	short, longer := measure(1000), measure(20000)
	// Set-up (threads, sampler, counters) allocates a constant amount;
	// allow a little slack for the runtime's own bookkeeping.
	if longer > short+50 {
		t.Fatalf("20000 hops allocated %d objects, 1000 hops %d: the handoff allocates per hop", longer, short)
	}
}

// Counting is off unless asked for; asked for, a blocking handoff counts
// context switches (each side sleeps once per round trip).
func TestHandoffCounters(t *testing.T) {
	harness.EnsureProcs(t, 3)
	cfg := HandoffConfig{Wait: aio.WaitBlock, Hops: 200}
	res, err := RunAioHandoff(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.CtxSwitches != -1 || res.Migrations != -1 || res.Cycles != -1 {
		t.Errorf("counted without Counters: %+v", res)
	}
	if err := perfcount.Unavailable(); err != nil {
		t.Skipf("perf_event_open unavailable: %v", err)
	}
	cfg.Counters = true
	if res, err = RunAioHandoff(cfg); err != nil {
		t.Fatal(err)
	}
	if res.CtxSwitches < int64(cfg.Hops)/2 || res.Migrations < 0 {
		t.Errorf("with Counters: %d context switches and %d migrations for %d blocking hops, want at least %d and >= 0",
			res.CtxSwitches, res.Migrations, cfg.Hops, cfg.Hops/2)
	}
	if got := counterHops(100); got != 100 {
		t.Errorf("counterHops(100) = %d, want all 100", got)
	}
	if got := counterHops(100000); got != 25000 {
		t.Errorf("counterHops(100000) = %d, want a quarter", got)
	}
}

// Issue 11, item 11: the via=aio clock starts once the warm-up hop has
// arrived: both runtime coroutines exist, on their home iothreads, and
// the sleeping iothread has woken. Before the fix it started on the
// caller, before the first CoSchedule, and hop 1 (sampled with 10,000
// hops or fewer) carried all of that.
func TestHandoffClockStartsAfterWarmUp(t *testing.T) {
	var starts int
	var problems []string
	handoffClockStarts = func(h *handoff) {
		starts++
		for i, co := range h.cos {
			if co.HomeThread() == nil {
				problems = append(problems, fmt.Sprintf("coroutine %d not yet entered", i))
			}
		}
		if unix.Gettid() != h.threads[1].Tid() {
			problems = append(problems, "clock started off side 1's iothread")
		}
		if h.sampler.Len() != 0 {
			problems = append(problems, "a hop was sampled before the clock started")
		}
	}
	defer func() { handoffClockStarts = nil }()
	const hops = 5
	res, err := RunAioHandoff(HandoffConfig{Wait: aio.WaitBlock, Hops: hops})
	if err != nil {
		t.Fatal(err)
	}
	if starts != 1 || len(problems) != 0 {
		t.Fatalf("clock started %d times; problems %v", starts, problems)
	}
	if res.Hops != hops || res.Latency.Len() == 0 {
		t.Fatalf("%d timed hops, %d samples; want %d timed hops, some sampled", res.Hops, res.Latency.Len(), hops)
	}
}
