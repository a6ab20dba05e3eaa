package bench

import (
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/coroutine"
	"github.com/pinbench/pinbench/internal/cacheline"
	"github.com/pinbench/pinbench/internal/harness"
	"github.com/pinbench/pinbench/internal/outlier"
	"github.com/pinbench/pinbench/internal/perfcount"
	"github.com/pinbench/pinbench/internal/spinwait"
)

// HandoffResult is what one handoff run measured.
type HandoffResult struct {
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
	// threads; -1 when not counted (HandoffConfig.Counters off, or
	// perf_event_open unavailable).
	CtxSwitches, Migrations int64
	// Cycles and Instructions are hardware counts on the two threads; -1
	// when not counted or the machine does not expose them.
	Cycles, Instructions int64
	// Where (via=aio) is where the two iothreads were seen running,
	// sampled with getcpu now and then, off the critical path; classify it
	// with Placement.
	Where *cpuTrack
}

// Placement summarises res.Where against topology t.
func (res HandoffResult) Placement(t *affinity.Topology) CPUPlacement {
	if res.Where == nil {
		return CPUPlacement{}
	}
	return res.Where.summarise(t)
}

// HandoffConfig says how to run a coroutine handoff between two iothreads.
type HandoffConfig struct {
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
	// switch, which slows a blocking handoff measurably (the README's
	// "Measurements behind the design"). Benchmarks count in a second run.
	Counters bool
	// Outliers, when set, watches the sampled hops for outliers and has
	// the flight recorder's window written for each (see outlier.Watch);
	// the caller closes it after the run.
	Outliers *outlier.Watch
	// OnClockStart, when set, is called on an iothread just before the
	// run's clock starts (see ClockStart).
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
	cfg      HandoffConfig
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

// RunAioHandoff bounces a coroutine handoff between two iothreads through
// aio.CoSchedule: coroutine 0 (homed on iothread 0) schedules coroutine 1
// on iothread 1 and yields; coroutine 1, on arrival, schedules coroutine 0
// back, and so on. One hop ends when the scheduled coroutine runs on the
// other side. GOMAXPROCS must exceed the number of busy-polling iothreads.
//
// Both iothreads are joined before it returns (their threads have ended);
// a join that fails is the returned error.
func RunAioHandoff(cfg HandoffConfig) (res HandoffResult, err error) {
	if cfg.Hops < 1 {
		cfg.Hops = 1
	}
	if cfg.Timeout == 0 {
		if cfg.Timeout, err = harness.StallTimeout(); err != nil {
			return HandoffResult{}, err
		}
	}
	var opts []aio.Option
	opts = append(opts, aio.WithWaitMode(cfg.Wait))
	if cfg.PollMaxNs > 0 {
		opts = append(opts, aio.WithPollParams(cfg.PollMaxNs, 0, 0))
	}
	var threads [2]*aio.IOThread
	defer func() {
		for _, t := range threads {
			if t == nil {
				continue
			}
			if jerr := t.Join(); jerr != nil && err == nil {
				err = jerr
			}
		}
	}()
	for i, set := range cfg.Pins {
		t, err := aio.NewIOThread(set, opts...)
		if err != nil {
			return HandoffResult{}, fmt.Errorf("iothread %d: %w", i, err)
		}
		threads[i] = t
	}
	h := &handoff{cfg: cfg, sampler: harness.NewSampler(cfg.Hops), where: newCPUTrack(), threads: threads, lastCPU: [2]int{-1, -1}}
	for i, t := range threads {
		h.cos[i] = t.Context().NewCoroutine(h.body(i))
	}
	var counters [2]*perfcount.Counters
	if cfg.Counters && perfcount.Unavailable() == nil {
		for i, t := range threads {
			c, err := perfcount.Open(t.Tid())
			if err == nil {
				counters[i] = c
				defer c.Close()
			}
		}
	}
	h.counters = counters
	aio.CoScheduleAt(h.cos[0], "RunAioHandoff")
	if err := h.wait(cfg); err != nil {
		return HandoffResult{}, err
	}
	after, before := snapshot(threads, counters), h.before
	res = HandoffResult{
		Hops:        cfg.Hops,
		Elapsed:     h.elapsed,
		Latency:     h.sampler,
		CPU:         after.cpu - before.cpu,
		Wakes:       int64(after.wakes - before.wakes),
		CtxSwitches: -1, Migrations: -1,
		Cycles: -1, Instructions: -1,
		Where: h.where,
	}
	if counters[0] != nil && counters[1] != nil {
		res.CtxSwitches = int64(after.ctxsw - before.ctxsw)
		res.Migrations = int64(after.migrations - before.migrations)
		if after.hw {
			res.Cycles = int64(after.cycles - before.cycles)
			res.Instructions = int64(after.instructions - before.instructions)
		}
	}
	return res, nil
}

// wait blocks until both coroutines have finished, failing when no hop
// arrives for cfg.Timeout. The caller's thread sleeps on the done event in
// the kernel and looks at the progress counters once a second, so the
// watchdog takes no CPU from the measured threads.
func (h *handoff) wait(cfg HandoffConfig) error {
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

// RunChanHandoff bounces a handoff between two goroutines through two
// channels: locked to threads pinned to cpus (via=chan, the naive Go
// design), or, with both CPUs Unlocked, two ordinary goroutines (via=chanfree,
// Go's default). One hop is one send received on the other side. CPU is the
// whole process's CPU time; Wakes, CtxSwitches and Migrations are -1.
func RunChanHandoff(cpus [2]int, gap time.Duration, hops int) (HandoffResult, error) {
	return runChanHandoff(cpus, gap, hops, nil)
}

func runChanHandoff(cpus [2]int, gap time.Duration, hops int, onClock harness.ClockStart) (HandoffResult, error) {
	var chans [2]chan struct{} // chans[i] carries hops to side i
	for i := range chans {
		chans[i] = make(chan struct{}, 1)
	}
	return alternate("channel", cpus, gap, hops, onClock,
		func(me int, _ *harness.Stop) error { <-chans[me]; return nil },
		func(me, _ int) error { chans[1-me] <- struct{}{}; return nil })
}

// alternate runs a handoff of hops one-way hops between two sides on cpus
// (each pinned, or Unpinned, or Unlocked), side 0 sending the odd hops and
// side 1 the even ones: receive(me, stop) waits for the next hop to arrive
// on side me (returning ErrAborted when stop is set, if it spins), and
// send(me, hop) sends hop to the other side, after gap (a sparse rate). It
// samples one-way latencies, from just before send to the return of
// receive, and times the run from the first send to the last arrival. CPU
// is the whole process's CPU time; Wakes, CtxSwitches, Migrations, Cycles
// and Instructions are -1.
func alternate(name string, cpus [2]int, gap time.Duration, hops int, onClock harness.ClockStart,
	receive func(me int, stop *harness.Stop) error, send func(me, hop int) error) (HandoffResult, error) {
	hops = max(hops, 1)
	sampler := harness.NewSampler(hops)
	var (
		sentAt   int64 // ordered by the send and receive around it
		elapsed  time.Duration
		start    time.Time
		ready    atomic.Int32
		progress [2]harness.Progress
	)
	side := func(me int) harness.Side {
		return harness.Side{Name: fmt.Sprintf("%s side %d", name, me), CPU: cpus[me], Progress: &progress[me], Run: func(stop *harness.Stop) error {
			// A start barrier: each side's Add synchronizes before the
			// other's Load that sees 2, so neither starts before the
			// other is on its thread. Nothing else is published through
			// it: the hops order sentAt, start and elapsed.
			ready.Add(1)
			for ready.Load() != 2 {
				if stop.Load() {
					return harness.ErrAborted
				}
				spinwait.Pause() // as pingPong's barrier does
			}
			for hop := me + 1; hop <= hops+1; hop += 2 {
				if hop > 1 {
					if err := receive(me, stop); err != nil { // the arrival of hop-1
						return err
					}
					if sampler.Want(hop - 1) {
						sampler.Record(harness.MonoNow() - sentAt)
					}
					if hop-1 == hops {
						elapsed = time.Since(start)
						return nil
					}
				} else {
					onClock.Call()
					start = time.Now()
				}
				if hop > hops {
					return nil
				}
				if gap > 0 {
					sleepNs(gap, cpus[me] == harness.Unlocked)
				}
				if sampler.Want(hop) {
					sentAt = harness.MonoNow()
				}
				if err := send(me, hop); err != nil {
					return err
				}
				if hop&4095 < 2 { // each side now and then
					progress[me].Set(int64(hop))
				}
			}
			return nil
		}}
	}
	cpu0 := processCPUTime()
	timeout, err := harness.StallTimeout()
	if err != nil {
		return HandoffResult{}, err
	}
	if err := harness.RunSides(timeout, side(0), side(1)); err != nil {
		return HandoffResult{}, err
	}
	return HandoffResult{
		Hops: hops, Elapsed: elapsed, Latency: sampler,
		CPU:   processCPUTime() - cpu0,
		Wakes: -1, CtxSwitches: -1, Migrations: -1, Cycles: -1, Instructions: -1,
	}, nil
}

// RunQueueHandoff bounces the queue traffic of a handoff alone between two
// pinned, spinning threads (via=queue): each side owns a schedule queue, as
// an AioContext does, and a coroutine homed there that is never entered. A
// hop is what CoSchedule and the receiving context's drain do to a
// coroutine: the sender claims the other side's coroutine (MarkScheduled)
// and pushes it on the other side's queue; the receiver, polling its queue,
// takes it off and clears the claim. There is no event loop and no
// coroutine switch, so via=aio minus via=queue is what those cost. CPU is
// the whole process's CPU time; Wakes, CtxSwitches and Migrations are -1.
func RunQueueHandoff(cpus [2]int, hops int) (HandoffResult, error) {
	return runQueueHandoff(cpus, hops, nil)
}

func runQueueHandoff(cpus [2]int, hops int, onClock harness.ClockStart) (HandoffResult, error) {
	var (
		queues [2]*aio.Queue[coroutine.Coroutine]
		cos    [2]*coroutine.Coroutine
	)
	for i := range queues {
		queues[i] = aio.NewQueue[coroutine.Coroutine, [aio.CacheLinePad]byte]((*coroutine.Coroutine).SchedLink)
		cos[i] = coroutine.New(func(*coroutine.Coroutine) {}) // a token: never entered
	}
	clear := func(co *coroutine.Coroutine) { co.ClearScheduled() }
	return alternate("queue", cpus, 0, hops, onClock,
		func(me int, stop *harness.Stop) error {
			for queues[me].Empty() {
				if stop.Load() {
					return harness.ErrAborted
				}
				spinwait.Pause() // as AioContext's busy-poll does
			}
			queues[me].Drain(clear)
			return nil
		},
		func(me, hop int) error {
			if first, ok := cos[1-me].MarkScheduled("RunQueueHandoff"); !ok {
				return fmt.Errorf("queue side %d: hop %d: coroutine still scheduled in '%s'", me, hop, first)
			}
			queues[1-me].Push(cos[1-me])
			return nil
		})
}

// processCPUTime is the user and system CPU time of the whole process.
func processCPUTime() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
