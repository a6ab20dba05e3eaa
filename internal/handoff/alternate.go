package handoff

import (
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/coroutine"
	"github.com/pinbench/pinbench/internal/cacheline"
	"github.com/pinbench/pinbench/internal/harness"
	"github.com/pinbench/pinbench/internal/spinwait"
)

// RunChan bounces a handoff between two goroutines through two
// channels: locked to threads pinned to cpus (via=chan, the naive Go
// design), or, with both CPUs harness.Unlocked, two ordinary goroutines
// (via=chanfree, Go's default). One hop is one send received on the other
// side; onClock, when set, is called where the clock starts. CPU is the
// whole process's CPU time; Wakes, CtxSwitches and Migrations are -1.
func RunChan(cpus [2]int, gap time.Duration, hops int, onClock harness.ClockStart) (Result, error) {
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
	receive func(me int, stop *harness.Stop) error, send func(me, hop int) error) (Result, error) {
	hops = max(hops, 1)
	a := &alternation{name: name, cpus: cpus, gap: gap, hops: hops, onClock: onClock, receive: receive, send: send, sampler: harness.NewSampler(hops)}
	cpu0 := processCPUTime()
	timeout, err := harness.StallTimeout()
	if err != nil {
		return Result{}, err
	}
	if err := harness.RunSides(timeout, a.side(0), a.side(1)); err != nil {
		return Result{}, err
	}
	return Result{
		Hops: hops, Elapsed: a.elapsed, Latency: a.sampler,
		CPU:   processCPUTime() - cpu0,
		Wakes: -1, CtxSwitches: -1, Migrations: -1, Cycles: -1, Instructions: -1,
	}, nil
}

// alternation is one alternate run: its settings, read by both sides, and
// what the hops carry between them.
type alternation struct {
	name    string
	cpus    [2]int
	gap     time.Duration
	hops    int
	onClock harness.ClockStart
	receive func(me int, stop *harness.Stop) error
	send    func(me, hop int) error
	sampler *harness.Sampler
	_       [cacheline.Pad]byte
	// Ordered by the hops: each is written before a send and read after
	// the receive that saw it (sentAt by the sender of a sampled hop,
	// start by side 0 before the first send, elapsed by the side that
	// received the last hop, read after RunSides).
	sentAt  int64
	start   time.Time
	elapsed time.Duration
	_       [cacheline.Pad]byte
	// ready is the start barrier; progress[i] is side i's, for the
	// watchdog.
	ready    atomic.Int32
	progress [2]harness.Progress
}

// side is side me of the run, for harness.RunSides.
func (a *alternation) side(me int) harness.Side {
	return harness.Side{Name: fmt.Sprintf("%s side %d", a.name, me), CPU: a.cpus[me], Progress: &a.progress[me], Run: func(stop *harness.Stop) error {
		// A start barrier: each side's Add synchronizes before the
		// other's Load that sees 2, so neither starts before the other
		// is on its thread. Nothing else is published through it: the
		// hops order sentAt, start and elapsed.
		a.ready.Add(1)
		for a.ready.Load() != 2 {
			if stop.Load() {
				return harness.ErrAborted
			}
			spinwait.Pause() // as the ping-pong's barrier does
		}
		return a.hop(me, stop)
	}}
}

// hop runs side me's part of the handoff: receive each hop of the other
// side's parity, then send the next, until the last has arrived.
func (a *alternation) hop(me int, stop *harness.Stop) error {
	for hop := me + 1; hop <= a.hops+1; hop += 2 {
		if hop > 1 {
			if err := a.receive(me, stop); err != nil { // the arrival of hop-1
				return err
			}
			if a.sampler.Want(hop - 1) {
				a.sampler.Record(harness.MonoNow() - a.sentAt)
			}
			if hop-1 == a.hops {
				a.elapsed = time.Since(a.start)
				return nil
			}
		} else {
			a.onClock.Call()
			a.start = time.Now()
		}
		if hop > a.hops {
			return nil
		}
		if a.gap > 0 {
			sleepNs(a.gap, a.cpus[me] == harness.Unlocked)
		}
		if a.sampler.Want(hop) {
			a.sentAt = harness.MonoNow()
		}
		if err := a.send(me, hop); err != nil {
			return err
		}
		if hop&4095 < 2 { // each side now and then
			a.progress[me].Set(int64(hop))
		}
	}
	return nil
}

// RunQueue bounces the queue traffic of a handoff alone between two
// pinned, spinning threads (via=queue): each side owns a schedule queue, as
// an AioContext does, and a coroutine homed there that is never entered. A
// hop is what CoSchedule and the receiving context's drain do to a
// coroutine: the sender claims the other side's coroutine (MarkScheduled)
// and pushes it on the other side's queue; the receiver, polling its queue,
// takes it off and clears the claim. There is no event loop and no
// coroutine switch, so via=aio minus via=queue is what those cost. onClock,
// when set, is called where the clock starts. CPU is the whole process's
// CPU time; Wakes, CtxSwitches and Migrations are -1.
func RunQueue(cpus [2]int, hops int, onClock harness.ClockStart) (Result, error) {
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
			if first, ok := cos[1-me].MarkScheduled("handoff.RunQueue"); !ok {
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
