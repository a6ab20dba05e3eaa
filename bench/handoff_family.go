package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/internal/handoff"
	"github.com/pinbench/pinbench/internal/harness"
	"github.com/pinbench/pinbench/internal/perfcount"
)

// Handoff: one one-way coroutine handoff between two pinned iothreads (or
// two goroutines, for the channel baselines); see BenchmarkHandoff.

// sparseGap is the idle time before each handoff at rate=sparse. A waiting
// iothread then waits about this long for the next handoff: longer than
// QEMU's default adaptive window (32 us), so with default settings a
// busy-polling iothread burns CPU while an adaptive one goes to sleep, and
// shorter than the sweep's widest window (64 us), so the sweep shows the
// window at which polling starts to catch the handoffs.
const sparseGap = 40 * time.Microsecond

// sweepWindows are the adaptive poll windows the sweep compares.
var sweepWindows = []time.Duration{0, 4 * time.Microsecond, 16 * time.Microsecond, 32 * time.Microsecond, 64 * time.Microsecond}

var waitModes = []aio.WaitMode{aio.WaitPoll, aio.WaitBlock, aio.WaitAdaptive}

func (s suiteBuilder) handoffFamily() []*Node {
	out := s.aioHandoffs()
	out = append(out, group("via=queue/wait=poll", s.placements(true, true, func(b *testing.B, _ string, a, c int) error {
		harness.EnsureProcs(b, 3)
		res, err := handoff.RunQueue([2]int{a, c}, b.N, b.ResetTimer)
		if err != nil {
			return err
		}
		s.reportHandoff(b, res)
		return nil
	})...))
	out = append(out, s.chanHandoffs()...)
	if s.o.Sweep {
		out = append(out, s.pollSweep()...)
	}
	return out
}

// aioHandoffs are the via=aio groups: each wait mode, back to back and
// sparse, pinned per CPU at every class and per node.
func (s suiteBuilder) aioHandoffs() []*Node {
	var out []*Node
	for _, w := range waitModes {
		for _, gap := range []time.Duration{0, sparseGap} {
			name := fmt.Sprintf("via=aio/wait=%s", w)
			if gap > 0 {
				name += "/rate=sparse"
			}
			spin := spinning(w == aio.WaitPoll)
			g := group(name, s.pinnedPlacements(spin, true, func(b *testing.B, full string, a, c int) error {
				return s.benchAioHandoff(b, full, handoff.Config{Pins: [2]affinity.CPUSet{harness.OnCPU(a), harness.OnCPU(c)}, Wait: w, Gap: gap})
			})...)
			g.Children = append(g.Children, s.nodePlacements(spin, 2, true, func(b *testing.B, full string, sets []affinity.CPUSet) error {
				return s.benchAioHandoff(b, full, handoff.Config{Pins: [2]affinity.CPUSet{sets[0], sets[1]}, Wait: w, Gap: gap})
			})...)
			out = append(out, g)
		}
	}
	return out
}

// chanHandoffs are the channel baselines, back to back and sparse:
// locked goroutines at every class, free ones unpinned.
func (s suiteBuilder) chanHandoffs() []*Node {
	var out []*Node
	for _, gap := range []time.Duration{0, sparseGap} {
		suffix := ""
		if gap > 0 {
			suffix = "/rate=sparse"
		}
		out = append(out,
			group("via=chan/wait=block"+suffix, s.placements(false, true, func(b *testing.B, _ string, a, c int) error {
				return s.benchChanHandoff(b, [2]int{a, c}, gap)
			})...),
			leaf("via=chanfree/wait=block"+suffix+"/place=unpinned", "", true, func(b *testing.B, _ string) error {
				return s.benchChanHandoff(b, [2]int{harness.Unlocked, harness.Unlocked}, gap)
			}))
	}
	return out
}

// pollSweep is the adaptive poll-window sweep (SuiteOptions.Sweep): each
// window, sparse and dense, at every class.
func (s suiteBuilder) pollSweep() []*Node {
	var out []*Node
	for _, win := range sweepWindows {
		for _, rate := range []struct {
			name string
			gap  time.Duration
		}{{"sparse", sparseGap}, {"dense", 0}} {
			out = append(out, group(fmt.Sprintf("via=aio/wait=adaptive/pollmax=%dus/rate=%s", win.Microseconds(), rate.name),
				s.placements(false, true, func(b *testing.B, full string, a, c int) error {
					// pollmax=0 is "never poll": a window of 1 ns.
					return s.benchAioHandoff(b, full, handoff.Config{Pins: [2]affinity.CPUSet{harness.OnCPU(a), harness.OnCPU(c)}, Wait: aio.WaitAdaptive, PollMaxNs: max(1, win.Nanoseconds()), Gap: rate.gap})
				})...))
		}
	}
	return out
}

// benchAioHandoff times b.N hops, then, where perf_event_open works, counts
// events in a second, shorter run: counters on the iothreads slow every
// context switch, so the timed run goes without them. Under an outlier
// recorder, the timed run is watched as full.
func (s suiteBuilder) benchAioHandoff(b *testing.B, full string, cfg handoff.Config) error {
	harness.EnsureProcs(b, 3)
	cfg.Hops = b.N
	cfg.OnClockStart = b.ResetTimer
	if s.o.Outliers != nil {
		cfg.Outliers = s.o.Outliers.Watch(full)
	}
	res, err := handoff.RunAio(cfg)
	if cfg.Outliers != nil {
		if _, cerr := cfg.Outliers.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	b.StopTimer() // the counting run is not part of the timed one
	cfg.OnClockStart = nil
	cfg.Outliers = nil // not in the counting run
	if err != nil {
		return err
	}
	s.reportHandoff(b, res)
	if perfcount.Unavailable() != nil {
		return nil
	}
	cfg.Hops, cfg.Counters = counterHops(b.N), true
	counted, err := handoff.RunAio(cfg)
	if err != nil {
		return err
	}
	reportCounters(b, counted)
	return nil
}

// counterHops is the length of the counting run after a timed run of n
// hops: a quarter of it (at least 1000 hops, at most n), enough for stable
// per-op ratios at a quarter of the extra time.
func counterHops(n int) int { return min(n, max(1000, n/4)) }

func (s suiteBuilder) benchChanHandoff(b *testing.B, cpus [2]int, gap time.Duration) error {
	harness.EnsureProcs(b, 3)
	res, err := handoff.RunChan(cpus, gap, b.N, b.ResetTimer)
	if err != nil {
		return err
	}
	s.reportHandoff(b, res)
	return nil
}

func (s suiteBuilder) reportHandoff(b *testing.B, res handoff.Result) {
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
	reportPlacement(b, res.Placement(s.t)) // nothing for the channels and the queue
	reportCounters(b, res)
}

// reportPlacement reports where the iothreads were seen running: cpus-seen
// (distinct CPUs, both sides together), and the fractions of samples that
// found the two on one CPU (samecpu-frac) and on SMT siblings (smt-frac).
func reportPlacement(b *testing.B, p handoff.Placement) {
	if p.Seen > 0 {
		b.ReportMetric(float64(p.Seen), "cpus-seen")
	}
	if p.Samples > 0 {
		b.ReportMetric(float64(p.SameCPU)/float64(p.Samples), "samecpu-frac")
		b.ReportMetric(float64(p.SMT)/float64(p.Samples), "smt-frac")
	}
}

// reportCounters reports the perf counts of res per hop, those it has.
func reportCounters(b *testing.B, res handoff.Result) {
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
