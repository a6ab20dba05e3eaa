// Package aio ports QEMU's AioContext machinery that the seed patch ("aio:
// introduce aio_co_schedule") builds on: event loops with bottom halves,
// the cache-line-padded lock-free schedule queue, cross-thread coroutine
// scheduling, and pinned iothreads.
//
// # Pieces
//
//   - [PaddedQueue] ([Queue], [Queue64]): an intrusive lock-free
//     multi-producer, single-consumer queue. Producers push onto a LIFO
//     with compare-and-swap; the consumer takes the whole list with one
//     swap and reverses it into FIFO. Its head sits alone between two pads
//     of [CacheLinePad] (128) or 64 bytes.
//   - [AioContext]: an event loop owned by one goroutine. [BH] bottom
//     halves scheduled from any goroutine run on the owner in
//     [AioContext.Poll]. The owner waits on a futex (never a Go channel or
//     mutex: waking a goroutine locked to its thread through one makes the
//     runtime hand its P over, which costs microseconds) after an optional
//     busy-poll ([WaitMode], QEMU's adaptive polling), and
//     [AioContext.Notify] skips the system call while the owner is awake
//     (QEMU's notify_me and notified). Before it sleeps, and at
//     [AioContext.Checkpoint] in a long coroutine loop, the owner passes
//     through Go's scheduler every few milliseconds, or the runtime would
//     take a locked thread's P at every sleep (internal/schedpass).
//   - [CoSchedule], [AioContext.CoWake]: QEMU's aio_co_schedule and
//     aio_co_wake. A coroutine is entered only by its home context's owner,
//     on that context's [coroutine.Thread]; other threads reach it through
//     the home context's schedule queue, drained in FIFO order by the
//     schedule-BH, which is built into Poll (see schedule.go).
//   - [IOThread]: a goroutine locked to its own OS thread, pinned to a CPU
//     set through affinity.PinThread, that runs Poll(true) on its context
//     until Join; [IOThread.Run] runs a function there synchronously.
//   - [Event]: QEMU's QemuEvent on a futex, the thread-to-thread wait used
//     by Run, Join and the tests.
//   - Execution tracing (runtime/trace): the seed's two trace points,
//     aio_co_schedule and aio_schedule_bh_cb, as logs; regions around each
//     schedule-BH run, bottom-half batch and futex sleep; a task per
//     context named by [AioContext.TraceLabel]. Off, each costs one
//     trace.IsEnabled branch (see trace.go).
//
// QEMU's test-aio-multithread "schedule" workload lives in
// internal/randsched, and the thread CPU clocks in internal/threadclock:
// tests and benchmarks use them; an event loop's users do not.
//
// # The current context is explicit
//
// QEMU finds the current AioContext and coroutine in thread-locals. Go has
// no goroutine- or thread-local storage (and asking the kernel for the
// thread id is a system call per switch), so here:
//
//   - an iothread knows its context ([IOThread.Context]), and a coroutine
//     its home ([coroutine.Coroutine.Home], set by
//     [AioContext.NewCoroutine] or SetHome);
//   - a coroutine's entry function receives its own handle;
//   - [AioContext.CoWake] is a method of the caller's context (nil for a
//     caller on none), which decides between entering at once, entering
//     after the caller yields, and scheduling.
//
// # Who may call what
//
// Each concurrent type's doc says it; in short: Push, Schedule, Notify,
// OneShot, CoSchedule, the Set/Stats methods and IOThread methods from any
// goroutine; Poll, Checkpoint, TakeAll/Drain of a context's queues, Close,
// and entering a context's coroutines only on its owner. An iothread's
// context checks its owner on Poll, on Checkpoint and on every coroutine
// entry, and panics with a sentence instead of letting the runtime throw.
//
// # Lifecycle
//
// A context dies when its owner closes it ([AioContext.Close]; an
// iothread's loop does so as it ends, however it ends). From then on
// scheduling onto it panics with a sentence naming the context and the
// caller ([IOThread.Run] and [AioContext.SetWaitMode] return an error
// instead), and the work still queued is reported rather than dropped:
// [IOThread.Join] returns it as an error. No wait in the package is
// unbounded: Join fails after [JoinTimeout] when the iothread does not
// stop, naming it.
//
// # Memory ordering
//
// Go's sync/atomic operations are sequentially consistent, and the docs
// here say what synchronizes before what, in the Go memory model's terms:
// a push (Push, CoSchedule, BH.Schedule, OneShot) synchronizes before the
// owner's run of the work it pushed, and work published with an atomic
// operation before [AioContext.Notify] is seen by the owner's next look
// for work. The proofs are block comments beside the code: every atomic
// operation names the one it pairs with, as QEMU's async.c names the
// barrier each barrier pairs with, and wait.go's "The notify handshake"
// holds the argument that no wake-up is lost between a notifier and a
// sleeping owner.
//
// # Fast-path budgets
//
// queue.go and schedule.go write down how many atomic read-modify-writes a
// push, a take and a CoSchedule cost (one compare-and-swap per push; two
// per CoSchedule onto an awake owner). Do not add one without measuring
// the handoff benchmarks before and after.
//
// # Tests and benchmarks
//
//	go test -race ./aio                 # quick: 1 s schedule test, short stress
//	go test -race ./aio -args -long     # 10 s schedule test, long stress
//	go test -run '^$' -bench . ./aio    # queue, Notify, BH and CoSchedule costs
package aio
