package aio

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/osthread"
)

// IOThread is an event-loop thread (QEMU's IOThread): a goroutine locked to
// its own OS thread, pinned to a CPU set, that creates its [AioContext] and
// runs Poll(true) until it is stopped. Everything that runs on it (bottom
// halves, coroutines homed on its context) runs on that one OS thread.
//
// Who may call what: every method from any goroutine except the iothread
// itself, unless its doc says otherwise; Join once (later calls return nil
// at once). Do not use the IOThread after Join.
type IOThread struct {
	// Set by the iothread before it sets started; read-only afterwards.
	ctx      *AioContext
	tid      int
	cpus     affinity.CPUSet
	startErr error

	// stopping is owned by the iothread: set by the stop BH that Join
	// schedules, read by the loop. (A flag set from outside could be
	// missed between the check and the sleep: QEMU's 2019 fix.)
	stopping bool

	// started is set once ctx exists (or startErr says why it does not);
	// done is set by the iothread as its last act before its goroutine
	// (and with it the OS thread) ends.
	started Event
	done    Event
	joined  atomic.Bool
	// finalCPU is the thread's CPU time (ns), recorded on the thread just
	// before it ends; valid once done is set.
	finalCPU atomic.Int64

	// modeMu serialises SetWaitMode, so the busy-thread reservation and the
	// context's mode change together. Not on any wake path.
	modeMu sync.Mutex
}

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

// busyThreads counts live iothreads in WaitPoll mode, which each keep a Go
// P busy for ever.
var busyThreads atomic.Int32

// reserveBusy claims a busy-polling slot, or says how large GOMAXPROCS
// must be.
func reserveBusy() error {
	for {
		n := busyThreads.Load()
		procs := runtime.GOMAXPROCS(0)
		if int(n)+1 >= procs {
			return fmt.Errorf("aio: %d busy-polling iothreads need GOMAXPROCS >= %d (it is %d): each keeps a P busy, and the rest of the program needs one; raise GOMAXPROCS or use wait=adaptive or wait=block",
				n+1, n+2, procs)
		}
		// Compare-and-swap: two creators cannot both take the last slot.
		if busyThreads.CompareAndSwap(n, n+1) {
			return nil
		}
	}
}

func releaseBusy() { busyThreads.Add(-1) }

// BusyIOThreads returns how many live iothreads busy-poll ([WaitPoll]).
func BusyIOThreads() int { return int(busyThreads.Load()) }

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
	if o.mode == WaitPoll {
		if err := reserveBusy(); err != nil {
			return nil, err
		}
	}
	t := &IOThread{cpus: cpus}
	go t.run(o, nil)
	t.started.Wait()
	if t.startErr != nil {
		if o.mode == WaitPoll {
			releaseBusy()
		}
		return nil, t.startErr
	}
	return t, nil
}

// run is the iothread's goroutine (QEMU's iothread_run). moved, when not
// nil, is set once run is locked to a thread other than the main one.
func (t *IOThread) run(o ioOptions, moved *Event) {
	// Lock first, then look at which thread we got: a goroutine that ends
	// while locked to the main thread does not end the thread (the runtime
	// wedges it instead), so an iothread must not live there. If we got
	// the main thread, unlock (nothing has changed the thread yet), start
	// again in a new goroutine and hold the main thread in a system call
	// (Event.Wait) until that goroutine has locked another thread: while
	// we hold it, the new goroutine cannot run there. (Simply retrying
	// would land on the main thread again: the new goroutine is the next
	// one this thread runs.)
	runtime.LockOSThread()
	if unix.Gettid() == os.Getpid() {
		runtime.UnlockOSThread()
		var off Event
		go t.run(o, &off)
		off.Wait()
		return
	}
	if moved != nil {
		moved.Set()
	}
	if !t.cpus.IsEmpty() {
		if err := affinity.PinThread(t.cpus); err != nil {
			t.startErr = fmt.Errorf("aio: iothread: %w", err)
			// Set (release): NewIOThread reads startErr after its Wait.
			t.started.Set()
			return // still locked: the thread ends with the goroutine
		}
	}
	t.tid = unix.Gettid()
	ctx, err := NewContext()
	if err != nil {
		t.startErr = err
		t.started.Set()
		return
	}
	ctx.waitMode.Store(int32(o.mode))
	ctx.pollMaxNs.Store(o.maxNs)
	ctx.pollGrow.Store(o.grow)
	ctx.pollShrink.Store(o.shrink)
	t.ctx = ctx
	// Set (release): publishes ctx, tid to NewIOThread's Wait.
	t.started.Set()

	for !t.stopping {
		ctx.Poll(true)
	}

	ctx.Close()
	if ns, err := threadCPUTimeSelf(); err == nil {
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
func (t *IOThread) CPUs() affinity.CPUSet { return t.cpus }

// Run runs fn on the iothread and returns when fn has returned (QEMU's
// ctx_run in test-aio-multithread): a one-shot bottom half, then a wait on
// a futex event, never a channel. A panic in fn is raised again in the
// caller, and the iothread carries on. Called on the iothread itself, it
// runs fn directly. Running on a joined iothread panics.
func (t *IOThread) Run(fn func()) {
	if t.joined.Load() {
		panic(fmt.Sprintf("aio: Run on iothread %d after Join", t.tid))
	}
	if unix.Gettid() == t.tid {
		fn()
		return
	}
	var (
		done      Event
		panicked  bool
		panicking any
	)
	OneShot(t.ctx, func() {
		defer done.Set() // Set (release) publishes panicked/panicking
		defer func() {
			if r := recover(); r != nil {
				panicked, panicking = true, r
			}
		}()
		fn()
	})
	done.Wait()
	if panicked {
		panic(panicking)
	}
}

// Join stops the iothread and waits until its OS thread has ended (QEMU's
// iothread_join). The stop request is a bottom half that runs on the
// iothread, so it cannot be missed between the loop's check and its sleep.
// Bottom halves and coroutines still scheduled are not run; coroutines
// still suspended keep their goroutines (finish them first). It returns an
// error only when the thread has not ended within a few seconds.
func (t *IOThread) Join() error {
	if unix.Gettid() == t.tid {
		panic(fmt.Sprintf("aio: Join called on iothread %d itself (it would wait for its own end)", t.tid))
	}
	// Compare-and-swap: only the first Join stops the thread; Run loads
	// joined to refuse work that would never run.
	if !t.joined.CompareAndSwap(false, true) {
		return nil
	}
	OneShot(t.ctx, func() { t.stopping = true })
	t.done.Wait()
	if t.ctx.WaitMode() == WaitPoll {
		releaseBusy()
	}
	if err := osthread.Gone(t.tid, 5*time.Second); err != nil {
		return fmt.Errorf("aio: iothread: %w", err)
	}
	return nil
}

// SetWaitMode changes the iothread's wait mode at run time, checking
// GOMAXPROCS when it starts busy polling (see [WithWaitMode]).
func (t *IOThread) SetWaitMode(m WaitMode) error {
	t.modeMu.Lock()
	defer t.modeMu.Unlock()
	if m < 0 || int(m) >= len(waitModeNames) {
		return fmt.Errorf("aio: unknown wait mode %d", int32(m))
	}
	was := t.ctx.WaitMode() == WaitPoll
	if m == WaitPoll && !was {
		if err := reserveBusy(); err != nil {
			return err
		}
	}
	if m != WaitPoll && was {
		releaseBusy()
	}
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
// [ThreadCPUTime]); after the thread ended, the figure it recorded last.
func (t *IOThread) CPUTime() (time.Duration, error) {
	if t.done.IsSet() {
		return time.Duration(t.finalCPU.Load()), nil
	}
	d, err := ThreadCPUTime(t.tid)
	if err != nil && t.done.IsSet() { // ended meanwhile
		return time.Duration(t.finalCPU.Load()), nil
	}
	return d, err
}

// ThreadCPUClock returns the clock id of thread tid's CPU-time clock, for
// clock_gettime. The kernel encodes a thread CPU clock as
// (^tid << 3) | CPUCLOCK_PERTHREAD_MASK (4) | CPUCLOCK_SCHED (2)
// (include/linux/posix-timers.h, MAKE_THREAD_CPUCLOCK); glibc's
// pthread_getcpuclockid computes the same from the pthread's tid. Computing
// it from the tid lets any thread of the process read any other thread's
// CPU time without cgo or pthread handles, which Go threads do not expose.
// The sched clock (not CPUCLOCK_PROF or VIRT) counts user plus system time
// at scheduler precision.
func ThreadCPUClock(tid int) int32 {
	return ^int32(tid)<<3 | 4 | 2
}

// ThreadCPUTime returns the CPU time used so far by thread tid of this
// process. It fails (EINVAL) once the thread has ended.
func ThreadCPUTime(tid int) (time.Duration, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(ThreadCPUClock(tid), &ts); err != nil {
		return 0, fmt.Errorf("aio: CPU time of thread %d: %w", tid, err)
	}
	return time.Duration(ts.Nano()), nil
}

// threadCPUTimeSelf reads the calling thread's CPU time.
func threadCPUTimeSelf() (int64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, err
	}
	return ts.Nano(), nil
}
