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
	// ctxID is ctx.ID(), which a CoMutex records for its holder: a copy
	// of a number fixed at the context's creation, kept beside ctx so
	// that Lock's and Unlock's compare-and-swap need no load from the
	// context's own lines. Read-only after Entry.
	ctxID uint32
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

	// locks is the newest CoMutex the coroutine holds; each links the one
	// locked before it through its heldNext. Plain: the body's own, like
	// held. Entry releases them if the body panics or ends holding them.
	locks *CoMutex
	// rwHolds are the coroutine's CoRwlock holds, one entry per hold; the
	// first few live in rwBuf, so that taking a rwlock allocates nothing.
	// Plain: the body's own.
	rwHolds []rwHold
	rwBuf   [2]rwHold
	// waitMutex is the CoMutex the coroutine is asleep on in Lock, nil
	// otherwise; granted says that its waker handed it the lock (or a
	// CoRwlock ticket) with the wake-up. waitMutex is the body's own.
	// granted is written by the waker that claimed the sleeping coroutine
	// (coroutine.Claim): true before its wake-up, false again if the
	// wake-up fails, before it gives the coroutine back (Unclaim); the
	// wake-up (a schedule push, or the waker's yield), or the Unclaim,
	// orders that write before the coroutine's next read, when it runs
	// again or is ended. The body clears it once it runs again.
	waitMutex *CoMutex
	granted   bool
	// returned is set once the body returned (Entry's unwind then has
	// nothing to do).
	returned bool
}

// rwHold is one hold of a CoRwlock by a coroutine.
type rwHold struct {
	l     *CoRwlock
	write bool
}

// Entry returns a coroutine entry function that runs body with the
// coroutine's [Self]. Create the coroutine with its home context's
// NewCoroutine (or SetHome it before it first runs): Entry's function
// panics on a coroutine without a home. Each run allocates one Self.
//
// No lock is lost with a coroutine that ends holding it. When body returns
// holding a lock, the function releases every CoMutex it holds and panics
// naming them, as QEMU asserts on a coroutine that terminates with locks
// held. When body panics (or calls runtime.Goexit) holding a CoMutex, each
// one is released (it goes to its next waiter, or is unlocked) and the
// panic goes on as a [*HeldPanic] that names them and wraps the original
// value. A CoRwlock hold is named but not released (releasing may sleep,
// which a panicking body must not): its waiters stay asleep until their
// contexts close. When body is ended by Destroy (its context closed while
// it slept on a lock, or was about to run with one), the CoMutexes it held,
// and a lock handed to it with its wake-up, pass on likewise.
func Entry(body func(self *Self)) coroutine.Func {
	if body == nil {
		panic("colock: Entry called with a nil body")
	}
	return func(co *coroutine.Coroutine) {
		ctx, _ := co.Home().(*aio.AioContext)
		if ctx == nil {
			panic(fmt.Sprintf("colock: coroutine %p has no home context (create it with (*aio.AioContext).NewCoroutine)", co))
		}
		self := &Self{co: co, ctx: ctx, ctxID: ctx.ID()}
		self.rwHolds = self.rwBuf[:0]
		defer self.unwind()
		body(self)
		self.returned = true
		if self.held != 0 {
			self.endHolding()
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

// sleep marks the coroutine asleep in where (a constant naming the lock)
// and records it among its home's sleepers (coroutine.Sleep) before it
// queues itself: a stray CoSchedule or CoWake of it while it sleeps panics
// naming the lock rather than corrupting the lock's queue, its waker
// claims it (wake), and if its context closes first, Close ends it and
// names it.
func (s *Self) sleep(where string) {
	// Sleep's compare-and-swap publishes the mark; the waker's Claim in
	// wake pairs with it.
	if first, ok := s.co.Sleep(where); !ok {
		panic(fmt.Sprintf("colock: coroutine %p waits on a lock while it is scheduled in '%s'", s.co, first))
	}
}

// awake is the end of a sleep, once the coroutine runs again (woken, or
// having claimed itself): it leaves its home's sleepers and forgets what
// it waited for.
func (s *Self) awake() {
	s.co.Awake()
	s.waitMutex, s.granted = nil, false
}

// wake wakes w, a coroutine asleep on a lock, from a coroutine running on
// ctx (nil: on none): directly after the caller yields when w's home is
// ctx, otherwise through w's home schedule queue (aio_co_wake). Whatever
// the caller hands w (a lock, a ticket) goes with the wake-up: granted
// says so, should w be ended before it runs. It reports false when w will
// never run: its home context closed (or is closing) and ended it, or
// refuses the wake-up; then the caller must not hand it anything (it
// passes the lock on instead).
func wake(ctx *aio.AioContext, w *Self) bool {
	// Claim's compare-and-swap: pairs with Sleep's, and decides between
	// us and w's closing home (aio's endSleepers), which claims it too.
	if !w.co.Claim() {
		return false
	}
	w.granted = true
	if ctx.TryCoWake(w.co) == nil {
		return true
	}
	// Unclaim's compare-and-swap orders our granted = false before the
	// claim of w's closing home, which then ends w knowing it holds
	// nothing.
	w.granted = false
	w.co.Unclaim()
	return false
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
