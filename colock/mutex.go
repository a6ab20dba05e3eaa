package colock

import (
	"fmt"
	"sync/atomic"

	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/coroutine"
	"github.com/pinbench/pinbench/internal/spinwait"
)

// CoMutex is a mutual-exclusion lock for coroutines on any number of
// contexts: QEMU's thread-safe CoMutex ("coroutine-lock: make CoMutex
// thread-safe", after OSv's lock-free mutex). The zero value is unlocked.
// A CoMutex must not be copied after first use.
//
// The n'th call to Unlock synchronizes before the m'th Lock returns, for
// any n < m, as with sync.Mutex. A coroutine that must wait sleeps in its
// home context and is woken there: the unlocker hands the lock straight to
// the oldest waiter, entering it after the unlocker yields when both share
// a context and scheduling it on its home otherwise. The lock is not
// fair: a coroutine that finds it free takes it before any waiter.
//
// Who may call what: Lock and Unlock only from the body of a coroutine run
// through [Entry], passing its Self, on its home context; any number of
// contexts at once. Unlock only by the coroutine that holds the lock.
// [CoMutex.Locked] and [CoMutex.Stats] from any goroutine.
//
// Lock and Unlock allocate nothing. Uncontended, each is one atomic
// read-modify-write on the mutex's cache line: a compare-and-swap, which
// also records (Lock) or clears (Unlock) the holder's context.
type CoMutex struct {
	// locked is two numbers in one word (see lockWord). Its low half
	// counts the coroutines that hold the lock or are committed to
	// waiting for it (QEMU's mutex->locked): 0 free, 1 held, n > 1 held
	// with n-1 lockers that have announced themselves and are pushing, or
	// have pushed, their waiter record. Its high half is the ID of the
	// holder's context, or of the waiter's the lock is being handed to, or
	// 0 while a new holder has yet to write its own (QEMU's mutex->ctx):
	// a spinning locker on that context stops spinning, since the holder
	// cannot run on its thread while it spins. The word is 0 exactly when
	// the lock is free: whoever takes the count to 0 clears the ID with
	// it, as QEMU's Unlock clears mutex->ctx.
	locked atomic.Uint64
	// handoff is the sequence number an unlocker published when it found
	// no waiter although locked said one was coming, or 0 (QEMU's
	// mutex->handoff). Whoever changes it from that number back to 0 (a
	// locker that has pushed itself, or the unlocker) takes on waking a
	// waiter. See "The handoff" below.
	handoff atomic.Uint32
	// fromPush is the top of the lock-free stack of waiter records, pushed
	// by lockers (QEMU's from_push); toPop the front of the FIFO the popper
	// moved them to, oldest first (QEMU's to_pop). toPop is written only by
	// the popper (see "One popper"); it is atomic because lockers look at
	// it in hasWaiters.
	fromPush atomic.Pointer[Self]
	toPop    atomic.Pointer[Self]
	// holder is the coroutine that holds the lock, set by it once Lock
	// returns and cleared by its Unlock; nil while free or while the lock
	// is on its way to a woken waiter. Plain: only holders write it, and
	// the release before each acquisition synchronizes before it.
	holder *coroutine.Coroutine
	// heldNext is the CoMutex the holder locked before this one and still
	// holds (its Self.locks list, newest first). Plain, holder only, like
	// holder.
	heldNext *CoMutex
	// sequence numbers the handoffs (never 0). Plain, unlockers only, in
	// the order of acquisition, like holder.
	sequence uint32

	// Counters for Stats. The popper adds to wakes and remote; a locker
	// that takes a published handoff adds to picked. Only slow paths
	// touch them; they order nothing (Stats reads them one by one).
	wakes, remote, picked atomic.Uint64
}

// spinRounds bounds the spin of a locker that finds the lock held by a
// coroutine on another context with nobody waiting (QEMU: 1000 rounds of
// cpu_relax): a critical section shorter than a sleep and a wake-up is
// cheaper to wait out. Each round is one spin-wait hint, so the spin lasts
// tens of microseconds at most (the README's "Measurements behind the
// design" has the figure).
const spinRounds = 1000

// where strings for the mark of a sleeping waiter (Self.sleep).
const (
	whereMutex = "colock.CoMutex.Lock"
	whereQueue = "colock.CoQueue.Wait"
	whereRw    = "colock.CoRwlock"
)

// CoMutex's fast-path budget. Uncontended, Lock and Unlock are one
// compare-and-swap of locked each, on the mutex's cache line: Lock's
// writes the count and the holder's context ID at once, and Unlock's
// clears both, so the context costs no store of its own (a separate
// atomic store of it, an exchange on x86-64, cost the 2-context benchmark
// 15%). holder and held are plain fields, and so are the links of the
// holder's list of locks (heldNext, Self.locks: two stores in Lock, a
// compare and a store in Unlock, on lines Lock and Unlock write anyway).
// The counters (wakes, remote, picked) are slow-path only. Do not add an
// atomic operation to Lock's or Unlock's fast path without measuring
// BenchmarkMutex before and after.

// lockWord is locked's value for a count of n, held on the context whose
// ID is id.
func lockWord(n, id uint32) uint64 { return uint64(id)<<32 | uint64(n) }

// lockCount and holderID split a value of locked.
func lockCount(w uint64) uint32 { return uint32(w) }
func holderID(w uint64) uint32  { return uint32(w >> 32) }

// Lock locks m, sleeping in self's home context until the lock is handed
// to it if another coroutine holds it. Call it only from self's body.
func (m *CoMutex) Lock(self *Self) {
	// Compare-and-swap free -> held by us: the uncontended case. It reads
	// the 0 that the compare-and-swap of the Unlock that freed the lock
	// wrote, so that Unlock synchronizes before it, and the previous
	// critical section comes before ours.
	if !m.locked.CompareAndSwap(0, lockWord(1, self.ctxID)) {
		m.lockContended(self)
	}
	m.holder = self.co
	m.heldNext = self.locks
	self.locks = m
	self.held++
}

// lockContended is Lock after its compare-and-swap failed: spin a little,
// then announce ourselves in locked and, unless the lock was freed
// meanwhile, queue and sleep.
func (m *CoMutex) lockContended(self *Self) {
	for range spinRounds {
		// The load only steers the spin (a stale value costs a round,
		// or ends the spin early); the compare-and-swap or the increment
		// below decides, and orders.
		w := m.locked.Load()
		if w == 0 {
			// Freed: retry the uncontended case (it synchronizes as in
			// Lock).
			if m.locked.CompareAndSwap(0, lockWord(1, self.ctxID)) {
				return
			}
			continue
		}
		// Stop when waiters are queued (the lock goes to them, never
		// back to 0, so the spin would be in vain: QEMU spins only while
		// exactly one coroutine holds it) or when the holder runs on our
		// own thread (it cannot release the lock while we spin).
		if lockCount(w) > 1 || holderID(w) == self.ctxID {
			break
		}
		spinwait.Pause()
	}
	// A refused sleep must not leave a count behind (it would keep the
	// mutex locked for good): check before counting ourselves in.
	self.checkAwake(whereMutex)
	// Add (QEMU's fetch_inc): from here on every Unlock that sees more than
	// one in locked knows we are coming. When it returns 1 the lock was
	// free (0) and is ours: the freeing compare-and-swap, whose 0 it read,
	// synchronizes before it. No holder's ID came with it: write ours.
	if m.locked.Add(1) == 1 {
		m.setHolderID(self.ctxID)
		return
	}
	m.lockSlow(self)
}

// lockSlow queues self and sleeps until an Unlock (or a locker that took
// a handoff) wakes it with the lock; or it takes a published handoff and,
// finding itself the oldest waiter, keeps the lock without sleeping.
func (m *CoMutex) lockSlow(self *Self) {
	self.waitMutex = m // for Entry's unwind, should we be ended asleep
	self.sleep(whereMutex)
	m.pushWaiter(self)
	// The "responsibility hand-off" of OSv's lfmutex: an Unlock that found
	// no waiter although locked said one was coming published a handoff
	// number; the locker it was waiting for (us, or another) takes the job
	// of waking a waiter. Load: our push came before it in the total order
	// of atomics, and the unlocker's store of the number came before its
	// look at the waiters (hasWaiters): so either it sees our record, or
	// we see its number. Compare-and-swap: exactly one of the contenders
	// (the unlocker, other lockers) takes a given number.
	if old := m.handoff.Load(); old != 0 && m.hasWaiters() && m.handoff.CompareAndSwap(old, 0) {
		m.picked.Add(1)
		// We are the one popper now (see "One popper"); the queue holds
		// at least our own record.
		for {
			w := m.popWaiter()
			if w == self {
				// The oldest waiter is us: the lock is ours. The
				// unlocker's store of the number, which followed its
				// decrement, synchronizes before our compare-and-swap,
				// which read it. Our claim on ourselves cannot fail:
				// only our home's Close claims us otherwise, and it
				// runs on this thread, which we hold.
				self.co.Claim()
				self.awake()
				m.setHolderID(self.ctxID)
				return
			}
			if m.wake(self.ctx, w) {
				break
			}
			// w never runs (its home closed, or ended it). Take its count off
			// (ours keeps locked above 0) and pop the next one.
			m.release()
		}
	}
	self.co.Yield()
	// Woken by whoever popped us: the lock is ours. The wake went through
	// our home's schedule queue (a push, which synchronizes before the
	// consumer's swap) or, on our own context, through the waker's yield:
	// either way the popper's hand-over, which came after the previous
	// holder's decrement, synchronizes before we run again. (Ended by
	// Close instead, before we ran, we never get here: Entry's unwind
	// passes the lock on; see pass.)
	self.awake()
}

// Unlock unlocks m, handing it to the oldest waiter if there is one. Call
// it only from the body of the coroutine that holds m; anything else
// panics.
func (m *CoMutex) Unlock(self *Self) {
	if m.holder != self.co {
		m.unlockMisuse(self)
	}
	m.holder = nil
	self.held--
	if self.locks == m {
		self.locks = m.heldNext
	} else {
		self.forgetLock(m) // unlocked out of order
	}
	// Compare-and-swap held by us alone -> free (QEMU's fetch_dec when it
	// finds 1): it synchronizes before the compare-and-swap or increment
	// that reads its 0, and so does our critical section. It fails when
	// lockers announced themselves: then take our count off, which leaves
	// the lock held, for a waiter.
	if m.locked.CompareAndSwap(lockWord(1, self.ctxID), 0) || m.release() {
		return
	}
	m.unlockSlow(self)
}

// release takes one count off locked, and the holder's ID with the last
// one, so that a free lock is 0; it reports whether the lock is free now.
// The holder, the popper (see "One popper") and Entry's unwind call it
// for a count that is theirs. Each compare-and-swap synchronizes as the
// decrement of QEMU's Unlock does; a failed one retries with the value
// that beat it (an increment by a new locker, or setHolderID).
func (m *CoMutex) release() (free bool) {
	for {
		w := m.locked.Load()
		next := w - 1
		if lockCount(w) == 1 {
			next = 0
		}
		if m.locked.CompareAndSwap(w, next) {
			return next == 0
		}
	}
}

// setHolderID writes id as the holder's context in locked, leaving the
// count as it is. Only the party the lock is passing to, or the popper
// handing it on, calls it while the count is above 0, so no other write
// of the ID races with it; a failed compare-and-swap retries with the
// value a new locker's increment left.
func (m *CoMutex) setHolderID(id uint32) {
	for {
		w := m.locked.Load()
		if m.locked.CompareAndSwap(w, lockWord(lockCount(w), id)) {
			return
		}
	}
}

// forgetLock takes m, held by self but not the newest of its locks, off
// self's list of locks.
func (s *Self) forgetLock(m *CoMutex) {
	for p := s.locks; p != nil; p = p.heldNext {
		if p.heldNext == m {
			p.heldNext = m.heldNext
			return
		}
	}
}

// pass passes on a lock that was handed to self with a wake-up that never
// ran (self was ended by its home's Close first): as if self had taken
// the lock and unlocked it at once. Entry's unwind calls it, on self's
// home thread.
func (m *CoMutex) pass(self *Self) {
	// The hand-over to self (the popper's wake: a push onto self's home
	// schedule queue, taken by Close's swap before it ended self)
	// synchronizes before this decrement, as before a woken waiter's run;
	// the decrement orders on like Unlock's.
	if m.release() {
		return
	}
	m.unlockSlow(self)
}

// unlockSlow wakes a waiter, or hands the job to a locker that has not
// queued itself yet. The lock stays held (locked > 0) throughout: it
// passes to the coroutine we wake.
func (m *CoMutex) unlockSlow(self *Self) {
	for {
		if w := m.popWaiter(); w != nil {
			if m.wake(self.ctx, w) {
				return
			}
			// w never runs (its home closed, or ended it). Take its count off as
			// if it had taken the lock and unlocked at once (the lock is
			// free when nobody else counted in), and go on.
			if m.release() {
				return
			}
			continue
		}
		// Someone announced themselves (locked was above 1) but has not
		// pushed yet. Publish a fresh handoff number (never 0) for it.
		m.sequence++
		if m.sequence == 0 {
			m.sequence = 1
		}
		seq := m.sequence
		// Store, then the loads of hasWaiters: pairs with the locker's
		// push followed by its load of handoff (lockSlow). In the total
		// order one of us sees the other: if we see no waiter, the
		// locker will see seq and take the job.
		m.handoff.Store(seq)
		if !m.hasWaiters() {
			return
		}
		// A waiter came meanwhile. Take the job back unless a locker
		// took it first (the compare-and-swap fails: they wake someone,
		// and we are done). Sequence numbers, rather than a flag, keep
		// us from taking a later unlocker's number.
		if !m.handoff.CompareAndSwap(seq, 0) {
			return
		}
	}
}

// unlockMisuse panics with the reason Unlock was wrong to call.
func (m *CoMutex) unlockMisuse(self *Self) {
	if m.locked.Load() == 0 {
		panic(fmt.Sprintf("colock: Unlock of CoMutex %p, which is not locked (coroutine %p)", m, self.co))
	}
	if m.holder == nil {
		panic(fmt.Sprintf("colock: Unlock of CoMutex %p by coroutine %p, which does not hold it (it is being handed to a waiter)", m, self.co))
	}
	panic(fmt.Sprintf("colock: Unlock of CoMutex %p by coroutine %p, which does not hold it (coroutine %p does)", m, self.co, m.holder))
}

// wake hands the lock to w, popped off the queue, from a coroutine on ctx
// (QEMU's qemu_co_mutex_wake). It reports false, handing nothing, when w
// will never run: its home closed, or is closing and ended it.
func (m *CoMutex) wake(ctx *aio.AioContext, w *Self) bool {
	// The new holder's context, before it is woken: a coroutine spinning
	// on its thread stops, so that w gets the thread.
	m.setHolderID(w.ctxID)
	if !wake(ctx, w) {
		return false
	}
	m.wakes.Add(1)
	if w.ctx != ctx {
		m.remote.Add(1)
	}
	return true
}

// # The waiter queue
//
// Waiter records (Self) go on a lock-free multi-producer stack, fromPush,
// with compare-and-swap, as aio's schedule queue does; the single popper
// takes the whole stack with one swap when its FIFO, toPop, is empty, and
// reverses it, so waiters are woken oldest first within each batch. Taking
// the whole stack at once is why ABA cannot happen (see the block comment
// above aio's PaddedQueue.Push, in queue.go).
//
// # One popper
//
// popWaiter is never called by two parties at once (QEMU's comment above
// CoWaitRecord). Call "the job" the duty to pop a waiter and wake it. An
// Unlock whose decrement leaves locked > 0 holds the job; it keeps it
// while it pops, and gives it up by publishing a handoff number, or by
// waking a waiter (the job ends). A published number hands the job to
// whoever changes it back to 0 with a compare-and-swap: the unlocker
// itself, or one locker; all others fail. Only the job's holder pops, and
// the job is single: a new Unlock can begin only once the coroutine the
// job woke holds the lock and runs, after that pop. The popper's plain
// accesses (sequence, the links of toPop) are ordered by the same chain:
// decrement, handoff store, compare-and-swap, wake.
//
// # The handoff (why no wake-up is lost)
//
// An unlocker that pops nothing although locked was above 1 knows a locker
// has incremented locked but not pushed yet. It stores a number in handoff
// and then looks at the waiters; the locker pushes and then loads handoff.
// Both pairs are a store followed by a load, and Go's atomics are
// sequentially consistent, so one of the two loads sees the other side's
// store: the unlocker sees the waiter (and takes the job back, unless a
// locker already did), or the locker sees the number (and takes the job,
// unless the unlocker or another locker already did). Whoever takes it
// pops at least the record that made hasWaiters true.

// pushWaiter pushes w's record on the waiter stack. Any locker may call
// it, concurrently.
func (m *CoMutex) pushWaiter(w *Self) {
	old := m.fromPush.Load()
	for {
		// w is private to us until the compare-and-swap publishes it;
		// the link store is seen by whoever takes the stack (their swap
		// reads our compare-and-swap's value).
		w.next.Store(old)
		// Publishes w: pairs with the popper's Swap in popWaiter.
		if m.fromPush.CompareAndSwap(old, w) {
			return
		}
		old = m.fromPush.Load()
	}
}

// popWaiter returns the oldest waiter record, or nil when there is none.
// Only the job's holder may call it (see "One popper").
func (m *CoMutex) popWaiter() *Self {
	w := m.toPop.Load()
	if w == nil {
		// QEMU's move_waiters. A load first: no write to the stack's
		// line when it is empty.
		if m.fromPush.Load() == nil {
			return nil
		}
		// Swap: takes every record pushed so far. It reads the last
		// pusher's compare-and-swap, and the pushes before it form a
		// chain of read-modify-writes, so every pusher's link store
		// synchronizes before the swap: the links are complete.
		top := m.fromPush.Swap(nil)
		for top != nil {
			next := top.next.Load()
			top.next.Store(w)
			w, top = top, next
		}
	}
	// Store: only the popper writes toPop; lockers load it in hasWaiters.
	m.toPop.Store(w.next.Load())
	w.next.Store(nil)
	return w
}

// hasWaiters reports whether any waiter record is queued (QEMU's
// has_waiters). Any party may call it; sequentially consistent loads, on
// which the handoff argument rests. QEMU 7.2's has_waiters reads "either
// list is empty", which keeps an unlocker in its loop until the locker
// shows up; this is the test its callers mean, which lets the unlocker
// leave the job to the locker.
func (m *CoMutex) hasWaiters() bool {
	return m.toPop.Load() != nil || m.fromPush.Load() != nil
}

// Locked reports whether m is held (or being handed to a waiter). Any
// goroutine may call it; the answer may be stale at once.
func (m *CoMutex) Locked() bool { return m.locked.Load() != 0 }

// MutexStats counts a CoMutex's slow paths.
type MutexStats struct {
	// Wakes counts waiters woken with the lock.
	Wakes uint64
	// Remote counts the wakes of a waiter on another context than the
	// waker's: the lock passed between threads through aio.CoSchedule.
	Remote uint64
	// Picked counts handoff numbers taken by a locker rather than by the
	// unlocker that published them (the race the handoff settles).
	Picked uint64
}

// Stats returns m's counters. Any goroutine may call it; the fields are
// read one by one.
func (m *CoMutex) Stats() MutexStats {
	return MutexStats{Wakes: m.wakes.Load(), Remote: m.remote.Load(), Picked: m.picked.Load()}
}
