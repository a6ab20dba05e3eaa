package colock

import "github.com/pinbench/pinbench/aio"

// CoQueue is a queue of coroutines asleep until another coroutine restarts
// them (QEMU's CoQueue), oldest first. The zero value is an empty queue.
//
// A CoQueue is not itself thread-safe, as in QEMU: either every coroutine
// that uses it runs on one context, or every call is made holding one
// [CoMutex], the one Wait is given. Wait's caller sleeps in its home
// context; Next and RestartAll wake through aio's CoWake, so a coroutine
// restarted from another context runs on its own.
//
// Who may call what: Wait only from the body of a coroutine run through
// [Entry]; Next, RestartAll and Empty from any coroutine or goroutine that
// follows the rule above (a bottom half on the queue's one context, for
// example).
type CoQueue struct {
	// waiters, guarded by the caller's rule above.
	waiters fifo
}

// Wait queues self and sleeps until Next or RestartAll restarts it (QEMU's
// qemu_co_queue_wait). When m is not nil, self must hold it: Wait unlocks
// m after queueing self, and locks it again after waking, so that a
// restart made under m cannot slip between the two. Restarts are not
// spurious, but a condition may have changed again by the time self runs:
// wait in a loop that rechecks it.
func (q *CoQueue) Wait(self *Self, m *CoMutex) {
	if m != nil && m.holder != self.co {
		m.unlockMisuse(self) // before queueing: a refused Wait leaves no entry
	}
	self.sleep(whereQueue)
	q.waiters.push(self)
	if m != nil {
		m.Unlock(self)
	}
	// No race with the restarter: a restart from another context
	// schedules us on our home, whose thread is this one, and it enters
	// us only after we yielded; one from our own context can only run
	// after we yielded (QEMU's comment says the same).
	self.co.Yield()
	self.awake()
	if m != nil {
		m.Lock(self)
	}
}

// Next restarts the oldest waiter and reports whether there was one
// (QEMU's qemu_co_queue_next). ctx is the caller's context, nil when it
// runs on none (as for aio.CoWake): a waiter homed there is entered after
// the calling coroutine yields (at once when the caller is not a
// coroutine), any other is scheduled on its home.
// A waiter whose home context is closed never runs: it is dropped, and
// the next one restarted instead. True means a wake-up was sent: a
// waiter whose home closes after that never runs either.
func (q *CoQueue) Next(ctx *aio.AioContext) bool {
	for w := q.waiters.pop(); w != nil; w = q.waiters.pop() {
		if wake(ctx, w) {
			return true
		}
	}
	return false
}

// RestartAll restarts every waiter, oldest first, and reports whether
// there was any (QEMU's qemu_co_queue_restart_all). ctx is as for Next.
func (q *CoQueue) RestartAll(ctx *aio.AioContext) bool {
	any := false
	for w := q.waiters.pop(); w != nil; w = q.waiters.pop() {
		if wake(ctx, w) { // a waiter on a closed context is dropped
			any = true
		}
	}
	return any
}

// Empty reports whether no coroutine waits on q (QEMU's
// qemu_co_queue_empty).
func (q *CoQueue) Empty() bool { return q.waiters.head == nil }

// fifo is a FIFO of sleeping waiters' records linked through Self.next,
// guarded by its owner's lock (CoQueue's caller, CoRwlock's mutex): the
// guard orders a push before the pop that reads the links.
type fifo struct {
	head, tail *Self
}

// push appends w.
func (f *fifo) push(w *Self) {
	w.next.Store(nil)
	if f.tail == nil {
		f.head = w
	} else {
		f.tail.next.Store(w)
	}
	f.tail = w
}

// pop takes the oldest waiter off f, or returns nil. Its link is read and
// cleared before the waiter is woken: once woken, it may queue itself
// elsewhere.
func (f *fifo) pop() *Self {
	w := f.head
	if w == nil {
		return nil
	}
	f.head = w.next.Load()
	if f.head == nil {
		f.tail = nil
	}
	w.next.Store(nil)
	return w
}
