package aio

import (
	"fmt"
	"runtime"
	"runtime/trace"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pinbench/pinbench/coroutine"
	"github.com/pinbench/pinbench/internal/spinwait"
)

// WaitMode says how the owner of an [AioContext] waits in a blocking
// [AioContext.Poll] when there is nothing to do.
type WaitMode int32

const (
	// WaitAdaptive busy-polls for the adaptive window, then sleeps in the
	// kernel: QEMU's iothread polling (see [AioContext.SetPollParams]).
	WaitAdaptive WaitMode = iota
	// WaitPoll busy-polls until there is work and never sleeps, so Notify
	// never needs a system call. It keeps a CPU (and a Go P) busy: GOMAXPROCS
	// must exceed the number of contexts polled this way.
	WaitPoll
	// WaitBlock sleeps in the kernel at once, without busy-polling.
	WaitBlock
)

var waitModeNames = [...]string{WaitAdaptive: "adaptive", WaitPoll: "poll", WaitBlock: "block"}

// String returns the mode's name as benchmark keys spell it (wait=poll).
func (m WaitMode) String() string {
	if m >= 0 && int(m) < len(waitModeNames) {
		return waitModeNames[m]
	}
	return fmt.Sprintf("WaitMode(%d)", int32(m))
}

// ParseWaitMode returns the mode named s: "adaptive", "poll" or "block".
func ParseWaitMode(s string) (WaitMode, error) {
	for m, name := range waitModeNames {
		if s == name {
			return WaitMode(m), nil
		}
	}
	return 0, fmt.Errorf("aio: unknown wait mode %q (want adaptive, poll or block)", s)
}

// Adaptive polling defaults, as QEMU's iothreads have them.
const (
	// DefaultPollMaxNs is the longest busy-poll window (QEMU's
	// poll-max-ns default, 32768 ns).
	DefaultPollMaxNs = 32768
	// PollStartNs is the window the first growth starts at (QEMU: "start
	// polling at 4 microseconds").
	PollStartNs = 4000
	// DefaultPollGrow is the growth factor used when grow is 0 (x2).
	DefaultPollGrow = 2
)

// AioContext is an event loop owned by one goroutine (QEMU's AioContext):
// bottom halves scheduled from any thread run on the owner, in Poll; a
// sleeping owner is woken by Notify, which costs no system call while the
// owner is awake. Each context carries a coroutine [coroutine.Thread] (the
// enter state of its owner) and a lock-free queue of coroutines scheduled
// to run on it ([CoSchedule]).
//
// Who may call what:
//   - [AioContext.Poll], [AioContext.Thread]'s methods, and entering
//     coroutines homed here: the owner only, the goroutine that called
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
// The owner of a context made for an [IOThread] is checked on Poll and on
// every coroutine entry (a misuse panics with a sentence, before the
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

	// --- Owner only.
	// bhSlices are the bottom-half lists taken by the bhPoll calls in
	// progress, oldest first, each advanced as its BHs run (QEMU's
	// bh_slice_list; see bhPoll). Empty outside bhPoll.
	bhSlices []*BH
	// closed is set by Close (the owner); Poll refuses a closed context.
	// Atomic only so that a misplaced call on another thread reads it
	// without a race; a plain load on x86-64.
	closed atomic.Bool

	// --- Owner-written state and counters; atomic only so that Stats may
	// read them from other goroutines.
	pollNs atomic.Int64  // the adaptive window now (QEMU's ctx->poll_ns)
	sleeps atomic.Uint64 // kernel waits entered
	polls  atomic.Uint64 // blocking waits that busy-polling ended, published
	bhRuns atomic.Uint64 // bottom-half callbacks run
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
	c := &AioContext{thread: thread}
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

// Close marks the context dead and cleans up after it (QEMU's
// aio_context_finalize). Only the owner may call it, once it will poll no
// more; a second call returns nil. From then on every schedule onto the
// context fails (see the type's doc). Work that was still queued is not
// run but reported: the returned error names each bottom half (its
// callback) and each coroutine (where it was scheduled). Coroutines among
// it that were suspended in Yield are destroyed, so that their goroutines
// end; the finished coroutines parked in the owner's pool are stopped.
// Coroutines suspended in Yield and scheduled nowhere keep their
// goroutines: finish them, or end them with c.Thread().Destroy, first.
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
	// call; the owner's futexWait on 0 returns at once while it is 1. The
	// owner moves it back to 0 and rereads notified before sleeping again
	// (see wait), so a kick is never consumed without the owner seeing the
	// notified flag that came before it.
	if c.event.Swap(1) == 0 {
		c.wakes.Add(1)
		futexWake(&c.event, 1)
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
		c.pollMisuse()
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

// pollMisuse panics with the sentence for a Poll on a closed context or
// from a goroutine that does not own it.
func (c *AioContext) pollMisuse() {
	if c.closed.Load() {
		panic(fmt.Sprintf("aio: Poll of %s after Close", c))
	}
	panic(fmt.Sprintf("aio: Poll of %s called on OS thread %d, but its owner is OS thread %d (only the owner polls a context)",
		c, unixGettid(), c.thread.Owner()))
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
	if window > 0 && c.spin(window) {
		c.pollsPending++
	} else {
		c.sleep()
	}
	c.adjustPoll(int64(time.Since(start)), maxNs)
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

// sleep waits in the kernel until notified is set.
func (c *AioContext) sleep() {
	if trace.IsEnabled() {
		c.sleepTraced()
		return
	}
	c.futexSleep()
}

// futexSleep is sleep's wait on the event futex.
func (c *AioContext) futexSleep() {
	// Announce the sleep before the last look at notified: the notify
	// handshake, point 1 (QEMU: "Write ctx->notify_me before reading
	// ctx->notified").
	c.notifyMe.Add(1)
	for !c.hasWork() {
		c.sleeps.Add(1)
		// Sleeps only while the word is 0; a kick sets it to 1 (before or
		// during the sleep) and wakes us.
		futexWait(&c.event, 0, -1)
		// Consume the kick before rereading notified, so that a kick
		// arriving later sets the word again and the next futexWait
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

// SetPollParams sets the adaptive polling parameters at run time (QEMU's
// poll-max-ns, poll-grow, poll-shrink): busy-poll at most maxNs
// nanoseconds before sleeping (0 turns polling off), multiply the window
// by grow after a short sleep (0 means x2), divide it by shrink after a
// sleep longer than maxNs (0 means drop to 0). The window restarts from 0.
// Negative values are an error. Any goroutine may call it; the owner picks
// the change up at its next wait.
func (c *AioContext) SetPollParams(maxNs, grow, shrink int64) error {
	if maxNs < 0 || grow < 0 || shrink < 0 {
		return fmt.Errorf("aio: poll parameters must not be negative (max-ns %d, grow %d, shrink %d)", maxNs, grow, shrink)
	}
	c.pollMaxNs.Store(maxNs)
	c.pollGrow.Store(grow)
	c.pollShrink.Store(shrink)
	// Best effort: the owner may overwrite this with an adjustment of the
	// old window, which wait clamps to the new maximum anyway.
	c.pollNs.Store(0)
	c.Notify()
	return nil
}

// PollParams returns the adaptive polling parameters. Any goroutine may
// call it; the three are read one by one, not as a snapshot.
func (c *AioContext) PollParams() (maxNs, grow, shrink int64) {
	return c.pollMaxNs.Load(), c.pollGrow.Load(), c.pollShrink.Load()
}

// SetWaitMode selects how a blocking Poll waits (see [WaitMode]). Any
// goroutine may call it; a wait in progress ends (it is notified) and the
// next one uses the new mode. Entering [WaitPoll] takes one of the
// busy-polling slots that GOMAXPROCS allows, and fails when none is left
// (each busy-polling owner keeps a P busy, and the rest of the program
// needs one); leaving it, or Close, gives the slot back. On a closed
// context it returns an error.
func (c *AioContext) SetWaitMode(m WaitMode) error {
	if m < 0 || int(m) >= len(waitModeNames) {
		return fmt.Errorf("aio: unknown wait mode %d", int32(m))
	}
	c.modeMu.Lock()
	defer c.modeMu.Unlock()
	if c.modeClosed {
		return fmt.Errorf("aio: SetWaitMode(%s) on %s, which is closed", m, c)
	}
	switch {
	case m == WaitPoll && !c.busyReserved:
		if err := reserveBusy(); err != nil {
			return err
		}
		c.busyReserved = true
	case m != WaitPoll && c.busyReserved:
		releaseBusy()
		c.busyReserved = false
	}
	c.waitMode.Store(int32(m))
	c.Notify()
	return nil
}

// busyPollers counts contexts in WaitPoll mode, which each keep a Go P
// busy for as long as their owner polls; see reserveBusy.
var busyPollers atomic.Int32

// reserveBusy claims a busy-polling slot, or says how large GOMAXPROCS
// must be.
func reserveBusy() error {
	for {
		n := busyPollers.Load()
		procs := runtime.GOMAXPROCS(0)
		if int(n)+1 >= procs {
			return fmt.Errorf("aio: %d busy-polling iothreads need GOMAXPROCS >= %d (it is %d): each keeps a P busy, and the rest of the program needs one; raise GOMAXPROCS or use wait=adaptive or wait=block",
				n+1, n+2, procs)
		}
		// Compare-and-swap: two reservations cannot both take the last
		// slot.
		if busyPollers.CompareAndSwap(n, n+1) {
			return nil
		}
	}
}

func releaseBusy() { busyPollers.Add(-1) }

// BusyIOThreads returns how many contexts (normally iothreads') are in
// [WaitPoll] mode, each holding a busy-polling slot.
func BusyIOThreads() int { return int(busyPollers.Load()) }

// WaitMode returns the wait mode. Any goroutine may call it.
func (c *AioContext) WaitMode() WaitMode { return WaitMode(c.waitMode.Load()) }

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
	}
}
