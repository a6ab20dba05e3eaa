// Package randsched is the workload of QEMU's test-aio-multithread
// "schedule" test, on aio's iothreads: the test of aio.CoSchedule that the
// seed patch introduced, and the basis of bench's Schedule family. It is
// a test workload, not API an event loop's users call, hence internal.
package randsched

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/coroutine"
	"github.com/pinbench/pinbench/internal/cacheline"
)

// Variant selects the coroutine loop of [Schedule].
type Variant int

const (
	// Stalling is QEMU's own loop (test-aio-multithread, as of
	// QEMU 7.2): pick a random slot, take whatever coroutine is published
	// there and schedule it on its home context, then publish yourself and
	// yield. A take that finds the slot empty leaves one fewer coroutine
	// running, and a successful one leaves the count unchanged, so after
	// exactly one failed take per coroutine every coroutine is parked in
	// its slot and nothing runs: every run ends with retry = number of
	// contexts, and queued = number of contexts (the final wake-ups, which
	// take each coroutine out of its own slot), with a small scheduled
	// count from the first moments.
	Stalling Variant = iota
	// Circulating publishes first, then tries slots starting at a
	// random one until a take succeeds, for at most one round. Its own
	// slot is in the round: either it takes itself (and schedules itself
	// again) or the slot is empty because another coroutine took it, and
	// it is scheduled already. So every yield is followed by a wake-up,
	// nothing stalls, and every coroutine keeps circulating: the basis of
	// the throughput benchmark.
	Circulating
)

// String names the variant as benchmark keys spell it.
func (v Variant) String() string {
	switch v {
	case Stalling:
		return "stalling"
	case Circulating:
		return "circulating"
	}
	return fmt.Sprintf("Variant(%d)", int(v))
}

// Counts are [Schedule]'s counters, named as QEMU's test
// prints them.
type Counts struct {
	// Scheduled counts coroutines scheduled onto another context
	// (QEMU's count_other).
	Scheduled int64
	// Queued counts coroutines scheduled onto the scheduler's own context
	// (QEMU's count_here).
	Queued int64
	// Retry counts takes that found a slot empty (QEMU's count_retry).
	Retry int64
}

// Total is Scheduled + Queued + Retry: every take attempted.
func (c Counts) Total() int64 { return c.Scheduled + c.Queued + c.Retry }

// String formats the counts as QEMU's test logs them.
func (c Counts) String() string {
	return fmt.Sprintf("scheduled %d, queued %d, retry %d, total %d", c.Scheduled, c.Queued, c.Retry, c.Total())
}

// scheduleSlot is one context's published coroutine (QEMU's
// to_schedule[i]), alone on its cache lines: every thread takes from it.
type scheduleSlot struct {
	co atomic.Pointer[coroutine.Coroutine]
	_  [cacheline.Pad - 8]byte
}

// scheduleCounters are one context's counters, written by the coroutine
// running there and read by Counts; padded so contexts do not share lines.
// (QEMU increments three shared counters from every thread; per-context
// counters keep that contention out of the handoff being measured.)
type scheduleCounters struct {
	scheduled, queued, retry atomic.Int64
	_                        [cacheline.Pad - 24]byte
}

// Schedule is the workload of QEMU's test-aio-multithread "schedule"
// test: one coroutine per iothread, each publishing itself in its slot and
// scheduling, on its home context, a coroutine it takes from a random slot.
// Create it with [New], then Start, wait, Stop.
//
// Who may call what: Start and Stop once each, in that order, from one
// goroutine that is not one of the iothreads; Counts, Err and Violations
// from any goroutine.
type Schedule struct {
	threads []*aio.IOThread
	variant Variant
	seed    uint64

	slots    []scheduleSlot
	counters []scheduleCounters
	// stop[i] is QEMU's stop[id]: set by finish on thread i, read by the
	// coroutine of thread i. Atomic only for the race detector's sake
	// (both run on thread i).
	stop []atomic.Bool

	// running counts coroutines that have not finished; exited is set
	// when it reaches zero.
	running atomic.Int32
	exited  aio.Event

	// Slot-invariant violations: count and the first message.
	violations atomic.Int64
	firstErr   atomic.Pointer[string]
}

// New prepares the workload on threads (QEMU uses 5), with
// the given variant and random seed. The iothreads belong to the caller,
// who joins them after Stop.
func New(threads []*aio.IOThread, v Variant, seed uint64) *Schedule {
	n := len(threads)
	return &Schedule{
		threads:  threads,
		variant:  v,
		seed:     seed,
		slots:    make([]scheduleSlot, n),
		counters: make([]scheduleCounters, n),
		stop:     make([]atomic.Bool, n),
	}
}

// Start creates one coroutine per iothread, homed on that iothread's
// context, and schedules each there (QEMU: qemu_coroutine_create, then
// aio_co_schedule(ctx[i], co) from the main thread).
func (r *Schedule) Start() {
	r.running.Store(int32(len(r.threads)))
	for i, t := range r.threads {
		co := t.Context().NewCoroutine(r.entry(i))
		aio.CoScheduleAt(co, "Schedule.Start")
	}
}

// Stop ends the workload (QEMU: ctx_run(i, finish_cb) for each context):
// on each iothread it sets that context's stop flag and takes the
// coroutine out of its own slot, which wakes it if it was parked there; it
// then waits until every coroutine has finished and returns the counts.
func (r *Schedule) Stop() Counts {
	for i, t := range r.threads {
		if err := t.Run(func() { r.finish(i) }); err != nil {
			r.violation(fmt.Sprintf("stopping coroutine %d: %v", i, err))
			continue
		}
		// QEMU: g_assert(to_schedule[i] == NULL). Only coroutine i
		// publishes in slot i, and it does not once stop[i] is set.
		if r.slots[i].co.Load() != nil {
			r.violation(fmt.Sprintf("slot %d not empty after its context stopped", i))
		}
	}
	if !r.exited.WaitTimeout(stopTimeout) {
		r.violation(fmt.Sprintf("%d coroutines still running %v after Stop", r.running.Load(), stopTimeout))
	}
	return r.Counts()
}

// stopTimeout bounds Stop's wait for the coroutines to finish.
const stopTimeout = 10 * time.Second

// finish is QEMU's finish_cb; it runs on iothread id.
func (r *Schedule) finish(id int) {
	r.stop[id].Store(true)
	r.scheduleNext(id, id)
}

// Counts returns the counts so far (summed over contexts).
func (r *Schedule) Counts() Counts {
	var c Counts
	for i := range r.counters {
		c.Scheduled += r.counters[i].scheduled.Load()
		c.Queued += r.counters[i].queued.Load()
		c.Retry += r.counters[i].retry.Load()
	}
	return c
}

// CountsOf returns the counts of the takes made on context i (by its
// coroutine, and by its final wake-up).
func (r *Schedule) CountsOf(i int) Counts {
	return Counts{
		Scheduled: r.counters[i].scheduled.Load(),
		Queued:    r.counters[i].queued.Load(),
		Retry:     r.counters[i].retry.Load(),
	}
}

// Violations returns how many slot-invariant checks failed.
func (r *Schedule) Violations() int64 { return r.violations.Load() }

// Err returns the first slot-invariant violation, or nil.
func (r *Schedule) Err() error {
	if p := r.firstErr.Load(); p != nil {
		return fmt.Errorf("aio: Schedule: %s (%d violations)", *p, r.violations.Load())
	}
	return nil
}

// violation records a failed invariant. It does not panic: a panic in a
// coroutine would reach the iothread's loop and end the process.
func (r *Schedule) violation(msg string) {
	r.violations.Add(1)
	r.firstErr.CompareAndSwap(nil, &msg)
}

// scheduleNext is QEMU's schedule_next: take the coroutine published in
// slot n, if any, and schedule it on its home context (context n). id is
// the context of the caller.
func (r *Schedule) scheduleNext(n, id int) bool {
	// Swap: takes the slot's coroutine exactly once (swaps of one word are
	// totally ordered); pairs with the owner's Store when it published
	// itself, which synchronizes before this Swap that reads it, so the
	// coroutine's state before publishing is visible to us.
	co := r.slots[n].co.Swap(nil)
	if co == nil {
		r.counters[id].retry.Add(1)
		return false
	}
	if n == id {
		r.counters[id].queued.Add(1)
	} else {
		r.counters[id].scheduled.Add(1)
	}
	aio.CoScheduleAt(co, "Schedule.scheduleNext")
	return true
}

// entry returns the body of the coroutine homed on context id.
func (r *Schedule) entry(id int) coroutine.Func {
	rng := rand.New(rand.NewPCG(r.seed, uint64(id)))
	n := len(r.slots)
	return func(self *coroutine.Coroutine) {
		defer func() {
			if r.running.Add(-1) == 0 {
				r.exited.Set()
			}
		}()
		r.checkEmpty(id, "before the first iteration")
		for !r.stop[id].Load() {
			switch r.variant {
			case Stalling:
				// QEMU: schedule_next(random), then publish and yield.
				r.scheduleNext(rng.IntN(n), id)
				// Store: publishes self (QEMU's qatomic_set_mb); pairs
				// with the Swap in scheduleNext.
				r.slots[id].co.Store(self)
			default:
				// Publish first, then one round of takes from a random
				// start; the round includes our own slot (see
				// Circulating). Store: publishes self; pairs
				// with the Swap in scheduleNext.
				r.slots[id].co.Store(self)
				start := rng.IntN(n)
				for k := range n {
					if r.scheduleNext((start+k)%n, id) {
						break
					}
				}
			}
			self.Yield()
			// Whoever woke us took us out of our slot, and only we
			// publish there.
			r.checkEmpty(id, "after a yield")
		}
	}
}

// checkEmpty checks the slot invariant: slot id is empty while its
// coroutine runs.
func (r *Schedule) checkEmpty(id int, when string) {
	if r.slots[id].co.Load() != nil {
		r.violation(fmt.Sprintf("slot %d not empty %s", id, when))
	}
}
