package handoff

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

// Every handoff variant completes the hops it was asked for, with every
// wait mode, and leaves no goroutine or thread behind.
func TestHandoffCompletes(t *testing.T) {
	hops := 2000
	if *long {
		hops = 200000
	}
	harness.EnsureProcs(t, 3) // two busy-polling iothreads and the test
	for _, w := range []aio.WaitMode{aio.WaitPoll, aio.WaitBlock, aio.WaitAdaptive} {
		t.Run("via=aio/wait="+w.String(), func(t *testing.T) {
			// RunAio joins the iothreads (Join checks that their
			// threads ended); the runtime's idle pool may grow meanwhile.
			leakcheck.Goroutines(t)
			res, err := RunAio(Config{Wait: w, Hops: hops})
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
			res, err := RunQueue([2]int{harness.Unpinned, harness.Unpinned}, n, nil)
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
			res, err := RunChan(cpus, 0, hops+1, nil) // an odd count ends on the other side
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
		if _, err := RunAio(Config{Wait: aio.WaitBlock, Hops: hops}); err != nil {
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
	cfg := Config{Wait: aio.WaitBlock, Hops: 200}
	res, err := RunAio(cfg)
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
	if res, err = RunAio(cfg); err != nil {
		t.Fatal(err)
	}
	if res.CtxSwitches < int64(cfg.Hops)/2 || res.Migrations < 0 {
		t.Errorf("with Counters: %d context switches and %d migrations for %d blocking hops, want at least %d and >= 0",
			res.CtxSwitches, res.Migrations, cfg.Hops, cfg.Hops/2)
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
	res, err := RunAio(Config{Wait: aio.WaitBlock, Hops: hops})
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
