package aio

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pinbench/pinbench/coroutine"
	"github.com/pinbench/pinbench/internal/schedpass"
)

// AioContext is an event loop owned by one goroutine (QEMU's AioContext):
// bottom halves scheduled from any thread run on the owner, in Poll; a
// sleeping owner is woken by Notify, which costs no system call while the
// owner is awake. Each context carries a coroutine [coroutine.Thread] (the
// enter state of its owner) and a lock-free queue of coroutines scheduled
// to run on it ([CoSchedule]).
//
// Who may call what:
//   - [AioContext.Poll], [AioContext.Checkpoint], [AioContext.Thread]'s
//     methods, and entering coroutines homed here: the owner only, the goroutine that called
//     [NewContext] (for an [IOThread], its locked OS thread). Go has no
//     thread-local "current context", so nothing checks this on the fast
//     path: callers pass the context they are on (see [AioContext.CoWake]).
//   - [AioContext.Notify], [AioContext.NewBH], [BH] methods, [OneShot],
//     [CoSchedule], [AioContext.SetPollParams], [AioContext.SetWaitMode],
//     [AioContext.Stats]: any goroutine, concurrently.
//   - [AioContext.Close]: the owner, once, when it will poll no more. From
//     then on the context is dead: scheduling work on it panics with a
//     sentence naming it (or returns an error where the API has one), and
//     Close reports the work that was still queued instead of dropping it.
//
// The owner of a context made for an [IOThread] is checked on Poll, on
// Checkpoint and on every coroutine entry (a misuse panics with a sentence, before the
// runtime's uncatchable throw); one made by [NewContext] cannot be, as its
// goroutine may move between OS threads.
type AioContext struct {
	// --- The notify line: the handshake between notifiers and a sleeping
	// owner. Both sides read and write it, so it sits alone.
	_ [CacheLinePad]byte
	// notified: a notifier has made work visible since the owner last
	// accepted (QEMU's ctx->notified). Set by Notify, cleared by the owner
	// in Poll before it looks for work.
	notified atomic.Bool
	// notifyMe: non-zero while the owner is about to sleep or sleeping in
	// the kernel, so Notify must wake it (QEMU's ctx->notify_me; QEMU adds
	// 2 per poller because bit 0 belongs to glib's prepare; here only the
	// owner polls, so it counts in ones). Written only by the owner.
	notifyMe atomic.Int32
	// event is the futex word the owner sleeps on (the eventfd of QEMU's
	// ctx->notifier): 1 once a notifier kicked the sleeper, back to 0 when
	// the owner consumes the kick.
	event atomic.Uint32
	// wakes counts the futex wakes notifiers issued (system calls).
	wakes atomic.Uint64
	_     [CacheLinePad]byte

	// bhs holds the scheduled bottom halves (QEMU's ctx->bh_list); its head
	// is padded inside the queue.
	bhs Queue[BH]
	// sched holds the coroutines scheduled to run here (QEMU's
	// ctx->scheduled_coroutines).
	sched Queue[coroutine.Coroutine]

	// --- Set at construction, read-only afterwards.
	thread  *coroutine.Thread
	enterFn func(*coroutine.Coroutine) // c.enterScheduled, bound once
	name    string                     // for messages: "iothread 1234 on CPUs 2"
	id      uint32                     // ID's number

	// --- Owner only.
	// bhSlices are the bottom-half lists taken by the bhPoll calls in
	// progress, oldest first, each advanced as its BHs run (QEMU's
	// bh_slice_list; see bhPoll). Empty outside bhPoll.
	bhSlices []*BH
	// closed is set by Close (the owner); Poll refuses a closed context.
	// Atomic only so that a misplaced call on another thread reads it
	// without a race; a plain load on x86-64.
	closed atomic.Bool
	// pacer passes the owner through Go's scheduler every few
	// milliseconds, before a sleep or at a Checkpoint (see package
	// schedpass for why a locked thread needs it).
	pacer schedpass.Pacer

	// --- Owner-written state and counters; atomic only so that Stats may
	// read them from other goroutines.
	pollNs atomic.Int64  // the adaptive window now (QEMU's ctx->poll_ns)
	sleeps atomic.Uint64 // kernel waits entered
	polls  atomic.Uint64 // blocking waits that busy-polling ended, published
	bhRuns atomic.Uint64 // bottom-half callbacks run
	passes atomic.Uint64 // passes through Go's scheduler (pacer)
	// pollsPending counts waits that polling ended since polls was last
	// published. Plain, owner only: a wait that finds work ends on the
	// handoff's critical path, where an atomic add (a locked instruction)
	// would delay the work it found, so the owner adds the count to polls
	// later, when it waits again or before it runs a bottom half.
	pollsPending uint64
	// schedRunsPending counts runs of the schedule-BH on Poll's fast path
	// (no other BH due) since bhRuns was last published; plain, owner
	// only, for the same reason as pollsPending.
	schedRunsPending uint64
	_                [CacheLinePad]byte

	// --- Settings: written rarely from any goroutine, read by the owner
	// on every wait. A change also notifies the owner so that a busy-poll
	// or sleep in progress picks it up.
	waitMode   atomic.Int32
	pollMaxNs  atomic.Int64
	pollGrow   atomic.Int64
	pollShrink atomic.Int64

	// modeMu serialises wait-mode changes with the busy-poll reservation
	// and with Close. busyReserved: this context holds one of the
	// busy-polling slots (it is in WaitPoll); modeClosed: Close ran, so
	// the mode may not change any more. Not on any wake path.
	modeMu       sync.Mutex
	busyReserved bool
	modeClosed   bool

	// --- Execution tracing (trace.go); touched only while tracing is on.
	// traceLabel names the context in trace events: its name, with the
	// CPUs for an iothread's. Set at construction, read-only afterwards.
	traceLabel string
	// trace is the context's trace task, created by the first trace point
	// that fires (any goroutine) and published by compare-and-swap.
	trace atomic.Pointer[traceTask]
}

// NewContext returns a context owned by the calling goroutine: only that
// goroutine may Poll it and enter its coroutines. For an [IOThread] it is
// a goroutine locked to its OS thread; a context owned by an unlocked
// goroutine works too (tests), as long as that goroutine is the only
// poller. The wait mode starts as [WaitAdaptive] with QEMU's defaults.
func NewContext() *AioContext {
	return newContext(coroutine.NewThread(), "")
}

// newContext returns a context whose owner's coroutine state is thread
// (coroutine.NewLockedThread for an iothread, so that the owner is
// checked), named name (a default naming its address when empty).
func newContext(thread *coroutine.Thread, name string) *AioContext {
	c := &AioContext{thread: thread, id: nextContextID()}
	if name == "" {
		name = fmt.Sprintf("context %p", c)
	}
	c.name = name
	c.traceLabel = name
	c.bhs.Init(bhLink)
	c.sched.Init((*coroutine.Coroutine).SchedLink)
	c.enterFn = c.enterScheduled
	c.pollMaxNs.Store(DefaultPollMaxNs)
	return c
}

// String names the context, for messages: "iothread 1234 on CPUs 2-3" for
// an iothread's.
func (c *AioContext) String() string { return c.name }

// ID returns a number that tells c from the other contexts of the process,
// for a lock to record a holder's context in one word with its count: never
// 0, and unique until 2^32-1 contexts have been made, when the numbers
// start again. Any goroutine may call it.
func (c *AioContext) ID() uint32 { return c.id }

// contextIDs counts the contexts made (ID).
var contextIDs atomic.Uint32

// nextContextID returns the next context's ID, skipping 0 when the count
// wraps.
func nextContextID() uint32 {
	for {
		if id := contextIDs.Add(1); id != 0 {
			return id
		}
	}
}

// Close marks the context dead and cleans up after it (QEMU's
// aio_context_finalize). Only the owner may call it, once it will poll no
// more; a second call returns nil. From then on every schedule onto the
// context fails (see the type's doc). Work that was still queued is not
// run but reported: the returned error names each bottom half (its
// callback) and each coroutine (where it was scheduled). Coroutines among
// it that were suspended in Yield are destroyed, so that their goroutines
// end; so are the coroutines homed here asleep waiting for a wake-up
// (coroutine.Sleep: a waiter on a lock or a queue), which nothing can
// wake any more, and the error names each ("asleep in '<where>'"). The
// finished coroutines parked in the owner's pool are stopped. Coroutines
// suspended in a plain Yield and scheduled nowhere keep their goroutines:
// finish them, or end them with c.Thread().Destroy, first.
func (c *AioContext) Close() error {
	if c.closed.Load() {
		return nil
	}
	if !c.thread.OnOwner() {
		panic(fmt.Sprintf("aio: Close of %s called on OS thread %d, not by its owner", c, unixGettid()))
	}
	if co := c.thread.Current(); co != nil {
		// The schedule-BH's batch (and a nested poll's) is in flight on
		// this stack, where Close cannot reach it.
		panic(fmt.Sprintf("aio: Close of %s called from inside coroutine %p: close a context from its owner's loop, outside any coroutine", c, co))
	}
	return c.closeNow()
}

// closeNow is Close after its checks. An iothread whose loop ended
// abnormally calls it directly: a runtime.Goexit inside a coroutine leaves
// that coroutine as the Thread's current one, and no batch is in flight
// any more.
func (c *AioContext) closeNow() error {
	if c.closed.Load() {
		return nil // closed by its owner already
	}
	c.closed.Store(true)
	var leaks []string
	// Close both queues first: from here on every push fails, so what
	// the two lists hold is all the work that will never run.
	bhs, cos := c.bhs.Close(), c.sched.Close()
	for _, head := range append(c.bhSlices, bhs) { // slices: Close inside a bottom half
		for b := head; b != nil; {
			next := b.next.Load()
			b.next.Store(nil)
			// And: takes b off the queue for good, as bhPoll does.
			old := b.flags.And(^(bhPending | bhScheduled))
			if old&(bhScheduled|bhDeleted) == bhScheduled {
				if b.dropped != nil {
					b.dropped(fmt.Errorf("aio: %s was closed before the bottom half ran", c))
				} else {
					leaks = append(leaks, "bottom half "+b.name())
				}
			}
			b = next
		}
	}
	c.bhSlices = c.bhSlices[:0]
	for co := cos; co != nil; {
		next := co.SchedLink().Load()
		co.SchedLink().Store(nil)
		where, _ := co.Scheduled()
		co.ClearScheduled()
		leak := fmt.Sprintf("coroutine %p scheduled in '%s'", co, where)
		if err := c.destroy(co); err != nil {
			leak += fmt.Sprintf(" (destroying it: %v)", err)
		}
		leaks = append(leaks, leak)
		co = next
	}
	leaks = append(leaks, c.endSleepers()...)
	c.thread.Close()
	c.thread.Retire() // no later thread is mistaken for this owner
	c.modeMu.Lock()
	c.modeClosed = true
	if c.busyReserved {
		releaseBusy()
		c.busyReserved = false
	}
	c.modeMu.Unlock()
	c.publishCounts()
	c.endTrace()
	if len(leaks) > 0 {
		return fmt.Errorf("aio: %s closed with work that never ran: %s", c, strings.Join(leaks, "; "))
	}
	return nil
}

// endSleepers ends the coroutines homed here that are asleep waiting for
// a wake-up (see Close), oldest first, and names each. Owner only, after
// the schedule queue closed: from then on no waker can hand a sleeper to
// this context, so each one is either claimed by us, or claimed by a waker
// whose push is failing and that gives it back (coroutine.Unclaim) at once.
// Ending one may let its body hand a lock on to another; a sleeper homed
// here is refused that (TryCoWake on a closing context) and stays asleep
// for its turn, and the loop takes any that joined meanwhile.
func (c *AioContext) endSleepers() []string {
	var leaks []string
	for list := c.thread.TakeSleepers(); len(list) > 0; list = c.thread.TakeSleepers() {
		for _, co := range list {
			leaks = append(leaks, c.endSleeper(co))
		}
	}
	return leaks
}

// sleeperClaimLimit bounds endSleeper's wait for a waker on another thread
// that claimed a sleeper and has not given it back yet (a few instructions,
// unless that thread is preempted).
const sleeperClaimLimit = time.Second

// endSleeper claims co, a sleeper homed here, and destroys it, returning
// the sentence that names it for Close's report.
func (c *AioContext) endSleeper(co *coroutine.Coroutine) string {
	leak := fmt.Sprintf("coroutine %p asleep in '%s'", co, co.SleepWhere())
	deadline := time.Now().Add(sleeperClaimLimit)
	// Claim's compare-and-swap reads Sleep's, or the Unclaim of a waker
	// whose wake-up failed, which synchronize before it: what that waker
	// wrote before giving co back (that it handed co nothing) is seen by
	// co's body as it unwinds in destroy.
	for !co.Claim() {
		if time.Now().After(deadline) {
			return leak + fmt.Sprintf(" (a waker kept it claimed for %v; left parked)", sleeperClaimLimit)
		}
		runtime.Gosched()
	}
	if err := c.destroy(co); err != nil {
		leak += fmt.Sprintf(" (destroying it: %v)", err)
	}
	return leak
}

// destroy ends a coroutine that will never run (see Close): suspended or
// never entered, it is destroyed so that its goroutine, if any, ends. A
// panic raised while its body unwinds is returned, not raised: Close must
// finish.
func (c *AioContext) destroy(co *coroutine.Coroutine) (err error) {
	if co.Finished() {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	c.thread.Destroy(co)
	return nil
}

// Closed reports whether the context has been closed (its iothread
// joined). Any goroutine may call it; once true it stays true.
func (c *AioContext) Closed() bool { return c.bhs.Closed() }

// Thread returns the coroutine enter state of the context's owner. Only
// the owner may call its methods.
func (c *AioContext) Thread() *coroutine.Thread { return c.thread }

// ContextStats are a context's counters, for benchmarks (wakeups/op) and
// tests.
type ContextStats struct {
	// Wakes counts futex wakes issued by Notify: system calls made to wake
	// a sleeping owner.
	Wakes uint64
	// Sleeps counts the owner's futex waits.
	Sleeps uint64
	// Polls counts blocking waits that busy-polling ended without a sleep.
	Polls uint64
	// BHRuns counts bottom-half callbacks run (the schedule-BH included).
	//
	// The owner publishes Polls, and BHRuns' schedule-BH runs, when it
	// next waits and before it runs a bottom half, so they may lag by
	// what happened since: they are exact for a caller that synchronized
	// with the owner through a bottom half (IOThread.Run).
	BHRuns uint64
	// PollNs is the adaptive window now, in nanoseconds.
	PollNs int64
	// Passes counts the owner's passes through Go's scheduler, before a
	// sleep or at a Checkpoint (see package aio's doc).
	Passes uint64
}

// Stats returns the context's counters. Any goroutine may call it; the
// fields are read one by one, not as a snapshot.
func (c *AioContext) Stats() ContextStats {
	return ContextStats{
		Wakes:  c.wakes.Load(),
		Sleeps: c.sleeps.Load(),
		Polls:  c.polls.Load(),
		BHRuns: c.bhRuns.Load(),
		PollNs: c.pollNs.Load(),
		Passes: c.passes.Load(),
	}
}
