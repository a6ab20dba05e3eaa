package coroutine

import (
	"fmt"
	"iter"
	"sync/atomic"

	"github.com/pinbench/pinbench/internal/osthread"
)

// DefaultPoolSize is how many finished coroutines a Thread keeps for reuse
// by default. QEMU refills its per-thread pool in batches of 64
// (POOL_MIN_BATCH_SIZE). Each pooled entry is a parked goroutine holding its
// stack (8 KiB at least, more if a body grew it, until the GC shrinks it), so
// 64 bounds idle memory to about half a MiB per thread at minimum stacks,
// while covering the suite's workloads (a handful of coroutines per
// iothread) many times over.
const DefaultPoolSize = 64

// Thread is the per-OS-thread enter state that QEMU keeps in thread-locals:
// the coroutine currently running, the pool of finished coroutines, and the
// wake-up processing done by Enter. Create it with [NewThread] or
// [NewLockedThread] on its owning goroutine; only that goroutine (including
// bodies of coroutines it enters) may call its methods. A Thread made by
// NewLockedThread checks that rule on every call (a few nanoseconds: see
// osthread.Current) and panics with a sentence before the runtime could
// throw; one made by NewThread, whose owner may move between OS threads,
// cannot, and the race detector reports a breach.
type Thread struct {
	// current is the innermost running coroutine, nil outside any.
	// Written by Enter before and after each switch.
	current *Coroutine
	// owner is the OS thread a locked Thread belongs to (0 for one made by
	// NewThread: unchecked; retired after Retire), and ownerTid its kernel
	// id, for messages. Set at creation; Retire stores retired. Atomic
	// because any goroutine may ask OnOwner, and a thread's identity is
	// reused by a later thread once it ends (the runtime reuses its m):
	// without Retire, a dead iothread's Thread would take a new thread
	// for its owner. A plain load on x86-64, so the hot path pays nothing.
	owner    atomic.Uintptr
	ownerTid int
	// ownerFast says that owner is an ID that osthread.CurrentFast
	// returns on the owner (osthread.Fast held when the Thread was made),
	// so that Enter may compare with it directly. Set at creation.
	ownerFast bool
	// pool: finished coroutines whose runtime coroutine is parked at the end
	// of body, linked through poolNext; poolLen of them, at most poolMax.
	pool    *Coroutine
	poolLen int
	poolMax int
	// sleepers: the coroutines homed here asleep in Sleep, newest first,
	// linked through sleepPrev and sleepNext (sleep.go).
	sleepers *Coroutine
	// waking is the coroutine wakeUps is entering, whose own wake-ups
	// Enter leaves to wakeUps's list; nil outside wakeUps.
	waking *Coroutine
	// Counters, for tests and benchmarks.
	created uint64 // runtime coroutines started (iter.Pull calls)
	reused  uint64 // coroutines handed out from the pool
}

// NewThread returns the enter state for the calling goroutine, which may
// move between OS threads (it is not locked). Nothing checks that only that
// goroutine calls the Thread's methods; use [NewLockedThread] on a locked
// goroutine.
func NewThread() *Thread {
	return &Thread{poolMax: DefaultPoolSize}
}

// NewLockedThread returns the enter state for the calling goroutine's OS
// thread. The goroutine must be locked to that thread (runtime.LockOSThread)
// and keep the same lock count for as long as it enters coroutines: the
// runtime throws, uncatchably, when a coroutine is resumed with another
// lock count than at its creation. Every method of the Thread then checks
// that it runs on that OS thread and panics with a sentence naming both
// threads otherwise.
func NewLockedThread() *Thread {
	t := &Thread{poolMax: DefaultPoolSize, ownerTid: osthread.CurrentTid()}
	t.owner.Store(uintptr(osthread.Current()))
	t.ownerFast = osthread.Fast()
	return t
}

// retired is the owner of a retired Thread: no thread has that identity
// (osthread.Current returns an aligned pointer or a thread id).
const retired = ^uintptr(0)

// Retire marks t as done for good: from then on OnOwner is false for
// every caller, and every method that checks its owner panics saying the
// Thread was retired. Its owner calls it when it will use t no more (an
// event loop does when its context closes), so that no later thread is
// mistaken for the owner. Only the owner may call it.
func (t *Thread) Retire() {
	t.checkOwner("Retire")
	t.owner.Store(retired)
}

// OnOwner reports whether the caller runs on t's OS thread. It is always
// true for a Thread made by [NewThread], which cannot tell. Any goroutine
// may call it.
func (t *Thread) OnOwner() bool {
	o := t.owner.Load()
	return o == 0 || uintptr(osthread.Current()) == o
}

// Owner returns the kernel thread id of a locked Thread's OS thread, or 0
// for a Thread made by [NewThread].
func (t *Thread) Owner() int { return t.ownerTid }

// checkOwner panics, naming op and both threads, unless the caller runs on
// t's OS thread.
func (t *Thread) checkOwner(op string) {
	if !t.OnOwner() {
		if t.owner.Load() == retired {
			panic(fmt.Sprintf("coroutine: %s called on Thread %p, which was retired (its context closed)", op, t))
		}
		panic(fmt.Sprintf("coroutine: %s called on OS thread %d, but Thread %p belongs to OS thread %d (only its owner may call it: wake a coroutine from another thread through its home context)",
			op, osthread.CurrentTid(), t, t.ownerTid))
	}
}

// Stats counts a Thread's runtime coroutines.
type Stats struct {
	Created uint64 // runtime coroutines started (each one a goroutine)
	Reused  uint64 // coroutines handed out by New from the pool
	Pooled  int    // finished coroutines parked in the pool now
}

// Stats returns t's counters.
func (t *Thread) Stats() Stats {
	return Stats{Created: t.created, Reused: t.reused, Pooled: t.poolLen}
}

// SetPoolSize sets how many finished coroutines t keeps for reuse (0 turns
// the pool off), stopping any beyond the new size.
func (t *Thread) SetPoolSize(n int) {
	t.checkOwner("SetPoolSize")
	t.poolMax = max(n, 0)
	for t.poolLen > t.poolMax {
		t.stopOne()
	}
}

// Close stops the runtime coroutines parked in t's pool, so that their
// goroutines end. Call it before the owning goroutine ends. t stays usable;
// later finished coroutines are pooled again.
func (t *Thread) Close() {
	t.checkOwner("Close")
	for t.pool != nil {
		t.stopOne()
	}
}

func (t *Thread) stopOne() {
	co := t.pool
	t.pool = co.poolNext
	co.poolNext = nil
	t.poolLen--
	co.stop() // body's final yield returns false; the goroutine ends
	co.rt, co.next, co.stop, co.yield = nil, nil, nil, nil
}

// Current returns the innermost coroutine running on t (QEMU's
// qemu_coroutine_self), or nil outside any coroutine.
func (t *Thread) Current() *Coroutine { return t.current }

// New returns a coroutine that runs fn when entered (QEMU's
// qemu_coroutine_create). It reuses a finished coroutine from t's pool when
// there is one; such a coroutine's home is already t. Otherwise it is like
// [New]: the home Thread is the one that first enters it. A coroutine that
// will not be entered after all should be passed to Destroy, which returns a
// reused one to the pool (otherwise its parked goroutine is never ended).
func (t *Thread) New(fn Func) *Coroutine {
	if fn == nil {
		panic("coroutine: New called with a nil entry function")
	}
	// No owner check here, unlike Enter: New only takes from the pool
	// (a call from another thread is a data race, which the race detector
	// reports), and the runtime's throw that the checks exist to prevent
	// can only come from an entry. A check per New made the pooled
	// create-enter-finish measurably slower on a locked thread (the
	// README's "Measurements behind the design").
	co := t.pool
	if co == nil {
		return &Coroutine{fn: fn, thread: &noThread}
	}
	t.pool = co.poolNext
	t.poolLen--
	t.reused++
	co.poolNext = nil
	co.fn = fn
	co.state = stateIdle
	co.home = nil
	return co
}

// Enter runs co on t until it yields or finishes (QEMU's
// qemu_coroutine_enter); the caller is blocked meanwhile. Called from inside
// a coroutine running on t, it nests: co's Yield returns to that body. After
// co switches back, Enter enters the coroutines co woke with WakeAfterYield,
// in order (depth first, as QEMU does).
//
// Enter panics with a sentence, before the runtime could throw, when co is
// running ("re-entered recursively"), finished, marked scheduled, or homed
// on another Thread. If co's body panics, Enter panics with the same value
// once t is consistent again.
func (t *Thread) Enter(co *Coroutine) {
	// The hot path is written out here, in the one function that every
	// entry goes through (wakeUps enters through it too), rather than in a
	// helper: after a switch the CPU's return-address predictor is out of
	// step with the stack, so every extra frame between the switch and the
	// caller costs a mispredicted return.
	//
	// Fast-path budget: Enter and Yield add no atomic read-modify-write to
	// the runtime's coroswitch (itself three compare-and-swaps, which
	// runtime/coro.go forbids adding to). Enter's own atomics are the two
	// loads below, owner and scheduled, plain reads on
	// x86-64; Yield has none. The rest are plain fields of the home
	// thread. Do not add an atomic operation, a call frame or a check that
	// touches another cache line here without measuring
	// BenchmarkEnterYield before and after.
	//
	// Load of scheduled: MarkScheduled's compare-and-swap synchronizes
	// before it when it reads the mark; a coroutine on a schedule queue
	// must be entered by that queue's consumer, after ClearScheduled.
	//
	// The owner check is OnOwner without its per-call questions: owner
	// (a load, as in OnOwner) is 0 for a Thread made by NewThread, which
	// is not checked; otherwise it is the ID that osthread.Current
	// returned on the owner at NewLockedThread, or retired. Where
	// osthread.Fast held then, Current's ID is CurrentFast's (Fast's
	// answer never changes within a process), and the owner's thread
	// keeps that ID for as long as it lives, so comparing CurrentFast
	// with owner is exactly OnOwner's comparison, without Current's
	// check that Fast holds and its frame. Retired never equals an
	// ID. Where Fast did not hold, or on any mismatch, enterCheck asks
	// checkOwner, which decides with OnOwner.
	if o := t.owner.Load(); co.state > stateSuspended || co.thread != t || co.wakeQueued || co.scheduled.Load() != nil ||
		(o != 0 && (!t.ownerFast || uintptr(osthread.CurrentFast()) != o)) {
		t.enterCheck(co) // panics, or records t as home on the first enter
	}
	caller := t.current // QEMU's co->caller; the running state marks co entered
	t.current = co
	co.state = stateRunning
	if co.next == nil {
		t.start(co)
	}
	co.next()
	// co yielded (stateSuspended), finished (stateFinished, parked at the end
	// of body) or panicked (stateFinished, runtime coroutine ended).
	t.current = caller
	if co.state == stateRunning {
		co.state = stateSuspended // it yielded
	}
	if co.state == stateFinished || co.wakeHead != nil {
		t.afterSwitch(co)
	}
}

// afterSwitch is Enter's slow tail: pool or re-panic a finished coroutine,
// then enter the coroutines it woke, unless co is the one wakeUps is
// entering (wakeUps takes co's wake-ups into its own list instead).
func (t *Thread) afterSwitch(co *Coroutine) {
	if co.state == stateFinished {
		t.finished(co)
	}
	if co.wakeHead != nil && co != t.waking {
		t.wakeUps(co)
	}
}

// start binds a runtime coroutine to co, on its home thread: a parked one
// from t's pool when there is one (a coroutine made with [New] on another
// goroutine, QEMU's create-then-aio_co_schedule pattern, then reuses a
// pooled goroutine like one made with Thread.New; the pooled Coroutine
// struct it came in is dropped), otherwise a new one.
func (t *Thread) start(co *Coroutine) {
	if p := t.pool; p != nil {
		t.pool = p.poolNext
		p.poolNext = nil
		t.poolLen--
		t.reused++
		co.rt, co.next, co.stop, co.rtID = p.rt, p.next, p.stop, p.rtID
		p.rt, p.next, p.stop, p.yield = nil, nil, nil, nil
		co.rt.cur = co
		return
	}
	t.created++
	co.rtID = t.created
	co.rt = &runner{cur: co}
	co.next, co.stop = iter.Pull(co.rt.body)
}

// enterCheck is Enter's slow path: it panics on misuse, and otherwise makes
// t the home of a coroutine entered for the first time.
func (t *Thread) enterCheck(co *Coroutine) {
	t.checkOwner("Enter")
	switch co.state {
	case stateRunning:
		panic(fmt.Sprintf("coroutine: coroutine %p re-entered recursively (it is already running)", co))
	case stateFinished:
		panic(fmt.Sprintf("coroutine: entering finished coroutine %p", co))
	}
	if where, ok := co.Scheduled(); ok {
		panic(fmt.Sprintf("coroutine: entering coroutine %p, which was already scheduled in '%s' (its queue's consumer must clear it first)", co, where))
	}
	if co.wakeQueued {
		panic(fmt.Sprintf("coroutine: entering coroutine %p, which is queued to be woken when another coroutine yields (WakeAfterYield): it would run twice", co))
	}
	if co.thread == &noThread {
		if co.next != nil {
			panic(fmt.Sprintf("coroutine: coroutine %p has a runtime coroutine but no home Thread", co))
		}
		co.thread = t
		return
	}
	if co.thread != t {
		panic(fmt.Sprintf("coroutine: entering coroutine %p on Thread %p, but its home Thread is %p (wake it through its home context)", co, t, co.thread))
	}
}

// finished handles a coroutine that returned or panicked: it goes back to
// the pool when it may be reused, and a panic is raised again here.
func (t *Thread) finished(co *Coroutine) {
	co.fn = nil
	if co.asleep { // ended by Destroy while asleep (sleep.go)
		t.unlinkSleeper(co)
	}
	if co.panicked {
		// The runtime coroutine has ended; co is not reused.
		co.rt, co.next, co.stop, co.yield = nil, nil, nil, nil
		p := co.panicVal
		co.panicVal = nil
		if co.wakeHead != nil {
			t.wakeUpsThenPanic(co, p)
		}
		panic(p)
	}
	if co.destroying {
		co.rt, co.next, co.stop, co.yield = nil, nil, nil, nil
		return
	}
	// A coroutine still marked scheduled finished while on a schedule queue,
	// or one still queued for a wake-up: keep it out of the pool so that the
	// late Enter panics ("entering finished coroutine") instead of running a
	// reused one. (Enter refuses a coroutine queued for a wake-up, so the
	// second case needs a misuse that slipped past it; this is the backstop.)
	if t.poolLen >= t.poolMax || co.wakeQueued || co.scheduled.Load() != nil {
		co.stop()
		co.rt, co.next, co.stop, co.yield = nil, nil, nil, nil
		return
	}
	co.poolNext = t.pool
	t.pool = co
	t.poolLen++
}

// WakeAfterYield enters co on t after the coroutine now running on t yields
// or finishes (QEMU's co_queue_wakeup, used by aio_co_wake from inside a
// coroutine). Outside any coroutine it enters co at once. co must be homed on
// t (or not yet entered), and not already waiting to be woken.
func (t *Thread) WakeAfterYield(co *Coroutine) {
	if t.owner.Load() != 0 {
		t.checkOwner("WakeAfterYield")
	}
	self := t.current
	if self == nil {
		t.Enter(co)
		return
	}
	switch {
	case co == self:
		panic(fmt.Sprintf("coroutine: coroutine %p asked to wake itself after it yields", co))
	case co.wakeQueued:
		panic(fmt.Sprintf("coroutine: coroutine %p woken twice before it ran", co))
	case co.thread != &noThread && co.thread != t:
		panic(fmt.Sprintf("coroutine: waking coroutine %p on Thread %p, but its home Thread is %p (wake it through its home context)", co, t, co.thread))
	}
	co.wakeQueued = true
	if self.wakeTail == nil {
		self.wakeHead = co
	} else {
		self.wakeTail.wakeNext = co
	}
	self.wakeTail = co
}

// wakeUps enters, in order, the coroutines that co woke while it ran, and the
// ones those wake in turn (depth first: coroutines a woken one queued run
// before the rest of the list, as in QEMU's qemu_aio_coroutine_enter).
//
// It enters each one through Enter with t.waking set to it, so that Enter
// leaves that coroutine's own wake-ups here, where they go to the front of
// the list: the loop stays one stack frame deep however long a chain of
// wake-ups grows. A nested wakeUps (a woken coroutine entering another one)
// sets t.waking for its own and puts the outer one back.
func (t *Thread) wakeUps(co *Coroutine) {
	pending := co.wakeHead
	co.wakeHead, co.wakeTail = nil, nil
	outer := t.waking
	defer func() {
		t.waking = outer // the loop set it to each coroutine it entered
		// Left only on a panic: forget the rest, so they can be woken again.
		for pending != nil {
			next := pending.wakeNext
			pending.wakeNext = nil
			pending.wakeQueued = false
			pending = next
		}
	}()
	for pending != nil {
		to := pending
		pending = to.wakeNext
		to.wakeNext = nil
		to.wakeQueued = false
		t.waking = to
		t.Enter(to)
		if to.wakeHead != nil {
			to.wakeTail.wakeNext = pending
			pending = to.wakeHead
			to.wakeHead, to.wakeTail = nil, nil
		}
	}
}

// wakeUpsThenPanic enters the coroutines co woke before it panicked with
// p, as if it had finished (a wake-up may carry a lock handed to the woken
// coroutine, which nobody else would enter), and then panics with p. If
// one of them panics too, wakeUps forgets the rest and p goes on.
func (t *Thread) wakeUpsThenPanic(co *Coroutine, p any) {
	defer panic(p)
	t.wakeUps(co)
}

// Destroy ends co, which must be suspended in Yield on t (or created and not
// yet entered): its Yield does not return, the body unwinds (its deferred
// calls run, with co current on t) and co is finished. It is for tearing
// down coroutines that will never be woken, so that their goroutines end. A
// panic raised while the body unwinds reaches the caller, as with Enter.
func (t *Thread) Destroy(co *Coroutine) {
	t.checkOwner("Destroy")
	if where, ok := co.Scheduled(); ok {
		panic(fmt.Sprintf("coroutine: Destroy of coroutine %p, which is scheduled in '%s': its queue would enter it later (let it run, or take it off the queue first)", co, where))
	}
	if co.wakeQueued {
		panic(fmt.Sprintf("coroutine: Destroy of coroutine %p, which is queued to be woken when another coroutine yields", co))
	}
	switch {
	case co.state == stateIdle && co.next == nil:
		// Never ran: nothing to unwind.
		co.state = stateFinished
		co.fn = nil
		return
	case co.state == stateIdle && co.thread == t:
		// Reused from the pool but not entered: park it there again.
		co.state = stateFinished
		t.finished(co)
		return
	case co.state != stateSuspended:
		panic(fmt.Sprintf("coroutine: Destroy of coroutine %p, which is not suspended in Yield", co))
	case co.thread != t:
		panic(fmt.Sprintf("coroutine: Destroy of coroutine %p on Thread %p, but its home Thread is %p", co, t, co.thread))
	}
	co.destroying = true
	caller := t.current // QEMU's co->caller; the running state marks co entered
	t.current = co
	co.state = stateRunning
	co.stop() // Yield returns false and panics destroyed{}; run recovers it
	t.current = caller
	co.state = stateFinished
	t.finished(co)
	if co.wakeHead != nil {
		t.wakeUps(co)
	}
}
