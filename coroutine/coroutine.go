package coroutine

import (
	"sync"
	"sync/atomic"
)

// Func is a coroutine's entry function. It receives its own coroutine, the
// handle it yields through (QEMU's qemu_coroutine_self, passed explicitly).
type Func func(self *Coroutine)

// state is a coroutine's life-cycle state. Owned by the home thread: written
// by Enter (on the enterer's side of a switch) and by the body (on its side),
// never concurrently, since a switch hands the thread over.
type state uint8

const (
	// The two states Enter accepts come first, so that its check is one
	// comparison (state > stateSuspended).
	stateIdle      state = iota // created (or reused from the pool), not entered since
	stateSuspended              // yielded, waiting to be entered again
	stateRunning                // entered: running, or blocked in a nested Enter
	stateFinished               // the entry function returned or panicked
)

// Coroutine is a coroutine with QEMU semantics. Create one with [Thread.New]
// or [New]; run it with [Thread.Enter]. The zero value is not usable.
type Coroutine struct {
	// Owned by the home thread (see state). fn is nil once finished.
	fn    Func
	state state
	// panicked: the body panicked; the runtime coroutine has ended and the
	// coroutine never goes back to the pool. panicVal is the value, kept
	// until Enter re-panics with it.
	panicked bool
	// destroying: Destroy asked the body to unwind; Yield does not return.
	destroying bool
	// wakeQueued: co is on some coroutine's wake-up list or on Enter's
	// pending list (linked through wakeNext); guards against a double wake.
	wakeQueued bool
	panicVal   any

	// thread is the home Thread: set by the first Enter (or by Thread.New
	// when it reuses a pooled runtime coroutine, which already lives there);
	// &noThread before.
	thread *Thread
	// home is the home context (an event loop's, given by SetHome),
	// stored, not interpreted.
	home Home

	// The runtime coroutine, bound by the first Enter on the home thread
	// (taken from that thread's pool, or created there) and reused through
	// the pool. rt is the bound runner; next and stop are copies of its
	// functions (one load less on the switch): next resumes the body,
	// stop ends a parked one. yield (valid inside the body) switches back;
	// the runner's body sets it each time it starts an entry function.
	rt    *runner
	next  func() (struct{}, bool)
	stop  func()
	yield func(struct{}) bool
	// rtID numbers the runtime coroutine within its Thread (1, 2, ...), so
	// tests can tell a reused one from a new one.
	rtID uint64

	// wakeHead/wakeTail: coroutines to enter after co yields or finishes
	// (QEMU's co_queue_wakeup), linked through their wakeNext. Only touched
	// by the home thread while co runs and by the Enter that entered it.
	wakeHead, wakeTail *Coroutine
	wakeNext           *Coroutine

	// poolNext links co in its home Thread's pool while it is finished and
	// parked there.
	poolNext *Coroutine

	// schedNext is the intrusive link of the home context's lock-free
	// schedule queue (QEMU's co_scheduled_next). It is written by the one
	// producer that won MarkScheduled, before that producer publishes co
	// on the queue's head with the queue's compare-and-swap, which
	// synchronizes before the consumer's swap that takes the list; the
	// consumer reads it after that swap. Any thread may touch it through
	// SchedLink.
	schedNext atomic.Pointer[Coroutine]
	// scheduled names where co was scheduled (an interned string) while it
	// waits on a schedule queue; nil otherwise. See MarkScheduled.
	scheduled atomic.Pointer[string]

	// The sleep of a coroutine waiting to be woken (sleep.go). sleepWhere
	// is the interned where of its latest Sleep: written by its body
	// before Sleep's compare-and-swap publishes the mark, read by a waker
	// in Claim, which found co through the queue co put itself on after
	// Sleep (that queue's hand-over orders the write before the read);
	// never cleared, only rewritten by the next Sleep, which comes after
	// the claim that ended this one. sleepPrev and sleepNext link co in its
	// home Thread's sleepers while asleep is set. Owner only.
	sleepWhere           *string
	sleepPrev, sleepNext *Coroutine
	asleep               bool
}

// New creates a coroutine that runs fn when first entered, without a pool.
// Unlike the Thread methods it may be called from any goroutine: the home
// Thread is the one that first enters it. Use [Thread.New] on the home
// thread to reuse a pooled coroutine instead.
func New(fn Func) *Coroutine {
	if fn == nil {
		panic("coroutine: New called with a nil entry function")
	}
	return &Coroutine{fn: fn, thread: &noThread}
}

// Yield suspends co and returns control to the coroutine or thread that
// entered it; it returns when co is entered again. Call it only from co's own
// body: anywhere else it panics.
func (co *Coroutine) Yield() {
	// Small enough to inline into the body (hence the constant panic
	// values), which saves a frame, and a mispredicted return, per switch.
	// No atomic operation: Yield's share of the fast-path budget (see
	// Thread.Enter) is a compare and the runtime's switch.
	if co.thread.current != co {
		panic(errYieldOutside)
	}
	// Enter marks co suspended when the switch comes back with co still
	// running (a write less here keeps Yield under the inlining budget).
	if !co.yield(struct{}{}) {
		// Destroy stopped the runtime coroutine: unwind the body.
		panic(destroyed{})
	}
}

const errYieldOutside = "coroutine: Yield called outside the coroutine's own running body"

// Finished reports whether co's entry function has returned (or panicked).
// It is reliable until the next New on co's home Thread may have reused the
// coroutine from the pool.
func (co *Coroutine) Finished() bool { return co.state == stateFinished }

// Home is a coroutine's home context: the event loop whose owner alone
// enters the coroutine (QEMU's AioContext).
type Home interface {
	// Thread returns the enter state of the home's owner.
	Thread() *Thread
}

// Home returns the home context stored by SetHome (nil when none).
func (co *Coroutine) Home() Home { return co.home }

// SetHome stores co's home context. The coroutine package does not use
// it; the event loop routes schedules and wake-ups by it.
func (co *Coroutine) SetHome(h Home) { co.home = h }

// HomeThread returns the Thread co belongs to: the one that first entered it,
// or, for a coroutine reused from a Thread's pool, that Thread. It is nil for
// a coroutine not yet entered.
func (co *Coroutine) HomeThread() *Thread {
	if co.thread == &noThread {
		return nil
	}
	return co.thread
}

// noThread is the home of a coroutine not yet entered, so that Yield's check
// (co.thread.current != co) needs no nil test.
var noThread Thread

// SchedLink returns co's intrusive link for its home context's lock-free
// schedule queue (QEMU's co_scheduled_next). Only the producer that won
// MarkScheduled writes it, before it pushes co; the consumer reads it
// after taking co off the queue, and calls ClearScheduled only once it no
// longer needs it.
func (co *Coroutine) SchedLink() *atomic.Pointer[Coroutine] { return &co.schedNext }

// MarkScheduled claims co for one schedule queue, recording where it was
// scheduled. It returns ok=true when co was not scheduled; otherwise
// ok=false and firstWhere, where it was first scheduled, for the error
// message (QEMU aborts with "Co-routine was already scheduled in '<where>'").
// Any thread may call it. where should be a constant: the first 64 distinct
// strings are interned so that marking does not allocate.
func (co *Coroutine) MarkScheduled(where string) (firstWhere string, ok bool) {
	p := internWhere(where)
	for {
		// Compare-and-swap: exactly one producer wins between two
		// ClearScheduled calls, so co's SchedLink has one writer at a
		// time. It pairs with the Store in ClearScheduled, which
		// synchronizes before the winning compare-and-swap that reads it:
		// a producer that wins after a clear sees everything the consumer
		// did before clearing (it had finished reading SchedLink).
		if co.scheduled.CompareAndSwap(nil, p) {
			return "", true
		}
		// Load: the winner's compare-and-swap synchronizes before this
		// load that reads it, so *q is the complete interned string.
		if q := co.scheduled.Load(); q != nil {
			return *q, false
		}
		// Cleared between our CAS and our load: try again.
	}
}

// ClearScheduled marks co as no longer scheduled; it synchronizes before
// the next MarkScheduled that succeeds. The consumer of the schedule queue
// calls it after taking co off the queue (and reading its SchedLink) and
// before entering it: Enter panics on a coroutine still marked scheduled,
// as QEMU does.
func (co *Coroutine) ClearScheduled() {
	// Store: pairs with the compare-and-swap in MarkScheduled, which reads
	// it; everything the consumer did with co's link synchronizes before
	// the next producer's claim.
	co.scheduled.Store(nil)
}

// Scheduled reports where co is scheduled, and whether it is. Any thread may
// call it; the answer may be stale by the time it returns unless the caller
// owns the queue co is on.
func (co *Coroutine) Scheduled() (where string, ok bool) {
	// Load: MarkScheduled's compare-and-swap synchronizes before it, so
	// *p is complete.
	if p := co.scheduled.Load(); p != nil {
		return *p, true
	}
	return "", false
}

// destroyed is the panic value with which Yield unwinds a body that Destroy
// ended; run recovers it.
type destroyed struct{}

// runner is one runtime coroutine (an iter.Pull pair, a goroutine and its
// stack), which runs the entry functions of the coroutines bound to it one
// after another: while a coroutine runs, cur is that coroutine; when it
// finishes, the runner parks, and the pool may bind it to another
// coroutine (Thread.New hands out the pooled coroutine itself; the first
// Enter of a coroutine made elsewhere binds a pooled runner to it). Owned
// by the home thread, like the coroutine's state.
type runner struct {
	cur *Coroutine
}

// body is the runner's function (the iter.Pull sequence): it runs one
// entry function after another, parking in yield between them.
func (r *runner) body(yield func(struct{}) bool) {
	for {
		co := r.cur
		co.yield = yield
		co.run()
		if co.panicked || co.destroying {
			return // the runtime coroutine ends; next reports it done
		}
		co.state = stateFinished
		// Park until the pool binds r again (Enter resumes us with cur
		// set to the new coroutine), or until Close/SetPoolSize stops us
		// (yield returns false).
		if !yield(struct{}{}) {
			return
		}
	}
}

// run calls the entry function, catching a panic so that Enter can re-panic
// it on the enterer's side.
func (co *Coroutine) run() {
	defer func() {
		if p := recover(); p != nil {
			co.state = stateFinished
			if _, ok := p.(destroyed); ok && co.destroying {
				return
			}
			co.panicked = true
			co.panicVal = p
		}
	}()
	co.fn(co)
}

// where strings interned for MarkScheduled, so that recording where a
// coroutine was scheduled needs no allocation: copy-on-write list, read
// lock-free, appended under the lock.
var wheres struct {
	list atomic.Pointer[[]*string]
	mu   sync.Mutex
}

// maxInternedWheres bounds the interned list: callers pass constants, a
// handful of them; anything beyond falls back to one allocation per mark
// rather than growing a list that every mark scans.
const maxInternedWheres = 64

func internWhere(where string) *string {
	// Load: the Store in internWhereSlow synchronizes before it, so the
	// strings in the list are complete.
	if l := wheres.list.Load(); l != nil {
		for _, p := range *l {
			if *p == where {
				return p
			}
		}
	}
	return internWhereSlow(where)
}

func internWhereSlow(where string) *string {
	wheres.mu.Lock()
	defer wheres.mu.Unlock()
	var old []*string
	if l := wheres.list.Load(); l != nil {
		old = *l
		for _, p := range old {
			if *p == where {
				return p
			}
		}
	}
	p := &where
	if len(old) >= maxInternedWheres {
		return p
	}
	l := make([]*string, len(old)+1)
	copy(l, old)
	l[len(old)] = p
	// Store: synchronizes before the Load in internWhere that reads it.
	wheres.list.Store(&l)
	return p
}
