package bench

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/internal/leakcheck"
)

// SparseGap is the idle time before each handoff at rate=sparse. A waiting
// iothread then waits about this long for the next handoff: longer than
// QEMU's default adaptive window (32 us), so with default settings a
// busy-polling iothread burns CPU while an adaptive one goes to sleep, and
// shorter than the sweep's widest window (64 us), so the sweep shows the
// window at which polling starts to catch the handoffs.
const SparseGap = 40 * time.Microsecond

// sweepWindows are the adaptive poll windows the sweep compares.
var sweepWindows = []time.Duration{0, 4 * time.Microsecond, 16 * time.Microsecond, 32 * time.Microsecond, 64 * time.Microsecond}

var waitModes = []aio.WaitMode{aio.WaitPoll, aio.WaitBlock, aio.WaitAdaptive}

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
// flight recorder's window for each slow sampled hop (OutlierRecorder).
func BenchmarkHandoff(b *testing.B) {
	for _, w := range waitModes {
		for _, gap := range []time.Duration{0, SparseGap} {
			name := fmt.Sprintf("via=aio/wait=%s", w)
			if gap > 0 {
				name += "/rate=sparse"
			}
			b.Run(name, func(b *testing.B) {
				spin := spinning(w == aio.WaitPoll)
				forEachPinnedPlacement(b, spin, func(b *testing.B, _ affinity.Class, a, c int) {
					benchAioHandoff(b, HandoffConfig{Pins: [2]affinity.CPUSet{OnCPU(a), OnCPU(c)}, Wait: w, Gap: gap})
				})
				forEachNodePlacement(b, spin, 2, func(b *testing.B, sets []affinity.CPUSet) {
					benchAioHandoff(b, HandoffConfig{Pins: [2]affinity.CPUSet{sets[0], sets[1]}, Wait: w, Gap: gap})
				})
			})
		}
	}
	b.Run("via=queue/wait=poll", func(b *testing.B) {
		forEachPlacement(b, true, func(b *testing.B, _ affinity.Class, a, c int) {
			ensureProcs(b, 3)
			b.ReportAllocs()
			res, err := RunQueueHandoff([2]int{a, c}, b.N)
			if err != nil {
				b.Fatal(err)
			}
			reportHandoff(b, res)
		})
	})
	for _, gap := range []time.Duration{0, SparseGap} {
		suffix := ""
		if gap > 0 {
			suffix = "/rate=sparse"
		}
		b.Run("via=chan/wait=block"+suffix, func(b *testing.B) {
			forEachPlacement(b, false, func(b *testing.B, _ affinity.Class, a, c int) {
				benchChanHandoff(b, [2]int{a, c}, gap)
			})
		})
		b.Run("via=chanfree/wait=block"+suffix+"/place=unpinned", func(b *testing.B) {
			planLeaf(b)
			benchChanHandoff(b, [2]int{Unlocked, Unlocked}, gap)
		})
	}
	if !*sweep {
		return
	}
	for _, win := range sweepWindows {
		for _, rate := range []struct {
			name string
			gap  time.Duration
		}{{"sparse", SparseGap}, {"dense", 0}} {
			b.Run(fmt.Sprintf("via=aio/wait=adaptive/pollmax=%dus/rate=%s", win.Microseconds(), rate.name), func(b *testing.B) {
				forEachPlacement(b, false, func(b *testing.B, _ affinity.Class, a, c int) {
					// pollmax=0 is "never poll": a window of 1 ns.
					benchAioHandoff(b, HandoffConfig{Pins: [2]affinity.CPUSet{OnCPU(a), OnCPU(c)}, Wait: aio.WaitAdaptive, PollMaxNs: max(1, win.Nanoseconds()), Gap: rate.gap})
				})
			})
		}
	}
}

// benchAioHandoff times b.N hops, then, where perf_event_open works, counts
// events in a second, shorter run: counters on the iothreads slow every
// context switch, so the timed run goes without them.
func benchAioHandoff(b *testing.B, cfg HandoffConfig) {
	ensureProcs(b, 3)
	cfg.Hops = b.N
	b.ReportAllocs()
	cfg.Outliers = watchOutliers(b)
	res, err := RunAioHandoff(cfg)
	closeOutliers(b, cfg.Outliers)
	cfg.Outliers = nil // not in the counting run
	if err != nil {
		b.Fatal(err)
	}
	reportHandoff(b, res)
	if PerfUnavailable() != nil {
		return
	}
	cfg.Hops, cfg.Counters = counterHops(b.N), true
	counted, err := RunAioHandoff(cfg)
	if err != nil {
		b.Fatal(err)
	}
	reportCounters(b, counted)
}

// counterHops is the length of the counting run after a timed run of n
// hops: a quarter of it (at least 1000 hops, at most n), enough for stable
// per-op ratios at a quarter of the extra time.
func counterHops(n int) int { return min(n, max(1000, n/4)) }

func benchChanHandoff(b *testing.B, cpus [2]int, gap time.Duration) {
	ensureProcs(b, 3)
	b.ReportAllocs()
	res, err := RunChanHandoff(cpus, gap, b.N)
	if err != nil {
		b.Fatal(err)
	}
	reportHandoff(b, res)
}

func reportHandoff(b *testing.B, res HandoffResult) {
	n := float64(res.Hops)
	b.ReportMetric(float64(res.Elapsed.Nanoseconds())/n, "ns/op")
	if res.Latency.Len() > 0 {
		p := res.Latency.Percentiles(50, 99)
		b.ReportMetric(p[0], "p50-ns")
		b.ReportMetric(p[1], "p99-ns")
	}
	b.ReportMetric(float64(res.CPU.Nanoseconds())/n, "cpu-ns/op")
	if res.Wakes >= 0 {
		b.ReportMetric(float64(res.Wakes)/n, "wakeups/op")
	}
	if res.Where != nil {
		reportPlacement(b, res.Placement(topo))
	}
	reportCounters(b, res)
}

// reportPlacement reports where the iothreads were seen running: cpus-seen
// (distinct CPUs, both sides together), and the fractions of samples that
// found the two on one CPU (samecpu-frac) and on SMT siblings (smt-frac).
func reportPlacement(b *testing.B, p CPUPlacement) {
	if p.Seen > 0 {
		b.ReportMetric(float64(p.Seen), "cpus-seen")
	}
	if p.Samples > 0 {
		b.ReportMetric(float64(p.SameCPU)/float64(p.Samples), "samecpu-frac")
		b.ReportMetric(float64(p.SMT)/float64(p.Samples), "smt-frac")
	}
}

// reportCounters reports the perf counts of res per hop, those it has.
func reportCounters(b *testing.B, res HandoffResult) {
	n := float64(res.Hops)
	if res.CtxSwitches >= 0 {
		b.ReportMetric(float64(res.CtxSwitches)/n, "ctxsw/op")
		b.ReportMetric(float64(res.Migrations)/n, "migrations/op")
	}
	if res.Cycles >= 0 {
		b.ReportMetric(float64(res.Cycles)/n, "cycles/op")
		b.ReportMetric(float64(res.Instructions)/n, "instructions/op")
	}
}

// Every handoff variant completes the hops it was asked for, with every
// wait mode, and leaves no goroutine or thread behind.
func TestHandoffCompletes(t *testing.T) {
	hops := 2000
	if *long {
		hops = 200000
	}
	ensureProcs(t, 3) // two busy-polling iothreads and the test
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
			res, err := RunQueueHandoff([2]int{Unpinned, Unpinned}, n)
			if err != nil {
				t.Fatal(err)
			}
			if res.Hops != n || res.Latency.Len() == 0 || res.Elapsed <= 0 {
				t.Fatalf("result %+v: want %d hops, samples and a positive time", res, n)
			}
		})
	}
	for _, cpus := range [][2]int{{Unpinned, Unpinned}, {Unlocked, Unlocked}} {
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
	ensureProcs(t, 3)
	cfg := HandoffConfig{Wait: aio.WaitBlock, Hops: 200}
	res, err := RunAioHandoff(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.CtxSwitches != -1 || res.Migrations != -1 || res.Cycles != -1 {
		t.Errorf("counted without Counters: %+v", res)
	}
	if err := PerfUnavailable(); err != nil {
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
