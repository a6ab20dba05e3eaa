// Package coroutine provides coroutines with QEMU's semantics (create, enter,
// yield, self, home context), built on the Go runtime's own coroutines
// (iter.Pull: a direct switch between goroutines, no scheduler involved).
//
// # Model
//
// A [Coroutine] runs an entry function ([Func]) that receives its own handle,
// because Go has no thread-local "current coroutine" (QEMU's
// qemu_coroutine_self). [Thread.Enter] runs a coroutine on the calling thread
// until it yields or returns, the caller blocked meanwhile; [Coroutine.Yield]
// returns control to whoever entered it. A coroutine may enter another
// (nesting): the inner one's Yield returns to the outer one's body.
//
// # Explicit threads instead of thread-locals
//
// QEMU keeps the current coroutine, the coroutine pool and the wake-up
// processing in thread-locals. Go has neither goroutine- nor thread-local
// storage, and asking the kernel for the thread id (gettid) would cost a
// system call per switch, so that state lives in an explicit [Thread],
// created by [NewThread] on the goroutine that owns it (normally one locked
// to its OS thread, such as an event loop's iothread). Identity is the
// *Thread pointer.
//
// A coroutine's home Thread is the one it is first entered on: its runtime
// coroutine (the iter.Pull pair) is created lazily by that first Enter, so it
// belongs to the OS thread it first ran on. The runtime throws ("coro: OS
// thread locking must match locking at coroutine creation") if a coroutine
// made on a locked thread is resumed on another thread or with another lock
// count; this package catches that misuse first: entering a coroutine on any
// Thread but its home one panics with a sentence, and a Thread made by
// [NewLockedThread] also refuses every call from another OS thread (it
// compares the caller's thread with its owner's, a few nanoseconds per
// call). Cross-thread wake-ups go through the home context's queue
// (QEMU's aio_co_schedule), exactly QEMU's rule.
//
// One misuse cannot be caught: a coroutine body that calls
// runtime.LockOSThread itself (or anything that does, such as
// affinity.PinThread on a thread that did not forbid it) and then yields.
// Go exposes no way to read a goroutine's lock count, so the throw at the
// next switch stands; re-pin such a thread from its own goroutine with
// affinity.RepinLocked, which leaves the lock count alone.
//
// # Who may call what
//
//   - [NewThread], [NewLockedThread]: on the goroutine that will own the
//     Thread. A goroutine locked to its OS thread uses NewLockedThread, after
//     locking, and keeps the same lock count whenever it calls Enter.
//   - Thread methods (New, Enter, Current, WakeAfterYield, Destroy, Close,
//     SetPoolSize, Stats): only from the owning goroutine, which includes the
//     bodies of coroutines it enters (they run on that goroutine's thread, one
//     at a time).
//   - [New]: from any goroutine; the coroutine is handed to its home thread
//     through some synchronising channel (its home context's schedule
//     queue, typically).
//   - [Coroutine.Yield]: only from inside that coroutine's own body.
//   - [Coroutine.Finished], [Coroutine.Home], [Coroutine.SetHome],
//     [Coroutine.HomeThread]: by whoever currently owns the coroutine (its
//     home thread, or the goroutine that made it before handing it over).
//   - [Coroutine.SchedLink], [Coroutine.MarkScheduled],
//     [Coroutine.ClearScheduled], [Coroutine.Scheduled]: from any thread;
//     a ClearScheduled synchronizes before the next winning MarkScheduled.
//   - [Coroutine.Sleep], [Coroutine.Awake]: only the coroutine's own body;
//     [Coroutine.Claim] and [Coroutine.Unclaim]: its waker, from any
//     thread; [Thread.TakeSleepers], [Coroutine.SleepWhere] and
//     [Coroutine.Destroying]: the home Thread's owner (sleep.go says how
//     exactly one party ends a sleep).
//
// # Pool
//
// As in QEMU, a finished coroutine goes back to its home Thread's pool (at
// most [DefaultPoolSize] by default), and [Thread.New] hands it out again, so
// create-enter-finish reuses the parked runtime coroutine (its goroutine and
// stack) instead of starting a new one: the pulled function loops, running
// one entry function after another. Like a freed QEMU Coroutine, a handle
// must not be used after its coroutine finished once the next New on that
// Thread may have reused it; Finished is reliable until then. A coroutine
// that panicked, or that finished while still marked scheduled, never goes
// back to the pool, so a late Enter on it panics ("entering a finished
// coroutine") instead of running a stranger.
//
// [Thread.Close] stops the pooled runtime coroutines so that their
// goroutines end; call it before the owning goroutine ends. A coroutine
// suspended forever in Yield keeps its goroutine parked: finish it, or end
// it with [Thread.Destroy].
//
// # Panics
//
// Misuse panics with a sentence that starts with "coroutine: ": entering a
// running coroutine ("re-entered recursively"), entering a finished one,
// entering one on a Thread other than its home, entering one that is marked
// scheduled or queued for a wake-up, destroying one that is, calling a
// locked Thread's methods from another OS thread, yielding from outside the
// coroutine's body. A panic inside a body reaches its enterer: Enter panics
// again with the original value, after restoring the Thread (its current
// coroutine is the enterer again) and marking the coroutine finished; the
// Thread stays usable. The coroutines that the panicking one woke
// (WakeAfterYield) are entered first, as if it had finished: a wake-up may
// carry a lock handed to the woken coroutine. If one of those panics in
// turn, the wake-ups queued behind it are not entered (they are forgotten,
// so they may be woken again: whoever recovers must wake them), and the
// first panic goes on. The original stack trace is lost at that
// point (as with iter.Pull). runtime.Goexit
// inside a body ends the enterer's goroutine too (iter.Pull propagates it),
// and with it the Thread.
//
// # Benchmarks
//
// BenchmarkEnterYield/via=coroutine against /via=iterpull measures one
// enter+yield round trip against a bare iter.Pull next on the same thread
// (target: at most 1.25x, zero allocations); /via=iterpullcall, the bare
// next behind one call frame, is the floor for any Enter that the
// compiler cannot inline, as it cannot inline Enter (the benchmark's doc
// says why). BenchmarkLifecycle/pool=on
// against /pool=off measures create-enter-finish with and without the pool
// (target: at most 0.5x). Both run on a locked thread (thread=locked, as an
// iothread) and an unlocked one. Enter and Yield add no atomic
// read-modify-write to the runtime's switch: thread.go writes that budget
// down. Compare inside one run:
//
//	go test -run '^$' -bench . -count 6 ./coroutine >coroutine.txt
//	go tool benchstat -filter .name:EnterYield -col /via coroutine.txt
//	go tool benchstat -filter .name:Lifecycle -col /pool coroutine.txt
package coroutine
