// Package handoff runs a handoff between two threads, one way at a time,
// for as many hops as asked: a coroutine passed between
// two iothreads through aio.CoSchedule (RunAio, via=aio), the queue
// traffic of that handoff alone (RunQueue, via=queue), and a channel
// between two goroutines (RunChan, via=chan and via=chanfree). Each run
// times its hops, samples one-way latencies (harness.Sampler), charges
// the CPU it burned, and, for via=aio, counts wake-ups, perf events where
// asked, where the iothreads ran, and outliers under an outlier.Watch.
//
// Who may call what: the Run functions from any goroutine, each starting
// and joining its own threads; a Config's OnClockStart runs on a side's
// thread while the caller waits. Every run fails, naming the silent side,
// when no hop arrives for the stall timeout.
package handoff

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/coroutine"
	"github.com/pinbench/pinbench/internal/cacheline"
	"github.com/pinbench/pinbench/internal/harness"
	"github.com/pinbench/pinbench/internal/outlier"
	"github.com/pinbench/pinbench/internal/perfcount"
)

// Result is what one handoff run measured.
type Result struct {
	// Hops is the number of one-way handoffs made.
	Hops int
	// Elapsed runs from the first handoff to the arrival of the last.
	Elapsed time.Duration
	// Latency holds sampled one-way handoff latencies (send to arrival).
	Latency *harness.Sampler
	// CPU is the CPU time burned meanwhile: the two iothreads' thread
	// clocks (via=aio) or the whole process (channels).
	CPU time.Duration
	// Wakes counts system-call wake-ups (futex wakes by Notify); -1 when
	// the mechanism does not expose them (channels).
	Wakes int64
	// CtxSwitches and Migrations are software event counts on the two
	// threads; -1 when not counted (Config.Counters off, or
	// perf_event_open unavailable).
	CtxSwitches, Migrations int64
	// Cycles and Instructions are hardware counts on the two threads; -1
	// when not counted or the machine does not expose them.
	Cycles, Instructions int64
	// where (via=aio) is where the two iothreads were seen running,
	// sampled with getcpu now and then, off the critical path; nil for
	// the others. Placement classifies it.
	where *cpuTrack
}

// Placement summarises where the two iothreads of a via=aio run were seen
// against topology t; the zero Placement for the other handoffs.
func (res Result) Placement(t *affinity.Topology) Placement {
	if res.where == nil {
		return Placement{}
	}
	return res.where.summarise(t)
}

// Config says how to run a coroutine handoff between two iothreads.
type Config struct {
	// Pins are the CPU sets the two iothreads are pinned to: one CPU
	// each (pin=cpu), a NUMA node's allowed CPUs each (pin=node), or empty
	// (not pinned: the kernel places the thread).
	Pins [2]affinity.CPUSet
	// Wait is the iothreads' wait strategy.
	Wait aio.WaitMode
	// PollMaxNs, when non-zero, sets the adaptive poll window's maximum.
	PollMaxNs int64
	// Gap is idle time before each send (a sparse handoff rate); zero for
	// back-to-back handoffs.
	Gap time.Duration
	// Hops is how many one-way handoffs to make.
	Hops int
	// Timeout fails the run when no handoff arrives for that long.
	Timeout time.Duration
	// Counters opens perf counters on the two iothreads, to fill the
	// result's CtxSwitches and Migrations (and Cycles and Instructions
	// where the machine exposes hardware counters). Leave it off for a
	// timed run: a counted thread costs the kernel work on every context
	// switch, which slows a blocking handoff measurably (docs/design.md,
	// "Measurements behind the design"). Benchmarks count in a second run.
	Counters bool
	// Outliers, when set, watches the sampled hops for outliers and has
	// the flight recorder's window written for each (see outlier.Watch);
	// the caller closes it after the run.
	Outliers *outlier.Watch
	// OnClockStart, when set, is called on an iothread just before the
	// run's clock starts (see harness.ClockStart).
	OnClockStart harness.ClockStart
}

// handoff is the state two coroutines pass between them. The coroutines
// run strictly in turn (each is entered only after the other scheduled it
// and yielded), and every turn passes through the schedule queue's atomic
// push and swap, so the plain fields are never accessed concurrently.
//
// The fields are grouped by who writes them, so that a hop moves only the
// lines the handoff itself needs: each side counts its hops in a local
// variable, and the lines both sides read every hop are written by nobody
// until the last arrival.
type handoff struct {
	// Read by both sides on every hop; written only before the run, and
	// quit once, by the side that made the last arrival.
	cfg      Config
	cos      [2]*coroutine.Coroutine
	sampler  *harness.Sampler
	where    *cpuTrack
	threads  [2]*aio.IOThread
	counters [2]*perfcount.Counters
	quit     bool
	_        [cacheline.Pad]byte
	// Written by the sender of a sampled hop and read by its receiver:
	// this line moves on sampled hops only. start and before are written
	// once, at the warm-up hop's arrival, and read at the end.
	sentAt  int64 // monotonic ns of the sampled send in flight
	start   time.Time
	before  threadSnapshot
	elapsed time.Duration
	// With cfg.Outliers only (see watchedSend): the sender's CPUs before
	// and after its sampled send, and each side's CPU when it last
	// handled a sampled hop (-1 before any).
	sendCPU [2]int
	lastCPU [2]int
	_       [cacheline.Pad]byte
	// progress[i] is the last hop that arrived on side i, for the
	// watchdog; each sits on its own line.
	progress [2]harness.Progress
	done     aio.Event
}

// handoffClockStarts, when set (by tests), is called on the iothread where
// and when a via=aio handoff's clock starts.
var handoffClockStarts func(h *handoff)

func (h *handoff) body(me int) coroutine.Func {
	return func(self *coroutine.Coroutine) {
		// Side 0 sends the odd hops and side 1 the even ones. hop is the
		// hop whose arrival this entry is: side 0's first entry starts the
		// run (hop 0), side 1's first entry is hop 1's arrival.
		//
		// Hop 1 is a warm-up, neither timed nor sampled: it wakes side 1's
		// iothread (asleep since it started) and creates both runtime
		// coroutines. The clock starts at its arrival, and the timed run
		// is hops 2 to cfg.Hops+1.
		hop := me
		last := h.cfg.Hops + 1
		for {
			if h.quit {
				h.done.Set()
				return
			}
			if hop == 1 {
				if handoffClockStarts != nil {
					handoffClockStarts(h)
				}
				h.cfg.OnClockStart.Call()
				h.before = snapshot(h.threads, h.counters)
				h.start = time.Now()
			} else if hop > 1 && h.sampler.Want(hop-1) {
				ns := harness.MonoNow() - h.sentAt
				h.sampler.Record(ns)
				if h.cfg.Outliers != nil {
					h.watchedArrival(me, hop-1, ns)
				}
			}
			if hop == last {
				h.elapsed = time.Since(h.start)
				h.progress[me].Set(int64(hop))
				// Release the other coroutine, suspended in Yield,
				// so that it finishes too.
				h.quit = true
				aio.CoSchedule(h.cos[1-me])
				return
			}
			if h.cfg.Gap > 0 {
				sleepNs(h.cfg.Gap, false) // on the iothread, which ends with the run
			}
			hop++
			if hop > 1 && h.sampler.Want(hop-1) {
				if h.cfg.Outliers != nil {
					h.watchedSend(me, hop-1)
				} else {
					h.sentAt = harness.MonoNow()
				}
			}
			aio.CoSchedule(h.cos[1-me])
			// Off the hop's critical path: the other side is already
			// on its way to run. (hop>>1 counts this side's own hops:
			// each side's hops have one parity.)
			h.progress[me].Set(int64(hop - 1))
			if hop < 4 || (hop>>1)%cpuSampleEvery == 0 {
				h.where.Sample(me)
			}
			self.Yield()
			hop++ // entered again: the other side's reply arrived
		}
	}
}

// sleepNs sleeps in the kernel without involving the Go scheduler: the
// thread is idle, as an iothread between requests would be. It sets the
// calling thread's timer slack to 1 ns first: the default 50 us slack would
// stretch a 40 us gap to about 90 us and make the sparse rate, and the
// poll-window sweep read against it, mean something else. A locked
// benchmark thread ends with its benchmark, so the setting dies with it;
// a goroutine that is not locked (shared=true) runs on a runtime thread
// that lives on, so the slack is put back after the sleep.
func sleepNs(d time.Duration, shared bool) {
	if shared {
		if old, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0); err == nil {
			defer unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(old), 0, 0, 0)
		}
	}
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0) // best effort: without it the gap is only longer
	ts := unix.NsecToTimespec(d.Nanoseconds())
	for unix.Nanosleep(&ts, &ts) == unix.EINTR {
	}
}

// RunAio bounces a coroutine handoff between two iothreads through
// aio.CoSchedule: coroutine 0 (homed on iothread 0) schedules coroutine 1
// on iothread 1 and yields; coroutine 1, on arrival, schedules coroutine 0
// back, and so on. One hop ends when the scheduled coroutine runs on the
// other side. GOMAXPROCS must exceed the number of busy-polling iothreads.
//
// Both iothreads are joined before it returns (their threads have ended);
// a join that fails is the returned error.
func RunAio(cfg Config) (res Result, err error) {
	if cfg.Hops < 1 {
		cfg.Hops = 1
	}
	if err := harness.DefaultTimeout(&cfg.Timeout); err != nil {
		return Result{}, err
	}
	var threads [2]*aio.IOThread
	defer func() {
		if jerr := aio.JoinAll(threads[:]...); jerr != nil && err == nil {
			err = jerr
		}
	}()
	if threads, err = startThreads(cfg); err != nil {
		return Result{}, err
	}
	h := &handoff{cfg: cfg, sampler: harness.NewSampler(cfg.Hops), where: newCPUTrack(), threads: threads, lastCPU: [2]int{-1, -1}}
	for i, t := range threads {
		h.cos[i] = t.Context().NewCoroutine(h.body(i))
	}
	h.counters = openCounters(cfg, threads)
	defer closeCounters(h.counters)
	aio.CoScheduleAt(h.cos[0], "handoff.RunAio")
	if err := h.wait(cfg); err != nil {
		return Result{}, err
	}
	return h.result(), nil
}

// startThreads starts the two iothreads of cfg, pinned to cfg.Pins, with
// its wait mode and poll window. On an error the threads started so far
// are returned with it, for the caller to join.
func startThreads(cfg Config) (threads [2]*aio.IOThread, err error) {
	opts := []aio.Option{aio.WithWaitMode(cfg.Wait)}
	if cfg.PollMaxNs > 0 {
		opts = append(opts, aio.WithPollParams(cfg.PollMaxNs, 0, 0))
	}
	for i, set := range cfg.Pins {
		t, err := aio.NewIOThread(set, opts...)
		if err != nil {
			return threads, fmt.Errorf("iothread %d: %w", i, err)
		}
		threads[i] = t
	}
	return threads, nil
}

// openCounters opens perf counters on both iothreads when cfg.Counters
// asks and this machine allows; a thread whose counters do not open has
// none (nil).
func openCounters(cfg Config, threads [2]*aio.IOThread) (counters [2]*perfcount.Counters) {
	if !cfg.Counters || perfcount.Unavailable() != nil {
		return counters
	}
	for i, t := range threads {
		if c, err := perfcount.Open(t.Tid()); err == nil {
			counters[i] = c
		}
	}
	return counters
}

func closeCounters(counters [2]*perfcount.Counters) {
	for _, c := range counters {
		if c != nil {
			c.Close()
		}
	}
}

// result is the finished run's Result: its hops and time, the iothreads'
// CPU time and wake-ups since the clock started, and their perf counts
// where both threads were counted.
func (h *handoff) result() Result {
	after, before := snapshot(h.threads, h.counters), h.before
	res := Result{
		Hops:        h.cfg.Hops,
		Elapsed:     h.elapsed,
		Latency:     h.sampler,
		CPU:         after.cpu - before.cpu,
		Wakes:       int64(after.wakes - before.wakes),
		CtxSwitches: -1, Migrations: -1,
		Cycles: -1, Instructions: -1,
		where: h.where,
	}
	if h.counters[0] != nil && h.counters[1] != nil {
		res.CtxSwitches = int64(after.ctxsw - before.ctxsw)
		res.Migrations = int64(after.migrations - before.migrations)
		if after.hw {
			res.Cycles = int64(after.cycles - before.cycles)
			res.Instructions = int64(after.instructions - before.instructions)
		}
	}
	return res
}

// wait blocks until both coroutines have finished, failing when no hop
// arrives for cfg.Timeout. The caller's thread sleeps on the done event in
// the kernel and looks at the progress counters once a second, so the
// watchdog takes no CPU from the measured threads.
func (h *handoff) wait(cfg Config) error {
	last := int64(-1)
	lastChange := time.Now()
	for !h.done.WaitTimeout(min(time.Second, cfg.Timeout)) {
		// The last hop that arrived anywhere; hop n+1 is in flight.
		n := max(h.progress[0].Load(), h.progress[1].Load())
		if n != last {
			last, lastChange = n, time.Now()
			continue
		}
		if time.Since(lastChange) > cfg.Timeout {
			// Hop n+1 goes to side (n+1)%2: that side stopped answering.
			side := int((n + 1) % 2)
			return fmt.Errorf("stalled: iothread %d on %s received no handoff for %v (after %d of %d hops)",
				side, pinName(cfg.Pins[side]), cfg.Timeout, n, cfg.Hops)
		}
	}
	return nil
}

type threadSnapshot struct {
	cpu                  time.Duration
	wakes                uint64
	ctxsw, migrations    uint64
	cycles, instructions uint64
	hw                   bool // cycles and instructions counted on both threads
}

func snapshot(threads [2]*aio.IOThread, counters [2]*perfcount.Counters) threadSnapshot {
	s := threadSnapshot{hw: true}
	for i, t := range threads {
		st := t.Stats()
		s.cpu += st.CPU
		s.wakes += st.Wakes
		v := perfcount.Values{}
		if c := counters[i]; c != nil {
			v, _ = c.Read()
		}
		s.ctxsw += v.CtxSwitches
		s.migrations += v.Migrations
		s.cycles += v.Cycles
		s.instructions += v.Instructions
		s.hw = s.hw && v.HW
	}
	return s
}

// pinName names where an iothread pinned to set runs, for messages.
func pinName(set affinity.CPUSet) string {
	switch set.Count() {
	case 0:
		return "an unpinned thread"
	case 1:
		return fmt.Sprintf("CPU %d", set.CPUs()[0])
	}
	return "CPUs " + set.String()
}
