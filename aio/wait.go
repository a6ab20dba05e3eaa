package aio

import (
	"fmt"
	"runtime/trace"
	"time"

	"github.com/pinbench/pinbench/internal/futex"
	"github.com/pinbench/pinbench/internal/spinwait"
)

// The notify handshake (QEMU's notify_me and notified, util/async.c).
//
// Notify costs no system call while the owner is awake: only when the
// owner has announced that it is about to sleep (notifyMe) does Notify
// kick the futex, and then only the first notifier of a round does. Why no
// wake-up is lost, in Go terms: all sync/atomic operations are sequentially
// consistent, so they sit in one total order S that agrees with each
// goroutine's program order, and a store synchronizes before every load
// that reads it. Each of QEMU's smp_mb pairs with one below.
//
//  1. Notify: the caller's work, then notified.Store(true), then
//     notifyMe.Load(). Owner, before sleeping (futexSleep):
//     notifyMe.Add(1), then notified.Load() (in hasWork). This is QEMU's
//     pair of smp_mb (aio_notify against aio_poll): a store-then-load on
//     each side, so in S either the owner's load sees notified (and does
//     not sleep), or Notify's load sees notifyMe != 0 (and kicks the
//     futex). Both may happen; neither missing is impossible.
//  2. Owner, after waking (Poll): notified.Store(false) (QEMU's
//     aio_notify_accept), then it takes the bottom-half queue. The store
//     precedes the take in S, so any Notify whose notified.Store(true) it
//     cleared had published its work before that, and the take sees it;
//     a Notify after the clear leaves notified set for the next round.
//     This is QEMU's smp_mb in aio_notify_accept, paired with the smp_wmb
//     at the top of aio_notify.
//  3. If notified is already set, Notify returns at once: whoever set it
//     is responsible for the kick, and the owner neither sleeps while it is
//     set (1) nor clears it without looking for work afterwards (2). Our
//     work was published before our load of notified, which precedes, in
//     S, the owner's clearing store, which precedes its take: the take
//     sees our work. This saves the store (a write to a shared line) when
//     many threads notify one busy owner. The argument rests on the order
//     S, which only atomic operations are in: hence Notify's doc promises
//     work published with an atomic operation, not any plain write (this
//     path writes nothing the owner reads, so it synchronizes before
//     nothing).
//
// CoSchedule kicks by the same pairing without touching notified (see
// hasWork), and a kick is never consumed unseen (see kick and futexSleep).

// Notify makes a blocking Poll on the owner return (QEMU's aio_notify).
// Any goroutine may call it; it never blocks. Work the caller published
// with an atomic operation before Notify (a queue push, an atomic flag) is
// seen by the owner's next look for work. It makes a system call only to
// wake an owner that is asleep, or about to sleep, and not yet kicked by
// another Notify.
func (c *AioContext) Notify() {
	if c.notified.Load() {
		return
	}
	c.notified.Store(true)
	if c.notifyMe.Load() != 0 {
		c.kick()
	}
}

// kick wakes an owner asleep (or about to sleep) on the event futex.
func (c *AioContext) kick() {
	// Swap: only the notifier that moves the word 0 -> 1 makes the system
	// call; the owner's futex.Wait on 0 returns at once while it is 1. The
	// owner moves it back to 0 and rereads notified before sleeping again
	// (see wait), so a kick is never consumed without the owner seeing the
	// notified flag that came before it.
	if c.event.Swap(1) == 0 {
		c.wakes.Add(1)
		futex.Wake(&c.event, 1)
	}
}

// Poll runs the bottom halves (and with them the scheduled coroutines)
// that are due, and reports whether it ran any (QEMU's aio_poll). With
// blocking true and nothing due, it first waits for a Notify, as the wait
// mode says. Only the owner may call it; a bottom half may call it again
// (nested), as QEMU's AIO_WAIT_WHILE does.
func (c *AioContext) Poll(blocking bool) bool {
	// The owner check costs a few nanoseconds on an iothread's context and
	// a compare on others (see coroutine.Thread.OnOwner); it keeps a Poll
	// from another thread from entering coroutines there, which the
	// runtime would answer with an uncatchable throw.
	if c.closed.Load() || !c.thread.OnOwner() {
		c.ownerMisuse("Poll", "polls a context")
	}
	// Nothing is due unless notified is set or a coroutine is scheduled:
	// every bottom-half schedule notifies after publishing its work, and
	// a coroutine schedule is seen in the queue itself (see hasWork).
	if blocking && !c.hasWork() {
		c.wait()
	}
	// aio_notify_accept: clear the flag before looking for work (the notify
	// handshake, point 2). Skip the store, a write to the notify line, when
	// the flag is clear already: a Notify racing with us then leaves it set
	// for the next Poll, which finds its work.
	if c.notified.Load() {
		c.notified.Store(false)
	}
	if len(c.bhSlices) == 0 && c.bhs.Empty() {
		// Only coroutines to enter, if anything (every handoff's case):
		// the schedule-BH alone, without the bottom-half machinery. A BH
		// scheduled from here on notifies, so the next Poll runs it.
		if !c.runScheduled() {
			return false
		}
		c.schedRunsPending++
		return true
	}
	if trace.IsEnabled() {
		return c.bhPollTraced()
	}
	return c.bhPoll()
}

// hasWork reports whether a blocking Poll has something to do: a Notify
// (bottom halves, Run, settings) or a coroutine on the schedule queue.
// Owner only.
//
// Why the queue is looked at directly: a CoSchedule onto a busy owner
// then moves only the queue head's cache line, not the notified flag's
// as well; it kicks the owner only when the owner announced a sleep
// (notifyMe), by the same store-then-load pairing as the notify
// handshake's point 1: CoSchedule's push, then its notifyMe.Load(); the
// owner's notifyMe.Add(1), then this load of the queue head. In S one of
// the two loads sees the other side's write, so the owner either finds the
// coroutine or is kicked.
//
// A bottom half left in a slice of an outer bhPoll (a nested Poll, see
// bhPoll) is work too, as in QEMU's aio_compute_timeout.
func (c *AioContext) hasWork() bool {
	return len(c.bhSlices) != 0 || c.notified.Load() || !c.sched.Empty()
}

// ownerMisuse panics with the sentence for a call of an owner-only method
// (Poll, Checkpoint) on a closed context or from a goroutine that does not
// own it; ownerDoes says what only the owner does, for the sentence.
func (c *AioContext) ownerMisuse(method, ownerDoes string) {
	if c.closed.Load() {
		panic(fmt.Sprintf("aio: %s of %s after Close", method, c))
	}
	panic(fmt.Sprintf("aio: %s of %s called on OS thread %d, but its owner is OS thread %d (only the owner %s)",
		method, c, unixGettid(), c.thread.Owner(), ownerDoes))
}

// Checkpoint lets Go's scheduler see the owner's thread, at most every
// few milliseconds (see package schedpass for why a locked thread needs
// it). The event loop does this itself before it sleeps; a coroutine or
// bottom half that runs for longer than a millisecond without returning
// to the loop, such as the lock loops of QEMU's test-aio-multithread,
// calls Checkpoint every few microseconds of its work: each call reads
// the clock, and a due pass costs tens of microseconds. Only the owner
// may call it.
func (c *AioContext) Checkpoint() {
	if c.closed.Load() || !c.thread.OnOwner() {
		c.ownerMisuse("Checkpoint", "passes its thread through the scheduler")
	}
	c.pass()
}

// pass lets Go's scheduler see the owner when that is due (schedpass),
// counts it, and returns how long the pass took (0 for none). Owner only.
func (c *AioContext) pass() time.Duration {
	passed, took := c.pacer.Pass()
	if passed {
		c.passes.Add(1) // atomic only for Stats; only the owner writes
	}
	return took
}

// kickIfSleeping wakes the owner when it has announced a sleep; CoSchedule
// calls it after pushing onto an empty queue. Any goroutine may call it.
func (c *AioContext) kickIfSleeping() {
	if c.notifyMe.Load() != 0 {
		c.kick()
	}
}

// wait blocks the owner until notified is set: busy-polling for a while
// (the adaptive window, or for ever in WaitPoll), then in the kernel.
func (c *AioContext) wait() {
	c.publishCounts() // idle now: the locked adds delay nothing
	mode := WaitMode(c.waitMode.Load())
	switch mode {
	case WaitPoll:
		c.spin(-1)
		c.pollsPending++
		return
	case WaitBlock:
		c.sleep()
		return
	}
	maxNs := c.pollMaxNs.Load()
	if maxNs <= 0 {
		c.sleep()
		return
	}
	window := min(c.pollNs.Load(), maxNs)
	if window > 0 {
		// Fast path, no clock read: work that turns up within
		// quickSpinRounds rounds (well under a microsecond, and the
		// window is at least PollStartNs) took less than the window, and
		// then adjustPoll would leave the window alone anyway. Reading
		// the clock twice per wait is a large part of a back-to-back
		// handoff where clock reads are slow (the README's "Measurements
		// behind the design").
		for range quickSpinRounds {
			if c.hasWork() {
				c.pollsPending++
				return
			}
			spinwait.Pause()
		}
	}
	start := time.Now()
	var passed time.Duration
	if window > 0 && c.spin(window) {
		c.pollsPending++
	} else {
		passed = c.sleep()
	}
	// The wait, without the pass through the scheduler before the sleep:
	// a pass of tens of microseconds would read as a long wait and close
	// the window.
	c.adjustPoll(int64(time.Since(start)-passed), maxNs)
}

// publishCounts adds the owner's pending counts (waits that polling ended,
// schedule-BH runs on Poll's fast path) to the counters that Stats reads.
// Owner only.
func (c *AioContext) publishCounts() {
	if c.pollsPending != 0 {
		c.polls.Add(c.pollsPending)
		c.pollsPending = 0
	}
	if c.schedRunsPending != 0 {
		c.bhRuns.Add(c.schedRunsPending)
		c.schedRunsPending = 0
	}
}

// quickSpinRounds is how many rounds the adaptive wait looks for work
// before it reads the clock: a round is two loads of cached lines and a
// spin-wait pause (10 to 140 cycles), so this is at most a couple of
// microseconds, below PollStartNs.
const quickSpinRounds = 32

// spin busy-polls the notified flag for at most ns nanoseconds (for ever
// when ns < 0) and reports whether it saw it set. notifyMe stays 0 meanwhile,
// so notifiers need no system call.
func (c *AioContext) spin(ns int64) bool {
	var start time.Time
	if ns >= 0 {
		start = time.Now()
	}
	for i := 1; ; i++ {
		// Loads: plain reads of lines that stay in this core's cache
		// until a notifier or a scheduler writes them.
		if c.hasWork() {
			return true
		}
		// Read the clock only every 4 rounds: a vDSO clock read costs
		// about as much as a round (two loads and a pause), and the window
		// ends at most 4 rounds late (well under a microsecond).
		if ns >= 0 && i%4 == 0 && int64(time.Since(start)) >= ns {
			return false
		}
		// The spin-wait hint: paces the loop so that the write that ends
		// it is not slowed by a flood of loads and does not cost a
		// pipeline flush (see package spinwait), and leaves an SMT
		// sibling its share of the core. It speeds up the floor's
		// ping-pong and leaves the handoff, whose time goes elsewhere,
		// unchanged (the README's "Measurements behind the design").
		spinwait.Pause()
	}
}

// sleep waits in the kernel until notified is set, and returns how long
// its pass through the scheduler took. It first lets the Go scheduler see
// the owner when that is due (schedpass): otherwise, 10 ms into an
// iothread's life, the runtime's sysmon would take the thread's P at
// every sleep and the thread would wake to look for one.
func (c *AioContext) sleep() (passed time.Duration) {
	passed = c.pass()
	if trace.IsEnabled() {
		c.sleepTraced()
		return passed
	}
	c.futexSleep()
	return passed
}

// futexSleep is sleep's wait on the event futex.
func (c *AioContext) futexSleep() {
	// Announce the sleep before the last look at notified: the notify
	// handshake, point 1 (QEMU: "Write ctx->notify_me before reading
	// ctx->notified").
	c.notifyMe.Add(1)
	for !c.hasWork() {
		c.sleeps.Add(1)
		// Sleeps only while the word is 0 (the futex contract: see
		// package futex); a kick's Swap sets it to 1, before or during
		// the sleep, and wakes us. What the kick published is read
		// through notified and the queue, not through the word: see
		// the notify handshake, point 1.
		futex.Wait(&c.event, 0, -1)
		// Consume the kick before rereading notified, so that a kick
		// arriving later sets the word again and the next futex.Wait
		// returns at once. A kick whose Swap came before this Store was
		// preceded by its notified.Store(true), and only the owner
		// clears notified (in Poll, not here), so the loop condition
		// sees it set: no kick is consumed unseen.
		if c.event.Load() != 0 {
			c.event.Store(0)
		}
	}
	// Finish the wait before the owner goes on (QEMU lowers notify_me
	// after aio_poll's wait): from here on Notify needs no
	// system call. Only the owner writes notifyMe, and a Notify that reads
	// the old value costs at most one spurious kick.
	c.notifyMe.Add(-1)
}

// adjustPoll grows or shrinks the adaptive window after a wait that took
// blockNs from its start to its end, polling included (QEMU's
// adjust_polling_time).
func (c *AioContext) adjustPoll(blockNs, maxNs int64) {
	ns := c.pollNs.Load()
	switch {
	case blockNs <= ns:
		// The sweet spot: polling alone found the work.
	case blockNs > maxNs:
		// We would have had to poll for too long: poll less.
		if shrink := c.pollShrink.Load(); shrink > 0 {
			ns /= shrink
		} else {
			ns = 0
		}
	case ns < maxNs && blockNs < maxNs:
		// The sleep was short: room to grow, poll longer.
		grow := c.pollGrow.Load()
		if grow <= 0 {
			grow = DefaultPollGrow
		}
		if ns == 0 {
			ns = PollStartNs
		} else {
			ns *= grow
		}
		ns = min(ns, maxNs)
	default:
		return
	}
	c.pollNs.Store(ns)
}
