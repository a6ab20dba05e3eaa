package aio

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/coroutine"
	"github.com/pinbench/pinbench/internal/leakcheck"
	"github.com/pinbench/pinbench/internal/testcheck"
)

// The lifecycle tests of issue 11: each fails (within seconds, never by
// hanging) on the code before its fix.

// within runs fn on a new goroutine and fails the test, naming what, if
// fn has not returned after d. A stuck fn's goroutine is left behind: the
// test has failed anyway.
func within(t *testing.T, d time.Duration, what string, fn func()) {
	t.Helper()
	var done Event
	go func() {
		defer done.Set()
		fn()
	}()
	if !done.WaitTimeout(d) {
		t.Fatalf("%s: still blocked after %v", what, d)
	}
}

// waitFor waits for e, failing the test naming what after a few seconds.
func waitFor(t *testing.T, e *Event, what string) {
	t.Helper()
	if !e.WaitTimeout(5 * time.Second) {
		t.Fatalf("%s: not done after 5s", what)
	}
}

// Item 1: Run racing Join never blocks; after Join it returns an error
// naming the iothread.
func TestRunRacingJoin(t *testing.T) {
	leakcheck.Goroutines(t)
	trials := quickOrSlow(100, 2000)
	for trial := range trials {
		it := newIOThread(t)
		var wg sync.WaitGroup
		runErr := make(chan error, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if err := it.Run(func() {}); err != nil {
					runErr <- err
					return
				}
			}
		}()
		if trial%2 == 1 {
			runtime.Gosched()
		}
		within(t, 10*time.Second, fmt.Sprintf("trial %d: Join and a Run racing with it", trial), func() {
			if err := it.Join(); err != nil {
				t.Error(err)
			}
			wg.Wait()
		})
		if err := <-runErr; !strings.Contains(err.Error(), fmt.Sprintf("iothread %d", it.Tid())) {
			t.Fatalf("Run after Join: %v; want an error naming iothread %d", err, it.Tid())
		}
	}
}

// Item 2: a bottom half that polls until a bottom half queued behind it in
// the same batch has run (AIO_WAIT_WHILE) does not wait for ever: nested
// polls run the outer batch's remainder first, as QEMU's slice list does.
func TestNestedPollRunsOuterBatch(t *testing.T) {
	for _, order := range []string{"A then B", "B then A"} {
		t.Run(order, func(t *testing.T) {
			within(t, 5*time.Second, "bottom half A polling until B has run", func() {
				c := newTestContext(t)
				bRan, aRan := false, false
				a := c.NewBH(func() {
					for !bRan {
						c.Poll(true)
					}
					aRan = true
				})
				b := c.NewBH(func() { bRan = true })
				if order == "A then B" {
					a.Schedule()
					b.Schedule()
				} else {
					b.Schedule()
					a.Schedule()
				}
				for !aRan {
					c.Poll(true)
				}
			})
		})
	}
}

// Item 3: work sent to a joined iothread panics with a sentence naming the
// context and the caller; work still queued when the loop ends is reported
// by Join, and suspended coroutines among it are destroyed (their
// goroutines end).
func TestJoinedContextIsDead(t *testing.T) {
	leakcheck.Check(t)
	it := newIOThread(t)
	ctx := it.Context()
	co := ctx.NewCoroutine(func(self *coroutine.Coroutine) { self.Yield() })
	bh := ctx.NewBH(func() {})
	if err := it.Join(); err != nil {
		t.Fatal(err)
	}
	if !ctx.Closed() {
		t.Fatal("context not closed after Join")
	}
	name := fmt.Sprintf("iothread %d", it.Tid())
	for what, f := range map[string]func(){
		"CoSchedule":   func() { CoSchedule(co) },
		"CoScheduleAt": func() { CoScheduleAt(co, "a-test-place") },
		"CoWake":       func() { (*AioContext)(nil).CoWake(co) },
		"OneShot":      func() { OneShot(ctx, func() {}) },
		"BH.Schedule":  func() { bh.Schedule() },
	} {
		t.Run(what, func(t *testing.T) {
			testcheck.Panics(t, name, f)
			testcheck.Panics(t, "lifecycle_test.go", f) // the caller's place
			if _, ok := co.Scheduled(); ok {
				t.Fatal("a refused CoSchedule left the coroutine marked scheduled")
			}
		})
	}
	if err := it.SetWaitMode(WaitBlock); err == nil || !strings.Contains(err.Error(), name) {
		t.Fatalf("SetWaitMode after Join: %v; want an error naming %s", err, name)
	}
}

func TestJoinReportsLeakedWork(t *testing.T) {
	leakcheck.Check(t)
	it := newIOThread(t)
	ctx := it.Context()
	unwound := false
	suspended := ctx.NewCoroutine(func(self *coroutine.Coroutine) {
		defer func() { unwound = true }()
		self.Yield()
		t.Error("the leaked coroutine ran after Join")
	})
	mustRun(t, it, func() { ctx.Thread().Enter(suspended) })
	// One bottom half that stops the loop (as Join's does) and queues work
	// behind it that the loop will never get to.
	mustRun(t, it, func() {
		it.stopping = true
		OneShot(ctx, leakedCallback)
		CoScheduleAt(suspended, "TestJoinReportsLeakedWork")
	})
	err := it.Join()
	if err == nil {
		t.Fatal("Join reported nothing; want the leaked bottom half and coroutine")
	}
	for _, want := range []string{"leakedCallback", "scheduled in 'TestJoinReportsLeakedWork'", fmt.Sprintf("iothread %d", it.Tid())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Join error %q lacks %q", err, want)
		}
	}
	if !unwound || !suspended.Finished() {
		t.Error("the leaked suspended coroutine was not destroyed")
	}
}

func leakedCallback() {}

// JoinAll joins every iothread it is given, nil ones skipped, and returns
// the first error without stopping at it.
func TestJoinAll(t *testing.T) {
	leakcheck.Check(t)
	var threads []*IOThread
	for range 3 {
		threads = append(threads, newIOThread(t))
	}
	if err := threads[0].Run(runtime.Goexit); err == nil {
		t.Fatal("Run(runtime.Goexit) returned no error")
	}
	err := JoinAll(nil, threads[0], nil, threads[1], threads[2])
	if err == nil || !strings.Contains(err.Error(), "ended without being joined") {
		t.Fatalf("JoinAll = %v; want the first iothread's Join error", err)
	}
	for i, it := range threads {
		if !it.Joining() {
			t.Errorf("iothread %d was not joined", i)
		}
	}
	if err := JoinAll(); err != nil {
		t.Fatalf("JoinAll() = %v, want nil", err)
	}
}

// Item 4: runtime.Goexit on the iothread (t.FailNow does it) ends the loop;
// Run callers and Join get errors within seconds instead of waiting for
// ever, including a Run whose bottom half was queued behind the Goexit.
func TestGoexitOnIOThread(t *testing.T) {
	t.Run("in Run", func(t *testing.T) {
		leakcheck.Check(t)
		it := newIOThread(t)
		var err error
		within(t, 5*time.Second, "Run of a fn that calls runtime.Goexit", func() {
			err = it.Run(runtime.Goexit)
		})
		if err == nil || !strings.Contains(err.Error(), "Goexit") {
			t.Fatalf("Run(runtime.Goexit) = %v; want an error naming Goexit", err)
		}
		within(t, 5*time.Second, "Join after a Goexit", func() { err = it.Join() })
		if err == nil || !strings.Contains(err.Error(), "ended without being joined") {
			t.Fatalf("Join = %v; want an error saying how the loop ended", err)
		}
	})
	t.Run("in a coroutine, with a Run queued behind", func(t *testing.T) {
		leakcheck.Check(t)
		it := newIOThread(t)
		ctx := it.Context()
		release := make(chan struct{})
		var blocked, first Event
		go func() { // holds the iothread inside a bottom half
			defer first.Set()
			if err := it.Run(func() { blocked.Set(); <-release }); err != nil {
				t.Error(err)
			}
		}()
		waitFor(t, &blocked, "iothread blocked in Run")
		CoSchedule(ctx.NewCoroutine(func(*coroutine.Coroutine) { runtime.Goexit() }))
		OneShot(ctx, func() {}) // makes the next Poll take the bottom halves
		h := ctx.bhs.head.Load()
		var queued Event
		var lateErr error
		ran := false
		go func() {
			defer queued.Set()
			lateErr = it.Run(func() { ran = true })
		}()
		for deadline := time.Now().Add(5 * time.Second); ctx.bhs.head.Load() == h; {
			if time.Now().After(deadline) {
				t.Fatal("the second Run's bottom half was never queued")
			}
			runtime.Gosched()
		}
		close(release)
		waitFor(t, &first, "the first Run")
		waitFor(t, &queued, "a Run queued behind a Goexit")
		if ran || lateErr == nil || !strings.Contains(lateErr.Error(), "stopped before fn ran") {
			t.Fatalf("Run queued behind the Goexit: ran %v, error %v; want an error saying it never ran", ran, lateErr)
		}
		var err error
		within(t, 5*time.Second, "Join after a Goexit", func() { err = it.Join() })
		if err == nil || !strings.Contains(err.Error(), "ended without being joined") {
			t.Fatalf("Join = %v; want an error saying how the loop ended", err)
		}
	})
}

// Item 5: misuse that the runtime would answer with an uncatchable throw
// ("coro: OS thread locking must match locking at coroutine creation")
// panics with a sentence instead, and the iothread carries on.
func TestMisuseIsASentence(t *testing.T) {
	leakcheck.Check(t)
	allowed, err := affinity.Allowed()
	if err != nil {
		t.Fatal(err)
	}
	it := newIOThread(t)
	defer func() {
		if err := it.Join(); err != nil {
			t.Error(err)
		}
	}()
	ctx := it.Context()
	co := ctx.NewCoroutine(func(self *coroutine.Coroutine) {
		for {
			self.Yield()
		}
	})
	mustRun(t, it, func() { ctx.Thread().Enter(co) })
	defer mustRun(t, it, func() { ctx.Thread().Destroy(co) })
	// A round trip through the coroutine on its home thread: still works.
	alive := func() {
		t.Helper()
		var done Event
		probe := ctx.NewCoroutine(func(*coroutine.Coroutine) { done.Set() })
		CoSchedule(probe)
		waitFor(t, &done, "a coroutine on the iothread")
		mustRun(t, it, func() { ctx.Thread().Enter(co) })
	}

	t.Run("PinThread in Run", func(t *testing.T) {
		// The whole sentence: affinity's start, then this package's
		// relockRefusal.
		want := fmt.Sprintf("affinity: PinThread on OS thread %d, which runs coroutines (an aio iothread): locking it again would make the Go runtime throw at the next coroutine switch; use IOThread.Repin (affinity.RepinLocked) instead", it.tid)
		testcheck.Panics(t, want, func() { _ = it.Run(func() { _ = affinity.PinThread(allowed) }) })
		alive()
	})
	t.Run("Repin", func(t *testing.T) {
		for c := range allowed.All() {
			set := affinity.NewCPUSet(c)
			if err := it.Repin(set); err != nil {
				t.Fatal(err)
			}
			var mask affinity.CPUSet
			mustRun(t, it, func() { mask, _ = affinity.ThreadAffinity() })
			if !mask.Equal(set) || !it.CPUs().Equal(set) {
				t.Fatalf("after Repin(%s): mask %s, CPUs() %s", set, mask, it.CPUs())
			}
			alive()
		}
		if err := it.Repin(affinity.NewCPUSet(allowed.Last() + 1000)); err == nil {
			t.Fatal("Repin to a CPU outside the allowed set accepted")
		}
	})
	t.Run("CoWake from another thread naming the home context", func(t *testing.T) {
		testcheck.Panics(t, "called on OS thread", func() { ctx.CoWake(co) })
		alive()
	})
	t.Run("Enter from another thread", func(t *testing.T) {
		testcheck.Panics(t, "called on OS thread", func() { ctx.Thread().Enter(co) })
		alive()
	})
	t.Run("Poll from another thread", func(t *testing.T) {
		testcheck.Panics(t, fmt.Sprintf("its owner is OS thread %d", it.Tid()), func() { ctx.Poll(false) })
		alive()
	})
	t.Run("Checkpoint from another thread", func(t *testing.T) {
		testcheck.Panics(t, fmt.Sprintf("Checkpoint of %s called on OS thread", ctx), ctx.Checkpoint)
		alive()
	})
}

// Item 8: the busy-poll count follows every way into and out of WaitPoll:
// the context's own SetWaitMode reserves, Join releases exactly what was
// reserved, and a SetWaitMode after Join is refused without leaking.
func TestBusyPollCount(t *testing.T) {
	leakcheck.Check(t)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	base := BusyIOThreads()
	it := newIOThread(t)
	if err := it.Context().SetWaitMode(WaitPoll); err != nil {
		t.Fatal(err)
	}
	if got := BusyIOThreads(); got != base+1 {
		t.Fatalf("after the context's SetWaitMode(WaitPoll): %d busy, want %d", got, base+1)
	}
	if err := it.SetWaitMode(WaitPoll); err != nil { // again: no second slot
		t.Fatal(err)
	}
	if got := BusyIOThreads(); got != base+1 {
		t.Fatalf("WaitPoll twice: %d busy, want %d", got, base+1)
	}
	if err := it.Join(); err != nil {
		t.Fatal(err)
	}
	if got := BusyIOThreads(); got != base {
		t.Fatalf("after Join: %d busy, want %d", got, base)
	}
	if err := it.SetWaitMode(WaitPoll); err == nil {
		t.Fatal("SetWaitMode after Join accepted")
	}
	if got := BusyIOThreads(); got != base {
		t.Fatalf("after a refused SetWaitMode: %d busy, want %d", got, base)
	}
	// A plain context gives its slot back when closed.
	c := NewContext()
	if err := c.SetWaitMode(WaitPoll); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := BusyIOThreads(); got != base {
		t.Fatalf("after Close of a polling context: %d busy, want %d", got, base)
	}
}

// Item 9: an iothread started from the main thread moves off it. Package
// initialisation runs on the main goroutine locked to the main thread, so
// calling start there takes the main-thread path every time.
var mainThreadStart = func() (res struct {
	t   *IOThread
	err error
}) {
	t := &IOThread{}
	t.start(ioOptions{mode: WaitBlock, maxNs: DefaultPollMaxNs}) // returns once moved
	t.started.Wait()
	res.t, res.err = t, t.startErr
	return res
}()

func TestStartOnMainThreadMoves(t *testing.T) {
	it, err := mainThreadStart.t, mainThreadStart.err
	if err != nil {
		t.Fatal(err)
	}
	if it.Tid() == mainTid() {
		t.Fatal("the iothread started from the main thread runs on it")
	}
	mustRun(t, it, func() {})
	if err := it.Join(); err != nil {
		t.Fatal(err)
	}
}

// Review finding: a dead iothread's thread identity is reused by later
// threads (the runtime reuses its m), so Run, Join and Repin after Join
// must not take the caller for the iothread: Run runs nothing and says
// why, a later Join returns the first one's result, Repin pins nothing.
func TestAfterJoinNoCallerIsTheOwner(t *testing.T) {
	leakcheck.Goroutines(t)
	allowed, err := affinity.Allowed()
	if err != nil {
		t.Fatal(err)
	}
	rounds := quickOrSlow(20, 200)
	for round := range rounds {
		it := newIOThread(t)
		if err := it.Join(); err != nil {
			t.Fatal(err)
		}
		for k := range 4 {
			if k%2 == 1 {
				runtime.GC() // lets the runtime free the dead m for reuse
			}
			res := make(chan string)
			go func() {
				runtime.LockOSThread() // exits locked: its thread ends
				ran := false
				switch {
				case it.Run(func() { ran = true }) == nil || ran:
					res <- "Run after Join ran fn or returned no error"
				case it.Join() != nil:
					res <- "a later Join returned an error the first did not"
				case it.Repin(affinity.NewCPUSet(allowed.CPUs()[0])) == nil:
					res <- "Repin after Join succeeded"
				default:
					res <- ""
				}
			}()
			if msg := <-res; msg != "" {
				t.Fatalf("round %d, caller %d: %s", round, k, msg)
			}
		}
	}
}

// Review finding: Close from inside a coroutine would miss the rest of the
// schedule batch in flight on the stack; it is refused with a sentence,
// and the batch's other coroutines still run.
func TestCloseInsideCoroutineRefused(t *testing.T) {
	ctx := NewContext()
	bRan := false
	a := ctx.NewCoroutine(func(*coroutine.Coroutine) { _ = ctx.Close() })
	b := ctx.NewCoroutine(func(*coroutine.Coroutine) { bRan = true })
	CoSchedule(a)
	CoSchedule(b)
	testcheck.Panics(t, "from inside coroutine", func() { ctx.Poll(false) })
	ctx.Poll(false)
	if !bRan || ctx.Closed() {
		t.Fatalf("after the refused Close: b ran %v, closed %v; want b run and the context open", bRan, ctx.Closed())
	}
	if err := ctx.Close(); err != nil {
		t.Fatal(err)
	}
}

// Review finding: a second Join while the first is still waiting returns
// the first one's result, not nil at once.
func TestConcurrentJoinsAgree(t *testing.T) {
	leakcheck.Check(t)
	it := newIOThread(t)
	release := make(chan struct{})
	var blocked Event
	go func() { _ = it.Run(func() { blocked.Set(); <-release }) }()
	waitFor(t, &blocked, "iothread blocked in Run")
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- it.Join() }()
	}
	select {
	case err := <-errs:
		t.Fatalf("a Join returned (%v) while the iothread was still busy", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
