package aio

import (
	"fmt"
	"reflect"
	"runtime"
	"sync/atomic"
)

// BH flags (QEMU's BH_PENDING, BH_SCHEDULED, BH_ONESHOT, BH_DELETED).
const (
	// bhPending: the BH is on its context's queue (pushed, not yet taken
	// off by the owner). Exactly one Schedule pushes it per pending period:
	// the one whose Or moved the flag from clear to set.
	bhPending uint32 = 1 << iota
	// bhScheduled: the callback should run when the owner takes the BH
	// off the queue. Cancel clears it and leaves the BH queued.
	bhScheduled
	// bhOneShot: run once, then the BH is dropped (OneShot).
	bhOneShot
	// bhDeleted: never run again; Schedule panics.
	bhDeleted
)

// BH is a bottom half: a callback that any goroutine may schedule to run
// once on its context's owner, in [AioContext.Poll] (QEMU's QEMUBH).
// Scheduling is idempotent while the BH is pending: however many times it
// is scheduled before the owner runs it, it runs once. A schedule that comes
// while the callback runs makes it run again in a later Poll.
//
// Who may call what: [BH.Schedule], [BH.Cancel] and [BH.Delete] from any
// goroutine, concurrently; the callback runs on the owner only.
type BH struct {
	// flags holds the bh* bits; see each for its meaning. Producers Or
	// bits in (Schedule, Delete), Cancel clears bhScheduled, and the owner
	// clears bhPending|bhScheduled when it takes the BH off the queue.
	flags atomic.Uint32
	// next is the intrusive link of the context's bhs queue, written by
	// the one Schedule that pushes the BH (the bhPending winner) and read
	// by the owner after it took the list.
	next atomic.Pointer[BH]
	ctx  *AioContext
	fn   func()
	// dropped, when set, is called by the owner instead of reporting a
	// leak when the context closes with the BH still queued (IOThread.Run
	// fails its caller this way). Set before the BH is first scheduled;
	// read-only afterwards.
	dropped func(error)
}

func bhLink(b *BH) *atomic.Pointer[BH] { return &b.next }

// NewBH returns a bottom half that runs fn on c's owner each time it is
// scheduled (QEMU's aio_bh_new). Any goroutine may call it.
func (c *AioContext) NewBH(fn func()) *BH {
	if fn == nil {
		panic("aio: NewBH called with a nil callback")
	}
	return &BH{ctx: c, fn: fn}
}

// Schedule makes the BH run once on its context's owner, in a later Poll,
// and wakes the owner (QEMU's qemu_bh_schedule). Any goroutine may call
// it; it never blocks and allocates nothing. Scheduling a BH that is still
// pending does nothing. Scheduling a deleted BH, or one whose context is
// closed (its iothread joined), panics with a sentence naming the context
// and the caller.
func (b *BH) Schedule() {
	if err := b.enqueue(bhScheduled); err != nil {
		panic(fmt.Sprintf("%v, called from %s", err, callerPlace(2)))
	}
}

// enqueue is QEMU's aio_bh_enqueue: set bhPending|flags and push the BH if
// it was not pending. It returns an error, and leaves the BH unqueued,
// when the context is closed.
func (b *BH) enqueue(flags uint32) error {
	// Or: pairs with the owner's And in bhPoll. Read-modify-writes of one
	// word are totally ordered, so exactly one of the calls between two of
	// the owner's And sees bhPending clear, and only that one pushes: the
	// BH is on the queue at most once. The owner's And comes after it read
	// the BH's link and synchronizes before the Or that sees its result,
	// so our push (which rewrites the link) cannot disturb the list the
	// owner is walking (QEMU: "insertion starts after BH_PENDING is set").
	old := b.flags.Or(bhPending | flags)
	if old&bhDeleted != 0 {
		panic(fmt.Sprintf("aio: bottom half %p scheduled after Delete", b))
	}
	if old&bhPending != 0 {
		// Already queued, and the schedule that queued it notified the
		// owner after its push. The owner does not sleep while notified
		// is set, and clears it only before taking the queue, so that
		// take (or a later one) finds the BH and sees our bhScheduled: no
		// second notify is needed. (QEMU notifies here anyway.) If the
		// context closes before running it, Close finds it in the list it
		// took and reports it.
		return nil
	}
	if _, ok := b.ctx.bhs.TryPush(b); !ok {
		// Closed: nobody will take the BH off the queue, so clear the
		// pending flag we set (a later Schedule fails the same way).
		b.flags.And(^(bhPending | flags))
		return fmt.Errorf("aio: bottom half %s scheduled on %s, which is closed (joined iothread, or closed by its owner): it would never run", b.name(), b.ctx)
	}
	b.ctx.Notify()
	return nil
}

// name names the BH's callback, for messages.
func (b *BH) name() string {
	if f := runtime.FuncForPC(reflect.ValueOf(b.fn).Pointer()); f != nil {
		return f.Name()
	}
	return fmt.Sprintf("%p", b)
}

// callerPlace returns "file:line (function)" of the caller skip frames up
// from its own caller, for misuse panics.
func callerPlace(skip int) string {
	pc, file, line, ok := runtime.Caller(skip)
	if !ok {
		return "an unknown place"
	}
	name := "?"
	if f := runtime.FuncForPC(pc); f != nil {
		name = f.Name()
	}
	return fmt.Sprintf("%s:%d (%s)", file, line, name)
}

// Cancel stops a scheduled BH from running, unless the owner has already
// taken it off the queue (QEMU's qemu_bh_cancel): it may still run if the
// owner is about to. Any goroutine may call it.
func (b *BH) Cancel() {
	// And: clears bhScheduled only; a pending BH stays queued and the
	// owner drops it when it finds the flag clear.
	b.flags.And(^bhScheduled)
}

// Delete cancels the BH for good (QEMU's qemu_bh_delete): it will not run
// again, and scheduling it panics. Any goroutine may call it; a Delete
// concurrent with a Schedule of the same BH is a programming error.
func (b *BH) Delete() {
	// Or: the owner checks bhDeleted in the flags it clears with And, so a
	// queued BH is dropped; the garbage collector frees it.
	b.flags.Or(bhDeleted)
}

// OneShot runs fn once on c's owner, in a later Poll (QEMU's
// aio_bh_schedule_oneshot). Any goroutine may call it. It allocates one BH.
// On a closed context (its iothread joined) it panics with a sentence
// naming the context and the caller.
func OneShot(c *AioContext, fn func()) {
	if err := c.NewBH(fn).enqueue(bhScheduled | bhOneShot); err != nil {
		panic(fmt.Sprintf("%v, called from %s", err, callerPlace(2)))
	}
}

// oneShot is OneShot that returns the closed-context error, and calls
// dropped (when not nil) instead of reporting a leak if the context
// closes with the BH still queued.
func (c *AioContext) oneShot(fn func(), dropped func(error)) error {
	b := c.NewBH(fn)
	b.dropped = dropped
	return b.enqueue(bhScheduled | bhOneShot)
}

// bhPoll runs the BHs that are due, oldest first, and reports whether it
// ran any (QEMU's aio_bh_poll). Owner only. If a callback panics, the BHs
// not yet run go back on the queue before the panic continues, so that
// none is lost with its bhPending flag stuck set.
//
// Nested polls (a bottom half that calls Poll, as QEMU's AIO_WAIT_WHILE
// does) run the outer batch's remaining BHs first, as QEMU's slice list
// does: each bhPoll appends the list it took as a slice to c.bhSlices, and
// every bhPoll, nested or not, runs BHs from the oldest slice until none
// is left. So a BH that polls until a BH queued behind it in the same
// batch has run does not wait for ever; and hasWork counts a non-empty
// slice as work, so that the nested blocking Poll does not sleep.
func (c *AioContext) bhPoll() bool {
	ran, done := 0, false
	c.bhSlices = append(c.bhSlices, c.bhs.TakeAll())
	defer func() {
		if !done { // a callback panicked
			c.requeueSlices()
		}
	}()
	if c.bhSlices[len(c.bhSlices)-1] != nil {
		// A bottom half may read Stats (IOThread.Run's callers do, after
		// it ran): make the counts exact for it.
		c.publishCounts()
	}
	// The built-in schedule-BH runs first, after the take above: every
	// coroutine scheduled before a BH we took was pushed before that take,
	// so it is entered before that BH runs, as when the schedule-BH was an
	// ordinary BH queued ahead of it.
	if c.runScheduled() {
		ran++
	}
	for len(c.bhSlices) != 0 {
		bh := c.bhSlices[0]
		if bh == nil {
			// This slice is done: drop it (QSIMPLEQ_REMOVE_HEAD). The
			// list is short (one slice per nesting level), and the copy
			// keeps its array, so this allocates nothing once grown.
			n := copy(c.bhSlices, c.bhSlices[1:])
			c.bhSlices[n] = nil
			c.bhSlices = c.bhSlices[:n]
			continue
		}
		// Read the link before the And below: from then on a concurrent
		// Schedule may push bh again and rewrite it.
		c.bhSlices[0] = bh.next.Load()
		bh.next.Store(nil)
		// And: takes bh off the queue, pairing with the Or in enqueue:
		// the read of the link above comes before it, and it synchronizes
		// before the next Or that sees bhPending clear (QEMU's
		// aio_bh_dequeue: "the removal finishes before BH_PENDING is
		// reset"). A Schedule after this point pushes bh again and it
		// runs in a later Poll.
		old := bh.flags.And(^(bhPending | bhScheduled))
		if old&(bhScheduled|bhDeleted) == bhScheduled {
			ran++
			if old&bhOneShot != 0 {
				bh.flags.Or(bhDeleted)
			}
			bh.fn()
		}
	}
	done = true
	if ran > 0 {
		c.bhRuns.Add(uint64(ran))
	}
	return ran > 0
}

// requeueSlices puts the BHs of every slice back on the queue, oldest
// first, after a callback panicked, and notifies the owner so that a later
// Poll runs them. Owner only.
func (c *AioContext) requeueSlices() {
	for i, b := range c.bhSlices {
		for b != nil {
			next := b.next.Load()
			c.bhs.Push(b)
			b = next
		}
		c.bhSlices[i] = nil
	}
	c.bhSlices = c.bhSlices[:0]
	c.Notify()
}
