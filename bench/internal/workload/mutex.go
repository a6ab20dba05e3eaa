// Package workload runs the suite's contended workloads on pinned
// iothreads, each under the harness's watchdog: QEMU's mutex loop
// (RunMutex), many producers handing items to one consumer (RunQueue) and
// the random schedule of QEMU's test-aio-multithread (RunSchedule).
//
// Who may call what: each Run function from any goroutine, starting and
// joining its own threads; a start hook (OnStart, onClock) runs on one
// of the run's threads while the caller waits, and must not block.
package workload

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/colock"
	"github.com/pinbench/pinbench/internal/cacheline"
	"github.com/pinbench/pinbench/internal/harness"
	"github.com/pinbench/pinbench/internal/spinwait"
	"golang.org/x/sys/unix"
)

// MutexImpls are the locks RunMutex runs: colock's CoMutex, the
// MCS lock on a futex of QEMU's test (colock.MCS) and Go's sync.Mutex (in
// QEMU's test, a pthread mutex).
var MutexImpls = []string{"comutex", "mcs", "sync"}

// MutexConfig says how to run the lock loop of QEMU's test-aio-multithread
// mutex tests.
type MutexConfig struct {
	// Impl is one of MutexImpls.
	Impl string
	// CPUs holds one entry per iothread: the CPU it is pinned to, or
	// Unpinned.
	CPUs []int
	// Ops is how many lock-increment-unlock iterations to time, over all
	// the coroutines together.
	Ops int
	// Timeout fails the run when no iteration completes for that long.
	Timeout time.Duration
	// TimeLimit, when positive, also ends the run once that long has
	// passed since the start line, with the iterations made by then
	// counted (at least one). A benchmark passes its -benchtime: see
	// startLine for why.
	TimeLimit time.Duration
	// OnStart, when set, is called once every coroutine stands at the
	// start line, just before they are let go, so that set-up is not
	// counted (a benchmark's ResetTimer). It is called on the iothread of
	// the last coroutine to arrive, while the caller of RunMutex waits;
	// it must not block.
	OnStart func()
}

// MutexResult is what one RunMutex measured.
type MutexResult struct {
	// Ops is the number of iterations timed, Elapsed the time from the
	// coroutines' release at the start line to the Ops'th, or, when the
	// time limit ended the run first, the iterations made and the time
	// to the last coroutine's end.
	Ops     int64
	Elapsed time.Duration
	// Handoffs counts the times the lock passed to a waiter on another
	// context (comutex: colock.MutexStats.Remote; mcs: every handoff,
	// each participant being its own iothread); -1 when not known (sync).
	Handoffs int64
	// Wakes counts futex wakes issued to the iothreads' event loops
	// (aio.ContextStats.Wakes).
	Wakes int64
}

// mutexRun is one RunMutex: the shared state of its coroutines. Each
// coroutine runs loop (and through it startLine) on its own iothread;
// RunMutex's goroutine alone calls wait, untilLimit and startLineMissing,
// and reads the plain fields only after the ended event (or, for the
// messages, the atomic ones at any time).
type mutexRun struct {
	cfg MutexConfig
	// lock, unlock: the implementation's critical-section entry and exit
	// for coroutine id.
	lock, unlock func(self *colock.Self, id int)
	// hot holds the protected counter, the iteration count and the
	// CoMutex, as QEMU's test lays them out (see hotLine).
	hot     *hotLine
	_       [cacheline.Pad]byte
	stop    atomic.Bool
	_       [cacheline.Pad]byte
	start   time.Time
	elapsed time.Duration
	// running counts coroutines not yet ended; the last one sets ended.
	running atomic.Int32
	ended   aio.Event
	// finished[i] is set when coroutine i ended, for the stall message.
	finished []atomic.Bool
	// The start line (see startLine): arrived counts the coroutines that
	// entered their body; the last one starts the clock and sets
	// released. atLine[i] is set when coroutine i arrived, gaveUp when
	// one waited there past the timeout; both only for the messages.
	arrived  atomic.Int32
	_        [cacheline.Pad]byte
	released atomic.Bool
	_        [cacheline.Pad]byte
	atLine   []atomic.Bool
	gaveUp   atomic.Bool
	// base is taken by RunMutex before the coroutines are scheduled;
	// releasedAt is the release's time after base, for the time limit.
	base       time.Time
	releasedAt atomic.Int64
}

// hotLine is what every iteration of QEMU's loop writes, laid out as the
// globals of QEMU's test-aio-multithread lie in its binary (nm: comutex at
// +0 of a 64-byte line, counter at +48, atomic_counter at +56): one cache
// line, so that a lock that changes thread moves one line, not three. The
// rest of the CoMutex (its handoff sequence and statistics, slow paths
// only) spills onto a second line; QEMU's CoMutex has no statistics.
//
// counter is the protected counter (QEMU's counter); done counts
// iterations after each unlock (QEMU's atomic_counter), and the coroutine
// whose iteration makes it reach Ops stops the clock. comutex is the lock
// of the comutex runs; the others leave it alone.
type hotLine struct {
	counter uint32
	_       uint32
	done    atomic.Int64
	comutex colock.CoMutex
	// Padding to 128 bytes, a size class of Go's allocator whose objects
	// start at multiples of 128 bytes: the line above is then a whole
	// cache line (64 bytes on every machine the suite runs on). It does
	// not compile once CoMutex outgrows 112 bytes.
	_ [128 - 16 - unsafe.Sizeof(colock.CoMutex{})]byte
}

// RunMutex starts one iothread per entry of cfg.CPUs (blocking waits, as
// the iothreads of QEMU's test have no poll window), one coroutine on
// each, and, once every coroutine is at the start line, runs QEMU's loop
// in every coroutine (lock, counter++, unlock, then an atomic increment of
// the iteration count) until cfg.Ops iterations were made or cfg.TimeLimit
// passed. It checks QEMU's invariant (the counter equals the iterations
// made) and joins the iothreads. A run in which no iteration completes for
// cfg.Timeout fails naming the coroutines that did not end (or did not
// reach the start line);
// their iothreads are then left behind, since a thread asleep in the
// kernel (mcs) or in the Go scheduler (sync) cannot be joined.
func RunMutex(cfg MutexConfig) (res MutexResult, err error) {
	if cfg.Ops < 1 {
		cfg.Ops = 1
	}
	if err := harness.DefaultTimeout(&cfg.Timeout); err != nil {
		return MutexResult{}, err
	}
	r := &mutexRun{cfg: cfg, hot: new(hotLine), finished: make([]atomic.Bool, len(cfg.CPUs)), atLine: make([]atomic.Bool, len(cfg.CPUs))}
	handoffs, err := r.pickLock()
	if err != nil {
		return res, err
	}
	sets := make([]affinity.CPUSet, len(cfg.CPUs))
	for i, cpu := range cfg.CPUs {
		sets[i] = harness.OnCPU(cpu)
	}
	threads, err := newIOThreads(sets, aio.WithWaitMode(aio.WaitBlock))
	if err != nil {
		return res, err
	}
	stalled := false
	defer func() {
		if stalled {
			return
		}
		if jerr := aio.JoinAll(threads...); jerr != nil && err == nil {
			err = jerr
		}
	}()
	wakes0 := wakes(threads)
	if err := r.run(threads); err != nil {
		stalled = true
		return res, err
	}
	if err := r.check(); err != nil {
		return res, err
	}
	return MutexResult{Ops: min(int64(cfg.Ops), r.hot.done.Load()), Elapsed: r.elapsed, Handoffs: handoffs(), Wakes: wakes(threads) - wakes0}, nil
}

// pickLock sets the run's lock and unlock to cfg.Impl's, and returns how
// to count its remote handoffs afterwards (-1: not known).
func (r *mutexRun) pickLock() (handoffs func() int64, err error) {
	switch r.cfg.Impl {
	case "comutex":
		comutex := &r.hot.comutex
		r.lock = func(self *colock.Self, _ int) { comutex.Lock(self) }
		r.unlock = func(self *colock.Self, _ int) { comutex.Unlock(self) }
		return func() int64 { return int64(comutex.Stats().Remote) }, nil
	case "mcs":
		mcs := colock.NewMCS(len(r.cfg.CPUs))
		r.lock = func(_ *colock.Self, id int) { mcs.Lock(id) }
		r.unlock = func(_ *colock.Self, id int) { mcs.Unlock(id) }
		return func() int64 { return int64(mcs.Handoffs()) }, nil
	case "sync":
		mu := new(sync.Mutex)
		r.lock = func(*colock.Self, int) { mu.Lock() }
		r.unlock = func(*colock.Self, int) { mu.Unlock() }
		return func() int64 { return -1 }, nil
	}
	return nil, fmt.Errorf("unknown mutex implementation %q (want one of %s)", r.cfg.Impl, strings.Join(MutexImpls, ", "))
}

// run starts one coroutine of loop on each iothread and waits for them
// all to end (see wait).
func (r *mutexRun) run(threads []*aio.IOThread) error {
	cos := make([]func(), len(threads))
	for i, t := range threads {
		ctx := t.Context()
		co := ctx.NewCoroutine(colock.Entry(func(self *colock.Self) { r.loop(self, i, ctx) }))
		cos[i] = func() { aio.CoScheduleAt(co, "workload.RunMutex") }
	}
	// Store: before the CoSchedules below, each of which synchronizes
	// before its coroutine's entry, so every coroutine sees the count.
	r.running.Store(int32(len(threads)))
	r.base = time.Now()
	for _, schedule := range cos {
		schedule()
	}
	return r.wait(threads)
}

// check, after the run, fails it when a coroutine gave up at the start
// line or the counter shows that two coroutines held the lock at once.
func (r *mutexRun) check() error {
	if r.gaveUp.Load() {
		return fmt.Errorf("stalled: %s: %s", r.cfg.Impl, r.startLineMissing())
	}
	if r.hot.counter != uint32(r.hot.done.Load()) {
		return fmt.Errorf("%s: counter %d after %d iterations: the lock let two coroutines in at once", r.cfg.Impl, r.hot.counter, r.hot.done.Load())
	}
	return nil
}

// wakes sums the futex wakes issued to the iothreads' event loops.
func wakes(threads []*aio.IOThread) (n int64) {
	for _, t := range threads {
		n += int64(t.Stats().Wakes)
	}
	return n
}

// loop is coroutine id's body on ctx's iothread: QEMU's
// test_multi_co_mutex_entry, with a Checkpoint every checkpointEvery
// iterations.
func (r *mutexRun) loop(self *colock.Self, id int, ctx *aio.AioContext) {
	ops := int64(r.cfg.Ops)
	r.startLine(id)
	// stop is only ever seen late, never wrongly: a coroutine that misses
	// the Store runs one more iteration. Nothing is published through it.
	for i := 1; !r.stop.Load(); i++ {
		if i%checkpointEvery == 0 {
			ctx.Checkpoint()
		}
		r.lock(self, id)
		r.hot.counter++
		r.unlock(self, id)
		// After the unlock, as QEMU's atomic_counter (counting under the
		// lock would make the last woken coroutine's exit race with the
		// stop). The Adds of done are totally ordered, so exactly one of
		// them returns ops; that coroutine alone writes elapsed, which
		// RunMutex reads after the ended event (see running below).
		if r.hot.done.Add(1) == ops {
			r.elapsed = time.Since(r.start)
			r.stop.Store(true)
		}
	}
	// Read only for the stall message: a stale false names a coroutine
	// that is just ending.
	r.finished[id].Store(true)
	// Add: each coroutine's Add reads the value the one before it wrote,
	// so every coroutine's Add synchronizes before the last one's, which
	// sets ended; that Set synchronizes before the return of wait's
	// WaitTimeout. So everything each coroutine did (its counter
	// increments, elapsed) is visible to RunMutex after wait, and the last
	// one reads every other's done Adds: when they fall short of ops, the
	// time limit ended the run and nobody wrote elapsed.
	if r.running.Add(-1) == 0 {
		if r.hot.done.Load() < ops {
			r.elapsed = time.Since(r.start)
		}
		r.ended.Set()
	}
}

// checkpointEvery is how many iterations of the lock loop pass between
// two of its Checkpoints: the MCS and sync loops never return to the event
// loop, and the CoMutex loop only while it waits, yet the event loop's
// sleeps are where the Go scheduler otherwise sees the iothread (package
// schedpass says what happens when nothing does: about 6 µs more on each
// MCS pass on the 2-CPU VM). 64 iterations take from 4 µs (an
// uncontended CoMutex) to a millisecond (the MCS lock, 5 threads on 2
// CPUs), so the clock read costs under 1% of the loop, and a pass falls
// due well before the runtime's 10 ms.
const checkpointEvery = 64

// startLine holds coroutine id until every coroutine has entered its body,
// so that a run is contended from its first iteration; the last to arrive
// starts the clock and lets them all go. Without it the first coroutine
// entered ran alone while the other iothreads were still waking: on the
// 2-CPU VM an unpinned MCS run of 100k iterations saw no handoff at all
// (13 ns an iteration) where one of 10M saw one in 30 (250 ns).
//
// The start line alone does not make a run's cost linear in its
// iterations: with more coroutines than CPUs, or unpinned ones, a short
// run fits in one scheduler time slice and a long one does not. Testing's
// b.N ramp predicts the final run from the short ones, and overshot: MCS
// at -benchtime 100ms ran 15 s on the VM, and up to 177 s in an emulated
// 16-CPU guest. So a benchmark also bounds each run by its -benchtime
// (MutexConfig.TimeLimit); the iterations and time it reports are those
// made, as QEMU's time-based test reports them.
//
// The waiters spin rather than sleep: a release through a futex would
// hand the first thread to wake a head start of one wake-up, which on a VM
// (an idle vCPU woken by the host) is again long enough for thousands of
// iterations. They yield the CPU between short spins, for the runs with
// more coroutines than CPUs. A coroutine that waits longer than the
// timeout sets stop and gaveUp and ends without iterating; RunMutex then
// names the coroutines that never arrived.
func (r *mutexRun) startLine(id int) {
	r.atLine[id].Store(true)
	// Add: totally ordered, so exactly one coroutine sees the full count.
	if int(r.arrived.Add(1)) == len(r.cfg.CPUs) {
		if r.cfg.OnStart != nil {
			r.cfg.OnStart()
		}
		r.start = time.Now()
		r.releasedAt.Store(int64(r.start.Sub(r.base)))
		// Store: after the start is written and the caller's OnStart
		// ran, and every waiter's Load that sees it synchronizes after
		// it, so the coroutine that later writes elapsed reads this
		// start, and RunMutex's wait, seeing it, reads releasedAt.
		r.released.Store(true)
		return
	}
	deadline := time.Now().Add(r.cfg.Timeout)
	for i := 1; !r.released.Load(); i++ {
		spinwait.Pause()
		if i%64 == 0 {
			yieldCPU()
			if time.Now().After(deadline) {
				// Stop: any coroutine released after this ends without
				// iterating; gaveUp is read after the ended event.
				r.stop.Store(true)
				r.gaveUp.Store(true)
				return
			}
		}
	}
}

// startLineMissing names the coroutines that did not reach the start line.
func (r *mutexRun) startLineMissing() string {
	var missing []string
	for i := range r.atLine {
		if !r.atLine[i].Load() {
			missing = append(missing, fmt.Sprintf("coroutine %d on iothread %d (%s)", i, i, harness.CPUName(r.cfg.CPUs[i])))
		}
	}
	return fmt.Sprintf("%d of %d coroutines reached the start line within %v; not there: %s",
		r.arrived.Load(), len(r.cfg.CPUs), r.cfg.Timeout, strings.Join(missing, ", "))
}

// yieldCPU gives the thread's CPU to another runnable thread
// (sched_yield). runtime.Gosched would not: an iothread's goroutine is
// locked to its thread, and Gosched yields only the goroutine.
func yieldCPU() { unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0) }

// wait blocks until every coroutine has ended, failing when the iteration
// count does not move for the timeout. The caller sleeps on the ended
// event and looks at the count once a second, and wakes at the time limit
// to set stop.
func (r *mutexRun) wait(threads []*aio.IOThread) error {
	last, lastChange := int64(-1), time.Now()
	limited := r.cfg.TimeLimit > 0
	for {
		step := min(time.Second, r.cfg.Timeout)
		if limited {
			// At least a millisecond: past the limit with no iteration
			// made yet, the caller polls rather than spins.
			step = min(step, max(r.untilLimit(), time.Millisecond))
		}
		if r.ended.WaitTimeout(step) {
			return nil
		}
		if limited && r.untilLimit() <= 0 && r.hot.done.Load() > 0 {
			// Stop: seen late by each coroutine, which then finishes
			// its iteration; done counts every iteration made.
			r.stop.Store(true)
			limited = false
		}
		if n := r.hot.done.Load(); n != last {
			last, lastChange = n, time.Now()
			continue
		}
		if time.Since(lastChange) <= r.cfg.Timeout {
			continue
		}
		if int(r.arrived.Load()) < len(threads) {
			return fmt.Errorf("stalled: %s: %s", r.cfg.Impl, r.startLineMissing())
		}
		var stuck []string
		for i := range threads {
			if !r.finished[i].Load() {
				stuck = append(stuck, fmt.Sprintf("coroutine %d on iothread %d (%s)", i, i, harness.CPUName(r.cfg.CPUs[i])))
			}
		}
		return fmt.Errorf("stalled: %s: no iteration for %v (after %d of %d); not ended: %s",
			r.cfg.Impl, r.cfg.Timeout, last, r.cfg.Ops, strings.Join(stuck, ", "))
	}
}

// untilLimit is how long the run has left before its time limit: before
// the release, a short poll for it.
func (r *mutexRun) untilLimit() time.Duration {
	if !r.released.Load() {
		return max(r.cfg.TimeLimit/16, time.Millisecond)
	}
	return r.cfg.TimeLimit - (time.Since(r.base) - time.Duration(r.releasedAt.Load()))
}

// newIOThreads starts one iothread per pin set (empty: not pinned), with
// opts. On an error the ones already started are joined.
func newIOThreads(sets []affinity.CPUSet, opts ...aio.Option) ([]*aio.IOThread, error) {
	threads := make([]*aio.IOThread, 0, len(sets))
	for i, set := range sets {
		t, err := aio.NewIOThread(set, opts...)
		if err != nil {
			aio.JoinAll(threads...)
			return nil, fmt.Errorf("iothread %d: %w", i, err)
		}
		threads = append(threads, t)
	}
	return threads, nil
}
