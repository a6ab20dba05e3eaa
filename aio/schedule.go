package aio

import (
	"fmt"
	"runtime/trace"

	"github.com/pinbench/pinbench/coroutine"
)

// CoSchedule makes co run on its home context, entered by that context's
// owner in a later Poll (QEMU's aio_co_schedule). Any goroutine may call
// it; it never blocks and allocates nothing. co's home is the context set
// with co.SetHome (an *AioContext); co is only ever entered there. The call
// synchronizes before co's entry.
//
// It panics, with a sentence naming the context and the caller, when co
// has no home, when its home is closed (co would never run), and when co is
// already scheduled and has not run yet (naming where it was first
// scheduled, as QEMU's "Co-routine was already scheduled in '...'" does;
// [CoScheduleAt] records a place of your choosing).
func CoSchedule(co *coroutine.Coroutine) {
	coSchedule(co, "aio.CoSchedule")
}

// CoScheduleAt is [CoSchedule] recording where (a constant such as a
// function name, as QEMU records __func__) as the place co was scheduled,
// for the double-schedule panic.
func CoScheduleAt(co *coroutine.Coroutine, where string) {
	coSchedule(co, where)
}

// CoSchedule's fast path, onto an owner that is awake, costs two atomic
// read-modify-writes: MarkScheduled's compare-and-swap and the queue push's
// (plus the push's store to co's link when the queue was not empty; see
// the queue's budget in queue.go). It writes neither the notified flag nor
// a bottom half's flags. Only an owner that announced a sleep costs more:
// the kick's swap and a futex wake. The owner's side costs, per coroutine,
// the swap that reverses its link, the store that clears the link (but for
// the newest of a batch), the store that clears its mark and Enter's loads,
// plus one swap of the queue head per batch. Do not add an
// atomic operation to either side without measuring the CoSchedule and
// handoff benchmarks before and after.
func coSchedule(co *coroutine.Coroutine, where string) {
	home := homeOf(co, "CoSchedule")
	if trace.IsEnabled() { // QEMU's trace_aio_co_schedule (trace.go)
		traceCoSchedule(home, co, where)
	}
	// MarkScheduled's compare-and-swap makes this call the only producer
	// of co until the home context's consumer clears the mark, so co's
	// schedule link has one writer at a time.
	if first, ok := co.MarkScheduled(where); !ok {
		panic(fmt.Sprintf("aio: co-routine %p was already scheduled in '%s'", co, first))
	}
	// Push (compare-and-swap on the queue head): publishes co and its link
	// to the consumer's Swap in runScheduled. Only the push that finds the
	// queue empty may need to wake the owner: a push onto a non-empty
	// queue lands in the same list as the item below it, whose pusher
	// found the queue empty, and the owner's next drain (or an earlier
	// one) swaps out the whole list, ours included. An awake owner sees
	// the queue itself (AioContext.hasWork), so the pusher kicks only an
	// owner that announced a sleep, without touching the notified flag.
	//
	// The schedule-BH is built into Poll (see runScheduled and bhPoll):
	// its "pending" flag is the queue's non-empty head itself, so
	// scheduling it costs no BH flags and no BH-queue push. QEMU schedules
	// a real BH on every push, and notifies; each of those atomics is one
	// more cache line moving between the two threads. The ordering
	// argument is at AioContext.hasWork.
	if err := pushScheduled(home, co, where); err != nil {
		panic(fmt.Sprintf("%v; called from %s", err, callerPlace(3)))
	}
}

// pushScheduled pushes co, marked scheduled, onto home's schedule queue
// and kicks a sleeping owner; on a closed home it gives the mark back and
// returns an error saying so.
func pushScheduled(home *AioContext, co *coroutine.Coroutine, where string) error {
	wasEmpty, ok := home.sched.TryPush(co)
	if !ok {
		// Closed: the owner will never drain the queue. Give the mark
		// back (the coroutine is not on any queue) and say so.
		co.ClearScheduled()
		return fmt.Errorf("aio: co-routine %p scheduled in '%s' onto %s, which is closed (joined iothread, or closed by its owner): it would never run", co, where, home)
	}
	if wasEmpty {
		home.kickIfSleeping()
	}
	return nil
}

// homeOf returns co's home context or panics with a sentence naming op.
func homeOf(co *coroutine.Coroutine, op string) *AioContext {
	home, _ := co.Home().(*AioContext)
	if home == nil {
		panic(fmt.Sprintf("aio: %s of coroutine %p, which has no home context (set one with SetHome(*aio.AioContext))", op, co))
	}
	return home
}

// runScheduled is the schedule-BH (QEMU's schedule_bh_cb), run by bhPoll
// before the bottom halves it took: it takes every coroutine scheduled so
// far, oldest first, clears its mark and enters it on the owner's
// coroutine Thread, and reports whether there was any. Owner only.
func (c *AioContext) runScheduled() bool {
	if c.sched.Empty() {
		return false
	}
	// The run's region, traced only: with tracing off, region stays nil
	// and costs this branch and the nil check in the defer.
	var region *trace.Region
	if trace.IsEnabled() {
		region = c.traceScheduleBH()
	}
	done := false
	defer func() {
		if region != nil {
			region.End()
		}
		if !done {
			// A coroutine panicked out of Enter: Drain pushed the rest
			// back; make sure a later Poll enters them.
			c.Notify()
		}
	}()
	c.sched.Drain(c.enterFn)
	done = true
	return true
}

// enterScheduled enters one coroutine taken off the schedule queue.
func (c *AioContext) enterScheduled(co *coroutine.Coroutine) {
	// Store of the mark: it synchronizes before the next producer's winning
	// MarkScheduled, and Drain has read and cleared co's link already, so
	// that producer may rewrite the link.
	// Enter refuses a coroutine still marked, as QEMU does.
	co.ClearScheduled()
	if trace.IsEnabled() { // QEMU's trace_aio_schedule_bh_cb (trace.go)
		c.traceEnter(co)
	}
	c.thread.Enter(co)
}

// CoWake wakes co, a coroutine suspended in Yield, on its home context
// (QEMU's aio_co_wake/aio_co_enter). c is the context the caller runs on,
// or nil when it runs on none: Go has no thread-local current context, so
// the caller says.
//
//   - c is co's home and the caller is outside any coroutine: co is
//     entered at once, before CoWake returns.
//   - c is co's home and the caller is a coroutine running there: co is
//     entered after the caller yields or finishes (QEMU's co_queue_wakeup).
//   - otherwise: through [CoSchedule], from any goroutine.
//
// Passing co's home as c from another thread is a programming error that
// nothing checks cheaply.
func (c *AioContext) CoWake(co *coroutine.Coroutine) {
	home := homeOf(co, "CoWake")
	if c != home {
		coSchedule(co, "aio.CoWake")
		return
	}
	// WakeAfterYield enters co at once when no coroutine is running on
	// the thread, and after the running one yields otherwise.
	c.thread.WakeAfterYield(co)
}

// TryCoWake is [AioContext.CoWake] that reports a closed home instead of
// panicking: when co's home context is closed it returns an error naming
// it, and co is left unscheduled (it will never run). Wakers that hand
// something over with the wake-up (a lock to a sleeping waiter) use it, so
// that they can hand it to someone else instead.
func (c *AioContext) TryCoWake(co *coroutine.Coroutine) error {
	home := homeOf(co, "TryCoWake")
	if c != home {
		if first, ok := co.MarkScheduled("aio.TryCoWake"); !ok {
			panic(fmt.Sprintf("aio: co-routine %p was already scheduled in '%s'", co, first))
		}
		return pushScheduled(home, co, "aio.TryCoWake")
	}
	// Our own context, closing: a coroutine ended by Close (its body
	// unwinding) passes on what it held, and the waiter it picks here
	// would never run. A load of an owner-written flag, on the owner.
	if c.closed.Load() {
		return fmt.Errorf("aio: co-routine %p woken on %s, which is closing: it would never run", co, c)
	}
	c.thread.WakeAfterYield(co)
	return nil
}

// NewCoroutine returns a fresh coroutine homed on c that runs fn. Any
// goroutine may call it; start the coroutine with [CoSchedule] (or, on the
// owner, c.Thread().Enter). The owner may instead take one from its pool
// with c.Thread().New(fn) followed by SetHome(c).
func (c *AioContext) NewCoroutine(fn coroutine.Func) *coroutine.Coroutine {
	co := coroutine.New(fn)
	co.SetHome(c)
	return co
}
