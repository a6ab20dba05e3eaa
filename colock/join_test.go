package colock

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/coroutine"
	"github.com/pinbench/pinbench/internal/leakcheck"
)

// sideLimit bounds each wait of these tests for one side to get somewhere:
// a side that is stuck (asleep on a lost lock) fails the test naming it.
const sideLimit = 5 * time.Second

// within waits until cond holds, failing the test with what (the side
// that did not get there) after sideLimit.
func within(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(sideLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("stuck: %s within %v", what, sideLimit)
		}
		time.Sleep(time.Millisecond)
	}
}

// mustIOThreads starts n iothreads (see startIOThreads) for a test that
// joins them itself, failing it when they do not start.
func mustIOThreads(t *testing.T, n int) []*aio.IOThread {
	t.Helper()
	threads, err := startIOThreads(n)
	if err != nil {
		t.Fatal(err)
	}
	return threads
}

// joinRounds is how many times the holder on iothread A unlocks and locks
// again while iothread B, whose coroutines wait for the lock, is joined
// (issue 20, item 1).
const joinRounds = 200

// Issue 20, item 1: coroutines on iothread B sleep in Lock on a CoMutex
// held by a coroutine on iothread A; B is joined while A keeps unlocking
// and locking again. A wake-up pushed onto B's schedule queue after B's
// stop request, but before B's queue closed, used to be destroyed at
// Close with the lock: the mutex stayed locked with no holder, and A's
// next Lock slept for ever. The lock must pass to the next live waiter
// (A), B's Join must name every waiter that never ran, and no goroutine
// may be left behind (B's sleepers are ended at its Close).
func TestMutexSurvivesJoinOfWaitersThread(t *testing.T) {
	leakcheck.Check(t)
	ensureProcs(t, 3)
	// The window (a wake-up pushed between B's last drain and its Close)
	// is narrow: try it a few times.
	for try := range joinTries {
		if !survivesJoin(t, try) {
			return
		}
	}
}

// joinTries is how many times TestMutexSurvivesJoinOfWaitersThread plays
// its scenario.
const joinTries = 5

// survivesJoin plays TestMutexSurvivesJoinOfWaitersThread's scenario once
// and reports whether it passed.
func survivesJoin(t *testing.T, try int) bool {
	t.Helper()
	threads := mustIOThreads(t, 2)
	a, b := threads[0], threads[1]
	var (
		m              CoMutex
		rounds         atomic.Int64
		held, finished atomic.Bool
	)
	holder := a.Context().NewCoroutine(Entry(func(self *Self) {
		m.Lock(self)
		held.Store(true)
		self.Yield() // until B's waiters sleep
		for range joinRounds {
			m.Unlock(self)
			m.Lock(self)
			rounds.Add(1)
		}
		m.Unlock(self)
		finished.Store(true)
	}))
	aio.CoSchedule(holder)
	within(t, "the holder on iothread A did not take the lock", held.Load)
	waiters := make([]*coroutine.Coroutine, 3)
	for i := range waiters {
		waiters[i] = b.Context().NewCoroutine(Entry(func(self *Self) {
			for { // until B is joined under it
				m.Lock(self)
				m.Unlock(self)
				// Back through B's loop, which runs its bottom halves
				// (the stop request) between rounds: the waiters
				// would otherwise hand the lock to each other for ever
				// in one entry once A is done.
				aio.CoSchedule(self.Coroutine())
				self.Yield()
			}
		}))
		aio.CoSchedule(waiters[i])
		waitMark(t, waiters[i], whereMutex)
	}
	aio.CoSchedule(holder) // the rounds begin
	// Join B in the middle of the rounds, while wake-ups fly to it.
	within(t, "the holder on iothread A did not make a tenth of its rounds", func() bool { return rounds.Load() >= joinRounds/10 })
	joinErr := b.Join()
	within(t, fmt.Sprintf("try %d: the holder on iothread A did not finish its rounds (%d of %d made; the lock was lost at the join of iothread B: locked=%d, handoff=%d)",
		try, rounds.Load(), joinRounds, m.locked.Load(), m.handoff.Load()), finished.Load)
	if m.Locked() {
		t.Errorf("try %d: the mutex is locked after its last holder unlocked (locked=%d)", try, m.locked.Load())
	}
	// The lock still works on A.
	var later atomic.Bool
	aio.CoSchedule(a.Context().NewCoroutine(Entry(func(self *Self) {
		m.Lock(self)
		m.Unlock(self)
		later.Store(true)
	})))
	within(t, fmt.Sprintf("try %d: a later locker on iothread A did not get the lock", try), later.Load)
	if err := a.Join(); err != nil {
		t.Errorf("try %d: join of iothread A: %v", try, err)
	}
	if joinErr == nil {
		t.Errorf("try %d: the join of iothread B reported nothing, want each waiter that never ran", try)
		return false
	}
	for i, co := range waiters {
		if !strings.Contains(joinErr.Error(), fmt.Sprintf("coroutine %p", co)) {
			t.Errorf("try %d: the join of iothread B does not name waiter %d (%p), which never finished: %v", try, i, co, joinErr)
		}
	}
	return !t.Failed()
}

// The join of an iothread names the coroutines asleep on locks and queues
// that nobody will wake (here two in a deadlock and one on a CoQueue) and
// ends them: no goroutine is left parked (issue 20, item 2: Join used to
// return nil with a sleeper's goroutine parked for ever).
func TestJoinEndsLockSleepers(t *testing.T) {
	leakcheck.Check(t)
	ensureProcs(t, 2)
	threads := mustIOThreads(t, 1)
	it := threads[0]
	var (
		m1, m2 CoMutex
		q      CoQueue
		held1  atomic.Bool
	)
	c1 := it.Context().NewCoroutine(Entry(func(self *Self) {
		m1.Lock(self)
		held1.Store(true)
		self.Yield() // until c2 holds m2
		m2.Lock(self)
		t.Error("c1 took m2, which c2 holds")
	}))
	c2 := it.Context().NewCoroutine(Entry(func(self *Self) {
		m2.Lock(self)
		m1.Lock(self)
		t.Error("c2 took m1, which c1 holds")
	}))
	c3 := it.Context().NewCoroutine(Entry(func(self *Self) {
		q.Wait(self, nil) // nobody restarts it
		t.Error("c3 was restarted")
	}))
	aio.CoSchedule(c1)
	within(t, "c1 did not take m1", held1.Load)
	aio.CoSchedule(c2)
	waitMark(t, c2, whereMutex)
	aio.CoSchedule(c1)
	waitMark(t, c1, whereMutex)
	aio.CoSchedule(c3)
	waitMark(t, c3, whereQueue)
	err := it.Join()
	if err == nil {
		t.Fatal("Join reported nothing, want the three sleepers")
	}
	for _, want := range []string{
		fmt.Sprintf("coroutine %p asleep in '%s'", c1, whereMutex),
		fmt.Sprintf("coroutine %p asleep in '%s'", c2, whereMutex),
		fmt.Sprintf("coroutine %p asleep in '%s'", c3, whereQueue),
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Join said %q, want it to contain %q", err, want)
		}
	}
}

// windowTries bounds TestMutexWakeAtJoinPassesOn's attempts to land its
// wake-up in the window; it needs one.
const windowTries = 20

// Issue 20, item 1, without the luck: the wake-up that hands the lock to
// a waiter on iothread B is pushed exactly in the window, after B's stop
// request and before its Close. B is held in a bottom half while Join's
// stop request and a second bottom half queue behind it; that second one
// runs after B's last look at its schedule queue, and lets the holder on
// A unlock then. Close ends the waiter with the lock it never took: it
// must go back to A's next Lock, and B's Join must name the waiter.
func TestMutexWakeAtJoinPassesOn(t *testing.T) {
	leakcheck.Check(t)
	ensureProcs(t, 3)
	hits := 0
	for try := 0; try < windowTries && hits == 0; try++ {
		hit, ok := wakeAtJoin(t, try)
		if !ok {
			return
		}
		if hit {
			hits++
		}
	}
	if hits == 0 {
		t.Fatalf("in %d tries the wake-up never landed between the stop request and the Close (Join's stop request was not queued within the grace period each time)", windowTries)
	}
}

// wakeAtJoin plays one try of TestMutexWakeAtJoinPassesOn: hit says
// whether the wake-up landed in the window, ok whether the try passed.
func wakeAtJoin(t *testing.T, try int) (hit, ok bool) {
	t.Helper()
	threads := mustIOThreads(t, 2)
	a, b := threads[0], threads[1]
	var (
		m                        CoMutex
		held, unlocked, relocked atomic.Bool
	)
	holder := a.Context().NewCoroutine(Entry(func(self *Self) {
		m.Lock(self)
		held.Store(true)
		self.Yield() // until the window
		m.Unlock(self)
		unlocked.Store(true)
		m.Lock(self) // the waiter on B has it, or had
		relocked.Store(true)
		m.Unlock(self)
	}))
	aio.CoSchedule(holder)
	within(t, "the holder on iothread A did not take the lock", held.Load)
	waiter := b.Context().NewCoroutine(Entry(func(self *Self) {
		m.Lock(self)
		m.Unlock(self)
	}))
	aio.CoSchedule(waiter)
	waitMark(t, waiter, whereMutex)

	h := holdIOThread(b) // B's loop stops inside it
	<-h.held
	joined := make(chan error, 1)
	go func() { joined <- b.Join() }()
	within(t, "Join of iothread B did not start", b.Joining)
	time.Sleep(10 * time.Millisecond) // grace for Join to queue its stop request behind the hold
	aio.OneShot(b.Context(), func() {
		// B's last look at its schedule queue is behind us.
		aio.CoSchedule(holder) // unlocks: the wake-up goes to B
		deadline := time.Now().Add(sideLimit)
		for !unlocked.Load() && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	})
	h.release()
	joinErr := <-joined
	within(t, fmt.Sprintf("try %d: the holder on iothread A did not unlock", try), unlocked.Load)
	within(t, fmt.Sprintf("try %d: the holder on iothread A did not get the lock back from the waiter ended with iothread B (the lock was lost: locked=%d, handoff=%d)",
		try, m.locked.Load(), m.handoff.Load()), relocked.Load)
	if err := a.Join(); err != nil {
		t.Errorf("try %d: join of iothread A: %v", try, err)
	}
	if m.Locked() {
		t.Errorf("try %d: the mutex is locked after its last holder unlocked (locked=%d)", try, m.locked.Load())
	}
	if waiter.Finished() && joinErr == nil {
		return false, !t.Failed() // the waiter ran before the stop: not this time
	}
	if joinErr == nil || !strings.Contains(joinErr.Error(), fmt.Sprintf("coroutine %p", waiter)) {
		t.Errorf("try %d: the join of iothread B said %v, want it to name the waiter %p, which never ran", try, joinErr, waiter)
	}
	hit = joinErr != nil && strings.Contains(joinErr.Error(), fmt.Sprintf("coroutine %p scheduled in 'aio.TryCoWake'", waiter))
	return hit, !t.Failed()
}
