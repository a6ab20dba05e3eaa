package colock

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/coroutine"
	"github.com/pinbench/pinbench/internal/leakcheck"
)

// rig is a test's iothreads and the coroutines it runs on them, each with
// a name, so that the end of the test can say which coroutines never
// finished and where each one was, and end them before it joins the
// iothreads.
//
// Joining the iothreads under coroutines that are still at work is what
// killed the package's test binary once: a coroutine woke a waiter whose
// iothread had just been joined, and the wake-up panicked (aio.CoWake onto
// a closed context). Waiters are dropped now (aio.TryCoWake), but a
// coroutine left asleep on a lock keeps its goroutine for ever, and the
// only sign of it was the leak check's dump. The teardown stops the world
// first (see teardown).
type rig struct {
	threads []*aio.IOThread
	crew    []*member
	// torn is set by the first teardown; later calls do nothing.
	torn bool
}

// member is one coroutine of a rig.
type member struct {
	name string
	home int // index of its iothread in rig.threads
	co   *coroutine.Coroutine
	// done is set by the coroutine when its body has returned. Store on
	// the iothread, Load by the teardown: a true synchronizes after the
	// whole body.
	done atomic.Bool
}

// teardownLimit bounds each wait of the teardown: for an iothread to
// answer, for one to enter the coroutines scheduled on it, for a join.
const teardownLimit = 5 * time.Second

// newRig starts n iothreads for the test (see startIOThreads), with
// GOMAXPROCS raised to n+1, and tears the rig down when the test ends,
// failing the test with what teardown reports.
func newRig(t *testing.T, n int) *rig {
	t.Helper()
	ensureProcs(t, n+1)
	threads, err := startIOThreads(n)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{threads: threads}
	t.Cleanup(func() {
		if err := r.teardown(); err != nil {
			t.Error(err)
		}
	})
	return r
}

// start runs body through Entry in a new coroutine named name, homed on
// iothread i and scheduled there now. Only the test's goroutine calls it.
func (r *rig) start(name string, i int, body func(self *Self)) {
	m := &member{name: name, home: i}
	m.co = r.threads[i].Context().NewCoroutine(Entry(func(self *Self) {
		body(self)
		m.done.Store(true)
	}))
	r.crew = append(r.crew, m)
	aio.CoScheduleAt(m.co, "colock.rig.start")
}

// unfinished returns the members whose body has not returned.
func (r *rig) unfinished() []*member {
	var left []*member
	for _, m := range r.crew {
		if !m.done.Load() {
			left = append(left, m)
		}
	}
	return left
}

// teardown joins the iothreads. When every coroutine has finished, that is
// all. Otherwise it returns an error naming each unfinished coroutine and
// where it was, and ends them first, so that no wake-up lands on a joined
// iothread and no goroutine is left behind:
//
//  1. Hold every iothread in a bottom half (hold) that runs what the
//     teardown sends it. Bottom halves run between coroutine entries, so
//     once all are held no coroutine runs anywhere, and the state of each
//     can be read at leisure.
//  2. Then for each iothread in turn, the others held or already joined:
//     enter what is scheduled on it (a nested Poll, until nothing is left;
//     the coroutines may schedule others, on held iothreads, which enter
//     them in their own turn); end the unfinished coroutines homed there,
//     now asleep on a lock or suspended, with Thread.Destroy (the mark
//     sleep set is cleared first: nothing can wake them meanwhile, since
//     nothing else runs and the schedule queue is empty); release it and
//     join it before any other iothread runs again. A waker that later
//     pops one of the ended coroutines off a lock finds its home closed
//     and passes the lock on (aio.TryCoWake).
//
// An iothread that does not answer has a coroutine that never yields:
// nothing can be ended safely then, and the error says so.
func (r *rig) teardown() error {
	if r.torn {
		return nil
	}
	r.torn = true
	left := r.unfinished()
	if len(left) == 0 {
		return joinIOThreads(r.threads, teardownLimit)
	}
	holds := make([]*hold, len(r.threads))
	for i, it := range r.threads {
		if it.Context().Closed() {
			// Joined by the test: a hold that ran at once stands in.
			holds[i] = &hold{cmds: make(chan func()), held: make(chan struct{}), joined: true}
			close(holds[i].held)
			continue
		}
		holds[i] = holdIOThread(it)
	}
	deadline := time.After(teardownLimit)
	var deaf []string
	for i, h := range holds {
		select {
		case <-h.held:
		case <-deadline:
			deaf = append(deaf, fmt.Sprintf("iothread %d (thread %d)", i, r.threads[i].Tid()))
			deadline = time.After(0) // the others have had their time
		}
	}
	if len(deaf) > 0 {
		for _, h := range holds {
			h.release()
		}
		var names []string
		for _, m := range left {
			names = append(names, fmt.Sprintf("%s on iothread %d", m.name, m.home))
		}
		return errors.Join(
			fmt.Errorf("%d of %d coroutines had not finished when the test ended (%s), and %s did not answer within %v: a coroutine on it runs and never yields",
				len(left), len(r.crew), strings.Join(names, ", "), strings.Join(deaf, ", "), teardownLimit),
			joinIOThreads(r.threads, teardownLimit))
	}
	// Held: nothing finishes any more. Those that did meanwhile need
	// nothing.
	if left = r.unfinished(); len(left) == 0 {
		for _, h := range holds {
			h.release()
		}
		return joinIOThreads(r.threads, teardownLimit)
	}
	errs := []error{r.describe(left, holds)}
	for i := range r.threads {
		errs = append(errs, r.stop(i, holds[i]))
	}
	return errors.Join(errs...)
}

// describe names each unfinished coroutine and what it was doing, read on
// its iothread while every iothread is held.
func (r *rig) describe(left []*member, holds []*hold) error {
	var states []string
	for _, m := range left {
		state := "its iothread was joined while it slept"
		if h := holds[m.home]; !h.joined {
			h.do(func() { state = stateOf(m.co) })
		}
		states = append(states, fmt.Sprintf("%s on iothread %d (thread %d): %s", m.name, m.home, r.threads[m.home].Tid(), state))
	}
	return fmt.Errorf("%d of %d coroutines had not finished when the test ended: %s", len(left), len(r.crew), strings.Join(states, "; "))
}

// stateOf says what co, homed on the calling iothread, is doing: asleep on
// a lock (its mark names it), scheduled and not yet entered, or suspended
// with nobody to wake it.
func stateOf(co *coroutine.Coroutine) string {
	where, marked := co.Scheduled()
	switch {
	case co.Finished():
		return "ended without finishing its body"
	case marked && strings.HasPrefix(where, "colock."):
		return "asleep in " + where
	case marked:
		return fmt.Sprintf("scheduled in '%s', not yet entered by its iothread", where)
	default:
		return "suspended in Yield, scheduled nowhere"
	}
}

// stop is step 2 of teardown for iothread i, held by h.
func (r *rig) stop(i int, h *hold) error {
	if h.joined {
		return nil
	}
	ctx := r.threads[i].Context()
	var errs []error
	h.do(func() {
		deadline := time.Now().Add(teardownLimit)
		for ctx.Poll(false) {
			if time.Now().After(deadline) {
				// Its coroutines keep scheduling each other: ending
				// them would let a queued one wake an ended one here.
				errs = append(errs, fmt.Errorf("iothread %d: its coroutines were still being scheduled after %v of entering them; left as they are", i, teardownLimit))
				return
			}
		}
		for _, m := range r.crew {
			if m.home != i || m.done.Load() || m.co.Finished() {
				continue
			}
			m.co.ClearScheduled() // asleep on a lock: see teardown
			if err := destroy(ctx, m.co); err != nil {
				errs = append(errs, fmt.Errorf("ending %s: %v", m.name, err))
			}
		}
	})
	h.release()
	errs = append(errs, joinIOThreads(r.threads[i:i+1], teardownLimit))
	return errors.Join(errs...)
}

// destroy ends co, suspended on ctx's owner (the caller), returning a
// panic raised while its body unwinds as an error.
func destroy(ctx *aio.AioContext, co *coroutine.Coroutine) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	ctx.Thread().Destroy(co)
	return nil
}

// hold is a one-shot bottom half that keeps its iothread inside it,
// running the functions sent to it, until released.
type hold struct {
	cmds chan func()
	// held is closed once the bottom half runs.
	held chan struct{}
	// joined: the iothread was joined before the teardown; nothing runs
	// there.
	joined bool
}

// holdIOThread schedules a hold on it.
func holdIOThread(it *aio.IOThread) *hold {
	h := &hold{cmds: make(chan func()), held: make(chan struct{})}
	aio.OneShot(it.Context(), func() {
		close(h.held)
		for fn := range h.cmds {
			fn()
		}
	})
	return h
}

// do runs fn on the held iothread and returns when it has returned. Call
// it only once held is closed.
func (h *hold) do(fn func()) {
	done := make(chan struct{})
	h.cmds <- func() {
		defer close(done)
		fn()
	}
	<-done
}

// release lets the iothread go on (at once when the hold has not run
// yet: it then returns as soon as it runs).
func (h *hold) release() { close(h.cmds) }

// waitMark waits until co is marked scheduled in where (asleep on that
// lock), failing the test after teardownLimit.
func waitMark(t *testing.T, co *coroutine.Coroutine, where string) {
	t.Helper()
	deadline := time.Now().Add(teardownLimit)
	for {
		if w, ok := co.Scheduled(); ok && w == where {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("coroutine %p not asleep in %s after %v", co, where, teardownLimit)
		}
		time.Sleep(time.Millisecond)
	}
}

// The teardown names each coroutine left asleep (on a CoQueue, on a
// CoMutex, in a bare yield) and ends them, so that the iothreads join and
// no goroutine is left behind.
func TestRigEndsSleepers(t *testing.T) {
	leakcheck.Check(t)
	r := newRig(t, 2)
	var (
		m    CoMutex
		q    CoQueue
		held atomic.Bool
	)
	r.start("waiter", 0, func(self *Self) {
		m.Lock(self)
		q.Wait(self, &m) // nobody restarts it
		m.Unlock(self)
	})
	waitMark(t, r.crew[0].co, whereQueue)
	r.start("holder", 1, func(self *Self) {
		m.Lock(self)
		held.Store(true)
		self.Yield() // nobody enters it again
		m.Unlock(self)
	})
	for !held.Load() {
		time.Sleep(time.Millisecond)
	}
	r.start("locker", 0, func(self *Self) {
		m.Lock(self) // behind the holder, for ever
		m.Unlock(self)
	})
	waitMark(t, r.crew[2].co, whereMutex)
	err := r.teardown()
	if err == nil {
		t.Fatal("teardown reported nothing, want the three sleepers")
	}
	for _, want := range []string{
		"3 of 3 coroutines had not finished",
		fmt.Sprintf("waiter on iothread 0 (thread %d): asleep in colock.CoQueue.Wait", r.threads[0].Tid()),
		fmt.Sprintf("holder on iothread 1 (thread %d): suspended in Yield, scheduled nowhere", r.threads[1].Tid()),
		fmt.Sprintf("locker on iothread 0 (thread %d): asleep in colock.CoMutex.Lock", r.threads[0].Tid()),
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("teardown said %q, want it to contain %q", err, want)
		}
	}
	if strings.Count(err.Error(), "\n") != 0 {
		t.Errorf("teardown reported more than the sleepers: %q", err)
	}
}

// The teardown of a rig whose coroutines are still at work, waking each
// other across iothreads, stops them without a wake-up onto a joined
// iothread (the cleanup that once panicked in aio.CoWake) and leaves no
// goroutine behind.
func TestRigStopsLiveCoroutines(t *testing.T) {
	leakcheck.Check(t)
	for range 10 {
		r := newRig(t, 2)
		var (
			m      CoMutex
			turn   int // guarded by m
			qs     [2]CoQueue
			rounds atomic.Int64
		)
		for i, name := range []string{"ping", "pong"} {
			r.start(name, i, func(self *Self) {
				for {
					m.Lock(self)
					for turn != i {
						qs[i].Wait(self, &m)
					}
					turn = 1 - i
					qs[1-i].Next(self.Context())
					m.Unlock(self)
					rounds.Add(1)
				}
			})
		}
		deadline := time.Now().Add(teardownLimit)
		for rounds.Load() < 1000 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		err := r.teardown()
		if err == nil {
			t.Fatal("teardown reported nothing, want ping and pong")
		}
		for _, want := range []string{"2 of 2 coroutines had not finished", "ping on iothread 0", "pong on iothread 1"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("teardown said %q, want it to contain %q", err, want)
			}
		}
		if strings.Count(err.Error(), "\n") != 0 {
			t.Errorf("teardown reported more than the two coroutines: %q", err)
		}
	}
}
