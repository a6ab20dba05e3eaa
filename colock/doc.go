// Package colock ports QEMU's coroutine locks (util/qemu-coroutine-lock.c)
// onto aio's contexts: [CoQueue], a queue of sleeping coroutines; [CoMutex],
// QEMU's thread-safe CoMutex; and [CoRwlock], its readers-writer lock. They
// are what aio.CoSchedule is for: a coroutine that blocks on one of them
// sleeps in its home context, and whoever wakes it does so through
// aio.(*AioContext).CoWake (QEMU's aio_co_wake), which enters it directly
// when the waker runs there and schedules it on its home context otherwise.
// A coroutine therefore never leaves its home thread while it waits.
//
// # The current coroutine is explicit
//
// QEMU's locks find the current coroutine and context in thread-locals. Go
// has none, so a coroutine that takes these locks runs its body through
// [Entry], which hands it a [*Self]: the coroutine, its home context, the
// number of locks it holds, and the link that queues it while it sleeps.
// Keeping the waiter's record in Self, allocated once per coroutine run,
// is what lets Lock and Unlock allocate nothing (QEMU keeps the record on
// the waiter's stack, which Go would move to the heap on every wait).
//
// # Misuse
//
// Misuse panics with a sentence that starts with "colock: ": unlocking a
// mutex that is not locked, unlocking one that another coroutine holds,
// Unlock, Downgrade or Upgrade of a CoRwlock by a coroutine that does not
// hold it so (each Self records its rwlock holds), and a stray wake of a
// coroutine asleep on a lock (a sleeping waiter is marked scheduled "in"
// the lock, so aio.CoSchedule or CoWake of it panics naming the lock
// instead of corrupting its queue). A refused call leaves the lock as it
// was.
//
// # No lock is lost with its holder
//
// A coroutine whose body returns holding a lock panics naming the locks,
// as QEMU asserts locks_held == 0 when a coroutine terminates; one whose
// body panics holding a CoMutex panics on with a [*HeldPanic] that names
// the locks and wraps the original value. Either way Entry releases every
// CoMutex the coroutine held first: each goes to its oldest waiter that
// can still run, or is unlocked. (A CoRwlock hold is named, not released:
// releasing one may sleep.)
//
// # Waiters on a closed context
//
// A coroutine asleep on a lock or queue is recorded among its home's
// sleepers (coroutine.Sleep). When its home context closes (its iothread
// is joined) it will never run: Close ends it (its goroutine ends) and
// names it in the error Join returns ("asleep in 'colock.CoMutex.Lock'"),
// and a waker that pops it later finds it ended and passes the lock on to
// the next waiter, or frees it. The wake-up and the close settle who ends
// the sleep with one compare-and-swap each (coroutine.Claim): exactly one
// wins. A waiter that was handed the lock but ended by Close before it
// ran (the wake-up reached its home after the stop request) passes the
// lock on as it unwinds. Only a CoRwlock ticket served to a waiter ended
// that way stays counted: wake or finish a context's rwlock waiters
// before closing it.
//
// # Tests and benchmarks
//
//	go test -race ./colock                # QEMU's /aio/multi/mutex tests, 1 s each
//	go test ./colock -args -long          # 10 s each, as QEMU's slow mode, and TestCoQueueStress
package colock
