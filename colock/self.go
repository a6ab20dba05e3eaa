package colock

import (
	"fmt"
	"sync/atomic"

	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/coroutine"
)

// Self is a coroutine as the locks see it: the coroutine, its home
// context, how many locks it holds, and its waiter record (QEMU keeps the
// first two in thread-locals, the count in Coroutine.locks_held and the
// record on the waiter's stack). [Entry] makes one per run of a body and
// passes it in; the body passes it to every Lock, Unlock and Wait.
//
// Who may call what: only the coroutine's own body, on its home context,
// may use its Self; the locks pass the waiter record between threads
// themselves (see each lock's ordering argument).
type Self struct {
	co  *coroutine.Coroutine
	ctx *aio.AioContext
	// held counts the locks the coroutine holds (a CoRwlock read or write
	// hold counts one). Plain: only the coroutine's body touches it.
	held int
	// next links the waiter record in the one queue the coroutine sleeps
	// on: a CoMutex's waiter stack (there it is atomic: see CoMutex), a
	// CoQueue, or a CoRwlock's tickets. A coroutine sleeps on at most one
	// at a time, as QEMU's co_queue_next serves both CoQueue and the
	// wake-up list.
	next atomic.Pointer[Self]
	// read says whether a CoRwlock ticket asks for a read lock; owned
	// by the rwlock's internal mutex while the ticket is queued.
	read bool
}

// Entry returns a coroutine entry function that runs body with the
// coroutine's [Self]. Create the coroutine with its home context's
// NewCoroutine (or SetHome it before it first runs): Entry's function
// panics on a coroutine without a home. When body returns while the
// coroutine still holds a lock, the function panics naming how many, as
// QEMU asserts on a coroutine that terminates with locks held. A panic in
// body reaches the enterer unchanged. Each run allocates one Self.
func Entry(body func(self *Self)) coroutine.Func {
	if body == nil {
		panic("colock: Entry called with a nil body")
	}
	return func(co *coroutine.Coroutine) {
		ctx, _ := co.Home().(*aio.AioContext)
		if ctx == nil {
			panic(fmt.Sprintf("colock: coroutine %p has no home context (create it with (*aio.AioContext).NewCoroutine)", co))
		}
		self := &Self{co: co, ctx: ctx}
		body(self)
		if self.held != 0 {
			panic(fmt.Sprintf("colock: coroutine %p ended holding %d lock(s); unlock before returning", co, self.held))
		}
	}
}

// Coroutine returns the coroutine itself.
func (s *Self) Coroutine() *coroutine.Coroutine { return s.co }

// Context returns the coroutine's home context, the one it runs on: pass
// it where a waker's context is asked for (CoQueue.Next, CoWake).
func (s *Self) Context() *aio.AioContext { return s.ctx }

// Held returns how many locks the coroutine holds.
func (s *Self) Held() int { return s.held }

// Yield suspends the coroutine (coroutine.Coroutine.Yield).
func (s *Self) Yield() { s.co.Yield() }

// sleep marks the coroutine as scheduled in where (a constant naming the
// lock) before it queues itself, so that a stray CoSchedule or CoWake of
// it while it sleeps panics naming the lock rather than corrupting the
// lock's queue; the waker clears the mark (wake) before it wakes it.
func (s *Self) sleep(where string) {
	// MarkScheduled is a compare-and-swap on the coroutine's own mark;
	// the waker's ClearScheduled (in wake) pairs with it.
	if first, ok := s.co.MarkScheduled(where); !ok {
		panic(fmt.Sprintf("colock: coroutine %p waits on a lock while it is scheduled in '%s'", s.co, first))
	}
}

// wake wakes w, a coroutine asleep on a lock, from a coroutine running on
// ctx: directly after the caller yields when w's home is ctx, otherwise
// through w's home schedule queue (aio_co_wake). It reports false when w's
// home context is closed: w will never run, and the caller must not hand
// it anything (it passes the lock on instead).
func wake(ctx *aio.AioContext, w *Self) bool {
	// Store of the mark: pairs with the compare-and-swap in sleep, and
	// synchronizes before the one TryCoWake makes next when it schedules
	// w, which reads it.
	w.co.ClearScheduled()
	return ctx.TryCoWake(w.co) == nil
}

// checkAwake panics, naming where, when self is marked scheduled: it
// would sleep on a lock while a queue is about to enter it. Lockers call
// it before they count themselves in, so that a refused sleep leaves the
// lock's state untouched.
func (s *Self) checkAwake(where string) {
	if first, ok := s.co.Scheduled(); ok {
		panic(fmt.Sprintf("colock: coroutine %p waits on %s while it is scheduled in '%s'", s.co, where, first))
	}
}
