package aio

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/coroutine"
	"github.com/pinbench/pinbench/internal/osthread"
	"github.com/pinbench/pinbench/internal/threadclock"
)

func unixGettid() int { return unix.Gettid() }

// IOThread is an event-loop thread (QEMU's IOThread): a goroutine locked to
// its own OS thread, pinned to a CPU set, that creates its [AioContext] and
// runs Poll(true) until it is stopped. Everything that runs on it (bottom
// halves, coroutines homed on its context) runs on that one OS thread.
//
// Who may call what: every method from any goroutine, concurrently, except
// Join from the iothread itself (it would wait for its own end). After
// Join, Run and Repin return an error naming the iothread, SetWaitMode
// too, and scheduling anything on its context panics with a sentence; a
// later Join returns the first one's result.
type IOThread struct {
	// Set by the iothread before it sets started; read-only afterwards.
	ctx      *AioContext
	tid      int
	startErr error
	// cpus is the set the thread is pinned to: set before the thread
	// starts, changed by Repin, read by CPUs; cpusMu guards it after start.
	cpusMu sync.Mutex
	cpus   affinity.CPUSet

	// stopping is owned by the iothread: set by the stop BH that Join
	// schedules, read by the loop. (A flag set from outside could be
	// missed between the check and the sleep: QEMU's 2019 fix.)
	stopping bool

	// started is set once ctx exists (or startErr says why it does not);
	// done is set by the iothread as its last act before its goroutine
	// (and with it the OS thread) ends, however it ends.
	started Event
	done    Event
	joined  atomic.Bool
	// joinErr is what the first Join found, published by joinDone's Set
	// to the later Joins that wait on it.
	joinErr  error
	joinDone Event
	// Written by the iothread before it sets done; read after done:
	// endErr says how the loop ended if not by Join (runtime.Goexit or a
	// panic on the iothread), closeErr is what its context's Close
	// reported (work that never ran), finalCPU the thread's CPU time (ns).
	endErr   error
	closeErr error
	finalCPU atomic.Int64
}

// JoinTimeout bounds how long Join waits for the iothread to stop (its
// loop to end and its OS thread to go): a bottom half or coroutine that
// never returns makes Join fail with an error naming the iothread instead
// of blocking its caller for ever.
const JoinTimeout = 5 * time.Second

// ioOptions are NewIOThread's settings.
type ioOptions struct {
	mode                WaitMode
	maxNs, grow, shrink int64
}

// Option configures [NewIOThread].
type Option func(*ioOptions)

// WithWaitMode sets the iothread's wait mode (default [WaitAdaptive]).
// [WaitPoll] needs GOMAXPROCS greater than the number of busy-polling
// iothreads, this one included; NewIOThread fails otherwise.
func WithWaitMode(m WaitMode) Option {
	return func(o *ioOptions) { o.mode = m }
}

// WithPollParams sets the adaptive polling parameters (see
// [AioContext.SetPollParams]; default QEMU's 32768 ns, x2, 0).
func WithPollParams(maxNs, grow, shrink int64) Option {
	return func(o *ioOptions) { o.maxNs, o.grow, o.shrink = maxNs, grow, shrink }
}

// NewIOThread starts an iothread pinned to cpus (one CPU, or a whole NUMA
// node; an empty set leaves it unpinned, placed by the kernel) and returns
// once its context exists. An error says why the thread could not start: a
// CPU outside the allowed set, bad options, or GOMAXPROCS too small for
// busy polling.
func NewIOThread(cpus affinity.CPUSet, opts ...Option) (*IOThread, error) {
	o := ioOptions{mode: WaitAdaptive, maxNs: DefaultPollMaxNs}
	for _, opt := range opts {
		opt(&o)
	}
	if o.mode < 0 || int(o.mode) >= len(waitModeNames) {
		return nil, fmt.Errorf("aio: unknown wait mode %d", int32(o.mode))
	}
	if o.maxNs < 0 || o.grow < 0 || o.shrink < 0 {
		return nil, fmt.Errorf("aio: poll parameters must not be negative (max-ns %d, grow %d, shrink %d)", o.maxNs, o.grow, o.shrink)
	}
	t := &IOThread{cpus: cpus}
	go t.start(o)
	t.started.Wait()
	if t.startErr != nil {
		return nil, t.startErr
	}
	return t, nil
}

// start is the iothread's goroutine (QEMU's iothread_run): it moves off
// the main thread if it landed there, then runs the loop.
//
// Why the main thread is avoided, and why the move cannot fail: a
// goroutine that ends while locked to the main thread does not end the
// thread (the runtime wedges it instead), so an iothread must not live
// there. If LockOSThread gave us the main thread, we keep it locked while
// a new goroutine starts the loop elsewhere, and wait (Event.Wait, a
// system call) until that goroutine has locked a thread of its own. A
// locked thread runs only the goroutine locked to it, so for as long as
// we hold the main thread locked, the new goroutine cannot be scheduled
// on it: it lands on another thread by construction, once, and there is
// no retry that could land on the main thread again. Only then do we
// unlock the main thread (nothing has changed it) and end.
func (t *IOThread) start(o ioOptions) {
	runtime.LockOSThread()
	if unix.Gettid() == os.Getpid() {
		var moved Event
		go func() {
			runtime.LockOSThread()
			moved.Set() // synchronizes before moved.Wait's return: we hold our own thread now
			t.run(o)
		}()
		moved.Wait()
		runtime.UnlockOSThread()
		return
	}
	t.run(o)
}

// run is the iothread's life on its own locked thread.
func (t *IOThread) run(o ioOptions) {
	if !t.cpus.IsEmpty() {
		if err := affinity.PinThread(t.cpus); err != nil {
			t.startErr = fmt.Errorf("aio: iothread: %w", err)
			// Set synchronizes before NewIOThread's Wait returns, so it
			// reads startErr.
			t.started.Set()
			return // still locked: the thread ends with the goroutine
		}
	}
	t.tid = unix.Gettid()
	ctx := newContext(coroutine.NewLockedThread(), fmt.Sprintf("iothread %d", t.tid))
	ctx.traceLabel = labelIOThread(ctx, t.cpus)
	if err := ctx.SetWaitMode(o.mode); err != nil {
		t.startErr = err
		t.started.Set()
		return
	}
	ctx.pollMaxNs.Store(o.maxNs)
	ctx.pollGrow.Store(o.grow)
	ctx.pollShrink.Store(o.shrink)
	t.ctx = ctx
	// PinThread (and runtime.LockOSThread) on this thread from now on
	// would change the lock count its coroutines were created with, which
	// the runtime punishes with an uncatchable throw at the next switch:
	// affinity refuses it with relockRefusal instead.
	affinity.ForbidRelock(relockRefusal)
	// Set synchronizes before NewIOThread's Wait returns: publishes
	// ctx and tid.
	t.started.Set()

	// However the loop ends, finish runs: after the stop BH (ended), or
	// while runtime.Goexit or a panic unwinds the goroutine (a test's
	// t.FailNow inside a bottom half or coroutine is a Goexit). Then
	// pending Run callers get an error and Join a reason, never a wait
	// for a done that nobody sets.
	ended := false
	defer func() {
		if !ended {
			t.endErr = fmt.Errorf("aio: %s ended without being joined: runtime.Goexit or a panic in a bottom half or coroutine on it", ctx)
		}
		t.finish()
	}()
	for !t.stopping {
		ctx.Poll(true)
	}
	ended = true
}

// relockRefusal is how affinity's PinThread on an iothread ends its
// panic, after "affinity: PinThread on OS thread TID, ".
const relockRefusal = "which runs coroutines (an aio iothread): locking it again would make the Go runtime throw at the next coroutine switch; use IOThread.Repin (affinity.RepinLocked) instead"

// finish closes the iothread's context (failing queued Run calls,
// reporting other work that never ran) and sets done. On the iothread,
// as its goroutine's last act.
func (t *IOThread) finish() {
	func() {
		defer func() { // Close must not stop done from being set
			if r := recover(); r != nil {
				t.closeErr = fmt.Errorf("aio: closing %s: %v", t.ctx, r)
			}
		}()
		t.closeErr = t.ctx.closeNow() // the loop has ended: nothing is in flight
	}()
	affinity.AllowRelock()
	if ns, err := threadclock.Self(); err == nil {
		t.finalCPU.Store(ns)
	}
	// Last act: Join may return (and the caller drop t) once done is set;
	// the goroutine ends right after, still locked, so the runtime ends
	// the OS thread (Join waits for that too).
	t.done.Set()
}

// Context returns the iothread's context.
func (t *IOThread) Context() *AioContext { return t.ctx }

// Tid returns the iothread's kernel thread id (for perf_event_open, or
// /proc/self/task/TID).
func (t *IOThread) Tid() int { return t.tid }

// CPUs returns the set the iothread is pinned to (empty when unpinned).
func (t *IOThread) CPUs() affinity.CPUSet {
	t.cpusMu.Lock()
	defer t.cpusMu.Unlock()
	return t.cpus
}

// Run runs fn on the iothread and returns when fn has returned (QEMU's
// ctx_run in test-aio-multithread): a one-shot bottom half, then a wait on
// a futex event, never a channel. A panic in fn is raised again in the
// caller, and the iothread carries on. Called on the iothread itself, it
// runs fn directly.
//
// It returns an error naming the iothread, without running fn, when the
// iothread has been joined, or stops before fn's turn comes (a Join racing
// with the Run, a Goexit on the iothread); and when fn calls
// runtime.Goexit, which ends the iothread.
func (t *IOThread) Run(fn func()) error {
	// Joined or ended first: a dead iothread's identity may be reused by
	// the caller's thread (its context's Thread is retired, so OnOwner
	// says no anyway, but only once the context has closed).
	if t.joined.Load() {
		return fmt.Errorf("aio: Run on %s after Join", t.ctx)
	}
	if !t.done.IsSet() && t.ctx.thread.OnOwner() {
		fn()
		return nil
	}
	var (
		done     Event
		panicked bool
		value    any
		err      error
	)
	schedErr := t.ctx.oneShot(func() {
		returned := false
		defer done.Set() // synchronizes before done.Wait's return: publishes panicked, value, err
		defer func() {
			if r := recover(); r != nil {
				panicked, value = true, r
			} else if !returned {
				err = fmt.Errorf("aio: Run on %s: fn called runtime.Goexit, which ended the iothread", t.ctx)
			}
		}()
		fn()
		returned = true
	}, func(closed error) { // the context closed first: fn never runs
		err = fmt.Errorf("aio: Run on %s: the iothread stopped before fn ran: %w", t.ctx, closed)
		done.Set()
	})
	if schedErr != nil {
		return fmt.Errorf("aio: Run on %s after it stopped: %w", t.ctx, schedErr)
	}
	done.Wait()
	if panicked {
		panic(value)
	}
	return err
}

// Repin moves the iothread to cpus (one CPU or a node's set), on the
// iothread, without touching its thread lock (affinity.PinThread would
// lock it again, which the runtime answers with an uncatchable throw at
// the next coroutine switch). It returns an error when a CPU is not
// allowed, or after Join.
func (t *IOThread) Repin(cpus affinity.CPUSet) error {
	var pinErr error
	if err := t.Run(func() { pinErr = affinity.RepinLocked(cpus) }); err != nil {
		return err
	}
	if pinErr != nil {
		return fmt.Errorf("aio: repinning %s: %w", t.ctx, pinErr)
	}
	t.cpusMu.Lock()
	t.cpus = cpus
	t.cpusMu.Unlock()
	return nil
}

// Join stops the iothread and waits until its OS thread has ended (QEMU's
// iothread_join). The stop request is a bottom half that runs on the
// iothread, so it cannot be missed between the loop's check and its sleep;
// bottom halves and coroutines scheduled before it run. It returns an
// error naming the iothread when the iothread has not stopped within
// [JoinTimeout] (a bottom half or coroutine on it never returned), when
// its loop ended some other way (runtime.Goexit, a panic), or when work
// was still queued on its context after the loop ended (the error lists
// it; see [AioContext.Close]). Only the first Join does this; later ones
// wait for it and return the same result.
func (t *IOThread) Join() error {
	if !t.done.IsSet() && t.ctx.thread.OnOwner() {
		panic(fmt.Sprintf("aio: Join called on %s itself (it would wait for its own end)", t.ctx))
	}
	// Compare-and-swap: only the first Join stops the thread; Run loads
	// joined to refuse work at once (a Run racing with us is refused by
	// the closed context instead, or fails when Close drops its BH).
	// Later Joins wait for the first one and return what it found.
	if !t.joined.CompareAndSwap(false, true) {
		if !t.joinDone.WaitTimeout(2*JoinTimeout + time.Second) {
			return fmt.Errorf("aio: Join of %s: the first Join has not finished within %v", t.ctx, 2*JoinTimeout+time.Second)
		}
		return t.joinErr // joinDone's Set synchronizes before this read
	}
	err := t.join()
	t.joinErr = err
	t.joinDone.Set()
	return err
}

// JoinAll joins each of threads in order, skipping nil ones (the ones a
// failed start left unset), and returns the first error. An error does not
// stop it: every iothread given is joined.
func JoinAll(threads ...*IOThread) error {
	var first error
	for _, t := range threads {
		if t == nil {
			continue
		}
		if err := t.Join(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// join is the first Join's work.
func (t *IOThread) join() error {
	// Fails only when the loop has already ended (the context closed):
	// then done is set, or about to be, and endErr says why.
	_ = t.ctx.oneShot(func() { t.stopping = true }, func(error) {})
	if !t.done.WaitTimeout(JoinTimeout) {
		return fmt.Errorf("aio: %s did not stop within %v of Join: a bottom half or coroutine on it has not returned", t.ctx, JoinTimeout)
	}
	// WaitTimeout returned true: done's Set synchronizes before this
	// point, so endErr and closeErr are complete.
	err := errors.Join(t.endErr, t.closeErr)
	if gerr := osthread.Gone(t.tid, JoinTimeout); gerr != nil {
		err = errors.Join(err, fmt.Errorf("aio: %s: %w", t.ctx, gerr))
	}
	return err
}

// Joining reports whether Join has been called: the iothread is stopping,
// or has stopped. Any goroutine may call it; it never blocks (unlike Run,
// which waits behind whatever runs on the iothread).
func (t *IOThread) Joining() bool {
	// Load: Join's compare-and-swap sets it before Join queues its stop
	// request, so a true says that request is queued or about to be.
	return t.joined.Load()
}

// SetWaitMode changes the iothread's wait mode at run time (see
// [AioContext.SetWaitMode]: entering [WaitPoll] checks GOMAXPROCS). After
// Join it returns an error.
func (t *IOThread) SetWaitMode(m WaitMode) error {
	return t.ctx.SetWaitMode(m)
}

// IOThreadStats are an iothread's counters for benchmarks.
type IOThreadStats struct {
	ContextStats
	// Tid is the kernel thread id.
	Tid int
	// CPU is the CPU time the thread has used so far (its final figure
	// once joined).
	CPU time.Duration
}

// Stats returns the iothread's counters. Any goroutine may call it.
func (t *IOThread) Stats() IOThreadStats {
	cpu, _ := t.CPUTime()
	return IOThreadStats{ContextStats: t.ctx.Stats(), Tid: t.tid, CPU: cpu}
}

// CPUTime returns the CPU time the iothread's OS thread has used (user and
// system), read from another thread through the thread's CPU clock (see
// threadclock.Of); after the thread ended, the figure it recorded last.
func (t *IOThread) CPUTime() (time.Duration, error) {
	if t.done.IsSet() {
		return time.Duration(t.finalCPU.Load()), nil
	}
	d, err := threadclock.Of(t.tid)
	if err != nil && t.done.IsSet() { // ended meanwhile
		return time.Duration(t.finalCPU.Load()), nil
	}
	return d, err
}
