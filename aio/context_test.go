package aio

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/coroutine"
	"github.com/pinbench/pinbench/internal/leakcheck"
	"github.com/pinbench/pinbench/internal/testcheck"
)

// newTestContext returns a context owned by the test's goroutine.
func newTestContext(t *testing.T) *AioContext {
	t.Helper()
	c := NewContext()
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// Every context has its own ID, never 0, and skips 0 when the count wraps.
func TestContextIDs(t *testing.T) {
	a, b := newTestContext(t), newTestContext(t)
	if a.ID() == 0 || b.ID() == 0 || a.ID() == b.ID() {
		t.Fatalf("IDs %d and %d: want two different nonzero numbers", a.ID(), b.ID())
	}
	saved := contextIDs.Load()
	defer contextIDs.Store(saved)
	contextIDs.Store(^uint32(0))
	if id := nextContextID(); id != 1 {
		t.Fatalf("the ID after the last one is %d, want 1 (0 skipped)", id)
	}
}

func TestBHScheduleIdempotent(t *testing.T) {
	c := newTestContext(t)
	runs := 0
	bh := c.NewBH(func() { runs++ })
	if c.Poll(false) {
		t.Fatal("Poll with nothing scheduled reported progress")
	}
	bh.Schedule()
	bh.Schedule()
	bh.Schedule()
	if !c.Poll(false) || runs != 1 {
		t.Fatalf("Poll after three schedules: %d runs, want 1", runs)
	}
	if c.Poll(false) || runs != 1 {
		t.Fatalf("second Poll ran the BH again (%d runs)", runs)
	}
	// Blocking Poll with a BH due returns without sleeping.
	bh.Schedule()
	if !c.Poll(true) || runs != 2 {
		t.Fatalf("blocking Poll: %d runs, want 2", runs)
	}
	if s := c.Stats(); s.Sleeps != 0 || s.Wakes != 0 || s.BHRuns != 2 {
		t.Fatalf("stats %+v: want no sleep, no wake, 2 runs", s)
	}
}

func TestBHOrderAndReschedule(t *testing.T) {
	c := newTestContext(t)
	var order []int
	var bhs []*BH
	for i := range 5 {
		bhs = append(bhs, c.NewBH(func() { order = append(order, i) }))
	}
	for _, i := range []int{3, 1, 4, 0, 2} {
		bhs[i].Schedule()
	}
	c.Poll(false)
	if fmt.Sprint(order) != "[3 1 4 0 2]" {
		t.Fatalf("BHs ran in order %v, want scheduling order [3 1 4 0 2]", order)
	}
	// A BH that schedules itself runs again in the next Poll, not this one.
	n := 0
	var self *BH
	self = c.NewBH(func() {
		n++
		if n < 3 {
			self.Schedule()
		}
	})
	self.Schedule()
	for i := 1; i <= 3; i++ {
		c.Poll(false)
		if n != i {
			t.Fatalf("after Poll %d the self-scheduling BH ran %d times", i, n)
		}
	}
	if c.Poll(false) {
		t.Fatal("self-scheduling BH ran a fourth time")
	}
}

func TestBHCancelDelete(t *testing.T) {
	c := newTestContext(t)
	runs := 0
	bh := c.NewBH(func() { runs++ })
	bh.Schedule()
	bh.Cancel()
	if c.Poll(false) || runs != 0 {
		t.Fatalf("cancelled BH ran (%d)", runs)
	}
	// Cancel while pending, then schedule again: runs once.
	bh.Schedule()
	bh.Cancel()
	bh.Schedule()
	if !c.Poll(false) || runs != 1 {
		t.Fatalf("rescheduled BH: %d runs, want 1", runs)
	}
	bh.Schedule()
	bh.Delete()
	if c.Poll(false) || runs != 1 {
		t.Fatalf("deleted BH ran (%d)", runs)
	}
	testcheck.Panics(t, "scheduled after Delete", bh.Schedule)
	testcheck.Panics(t, "nil callback", func() { c.NewBH(nil) })
}

func TestBHOneShot(t *testing.T) {
	c := newTestContext(t)
	runs := 0
	OneShot(c, func() { runs++ })
	OneShot(c, func() { runs += 10 })
	c.Poll(false)
	c.Poll(false)
	if runs != 11 {
		t.Fatalf("one-shot BHs: runs %d, want 11", runs)
	}
}

func TestBHPanicKeepsOthers(t *testing.T) {
	c := newTestContext(t)
	ran := ""
	a := c.NewBH(func() { ran += "a" })
	b := c.NewBH(func() { panic("b fails") })
	d := c.NewBH(func() { ran += "d" })
	a.Schedule()
	b.Schedule()
	d.Schedule()
	testcheck.Panics(t, "b fails", func() { c.Poll(false) })
	if !c.Poll(false) || ran != "ad" {
		t.Fatalf("after a BH panicked, ran %q, want \"ad\"", ran)
	}
	// All three can be scheduled again.
	a.Schedule()
	d.Schedule()
	c.Poll(false)
	if ran != "adad" {
		t.Fatalf("ran %q", ran)
	}
}

// TestBHManyThreadsOncePerWindow schedules one BH from many pinned threads
// while its owner is not polling: however many schedules race, the window
// ends with exactly one run.
func TestBHManyThreadsOncePerWindow(t *testing.T) {
	leakcheck.Check(t)
	allowed, _ := affinity.Allowed()
	cpus := allowed.CPUs()
	c := newTestContext(t)
	runs := 0
	bh := c.NewBH(func() { runs++ })
	rounds, schedulers, each := quickOrSlow(200, 5000), 8, 50
	for r := range rounds {
		var wg sync.WaitGroup
		for s := range schedulers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r%20 == 0 { // pinned now and then: thread churn is slow
					if err := affinity.PinThread(affinity.NewCPUSet(cpus[s%len(cpus)])); err != nil {
						t.Error(err)
						return
					}
				}
				for range each {
					bh.Schedule()
				}
			}()
		}
		wg.Wait()
		before := runs
		c.Poll(false)
		if runs != before+1 {
			t.Fatalf("round %d: %d runs for %d schedules, want 1", r, runs-before, schedulers*each)
		}
		if c.Poll(false) {
			t.Fatalf("round %d: a second Poll ran the BH again", r)
		}
	}
}

// TestBHManyThreadsWhilePolling schedules one BH from many threads while
// its iothread polls: no schedule is lost (the run after the last schedule
// sees its token) and there are never more runs than schedules.
func TestBHManyThreadsWhilePolling(t *testing.T) {
	leakcheck.Check(t)
	for _, mode := range []WaitMode{WaitBlock, WaitAdaptive} {
		t.Run("wait="+mode.String(), func(t *testing.T) {
			it := newIOThread(t, WithWaitMode(mode))
			defer it.Join()
			var token, seen atomic.Int64
			runs := 0 // owned by the iothread
			bh := it.Context().NewBH(func() {
				runs++
				seen.Store(token.Load())
			})
			schedulers, each := 4, quickOrSlow(5000, 200000)
			var wg sync.WaitGroup
			for range schedulers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range each {
						token.Add(1)
						bh.Schedule()
					}
				}()
			}
			wg.Wait()
			// The Run's BH is queued behind a pending bh, so bh has run
			// after the last schedule once Run returns.
			var total int
			mustRun(t, it, func() { total = runs })
			if got, want := seen.Load(), token.Load(); got != want {
				t.Fatalf("last run saw token %d, want %d: a schedule was lost", got, want)
			}
			if total < 1 || total > schedulers*each {
				t.Fatalf("%d runs for %d schedules", total, schedulers*each)
			}
			t.Logf("%d schedules, %d runs, %+v", schedulers*each, total, it.Context().Stats())
		})
	}
}

// TestNotifyNoSyscallWhileAwake: Notify while the owner is awake costs no
// system call; only a sleeping owner is woken with one.
func TestNotifyNoSyscallWhileAwake(t *testing.T) {
	leakcheck.Check(t)
	t.Run("owner-not-polling", func(t *testing.T) {
		c := newTestContext(t)
		bh := c.NewBH(func() {})
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10000 {
					c.Notify()
					bh.Schedule()
				}
			}()
		}
		wg.Wait()
		c.Poll(false)
		if w := c.Stats().Wakes; w != 0 {
			t.Fatalf("%d system-call wakes with the owner awake, want 0", w)
		}
	})
	t.Run("owner-busy-polling", func(t *testing.T) {
		it, err := NewIOThread(affinity.CPUSet{}, WithWaitMode(WaitPoll))
		if err != nil {
			t.Skip(err) // GOMAXPROCS 1
		}
		defer it.Join()
		runs := 0
		bh := it.Context().NewBH(func() { runs++ })
		for range 2000 {
			bh.Schedule()
			mustRun(t, it, func() {})
		}
		s := it.Context().Stats()
		if s.Wakes != 0 || s.Sleeps != 0 {
			t.Fatalf("busy-polling owner: %d wakes, %d sleeps, want 0", s.Wakes, s.Sleeps)
		}
	})
	t.Run("owner-asleep", func(t *testing.T) {
		it := newIOThread(t, WithWaitMode(WaitBlock))
		defer it.Join()
		const n = 200
		for range n {
			// Let the owner go to sleep first.
			for it.Context().notifyMe.Load() == 0 {
				runtimeGosched()
			}
			mustRun(t, it, func() {})
		}
		s := it.Context().Stats()
		// Every Run found the owner asleep (or about to sleep): one wake
		// each.
		if s.Wakes != n || s.Sleeps < n {
			t.Fatalf("%d Runs on a sleeping owner: %+v, want about one wake and one sleep each", n, s)
		}
	})
}

func TestAdjustPoll(t *testing.T) {
	c := newTestContext(t)
	const maxNs = DefaultPollMaxNs
	steps := []struct {
		block int64
		want  int64
	}{
		{block: 10000, want: PollStartNs}, // short sleep: start at 4 us
		{block: 1000, want: PollStartNs},  // found by polling: keep
		{block: 10000, want: 2 * PollStartNs},
		{block: 20000, want: 4 * PollStartNs},
		{block: 20000, want: 8 * PollStartNs},
		{block: 32100, want: maxNs}, // 64000 clamped to 32768
		{block: 20000, want: maxNs}, // at the maximum: stay
		{block: 100000, want: 0},    // longer than max, shrink 0: drop
	}
	for i, s := range steps {
		c.adjustPoll(s.block, maxNs)
		if got := c.pollNs.Load(); got != s.want {
			t.Fatalf("step %d (block %d ns): window %d, want %d", i, s.block, got, s.want)
		}
	}
	if err := c.SetPollParams(maxNs, 4, 2); err != nil {
		t.Fatal(err)
	}
	c.pollNs.Store(PollStartNs)
	c.adjustPoll(5000, maxNs)
	if got := c.pollNs.Load(); got != 4*PollStartNs {
		t.Fatalf("grow 4: window %d", got)
	}
	c.adjustPoll(100000, maxNs)
	if got := c.pollNs.Load(); got != 2*PollStartNs {
		t.Fatalf("shrink 2: window %d", got)
	}
	if err := c.SetPollParams(-1, 0, 0); err == nil {
		t.Fatal("negative max-ns accepted")
	}
	if mx, g, s := c.PollParams(); mx != maxNs || g != 4 || s != 2 {
		t.Fatalf("a rejected SetPollParams changed the parameters: %d %d %d", mx, g, s)
	}
	if err := c.SetWaitMode(WaitMode(7)); err == nil {
		t.Fatal("SetWaitMode(7) accepted")
	}
}

// TestAdaptivePolling: quick round trips grow the window and end waits by
// polling; SetPollParams(0) at run time turns polling off.
func TestAdaptivePolling(t *testing.T) {
	leakcheck.Check(t)
	// A 50 ms maximum: on a loaded machine a wake-up may take over a
	// millisecond, which would count as a long sleep and keep the window
	// at 0.
	it := newIOThread(t, WithWaitMode(WaitAdaptive), WithPollParams(50_000_000, 2, 0))
	defer it.Join()
	c := it.Context()
	for range 2000 {
		mustRun(t, it, func() {})
	}
	s := c.Stats()
	t.Logf("adaptive, max 50 ms: %+v", s)
	if s.PollNs == 0 && s.Polls == 0 {
		t.Errorf("window never grew and no wait ended by polling: %+v", s)
	}
	if err := c.SetPollParams(0, 0, 0); err != nil {
		t.Fatal(err)
	}
	mustRun(t, it, func() {}) // the owner has seen the change
	before := c.Stats().Polls
	for range 200 {
		mustRun(t, it, func() {})
	}
	if after := c.Stats().Polls; after != before {
		t.Errorf("polling off, yet %d waits ended by polling", after-before)
	}
}

// TestWaitModeSwitch changes the wait mode of a running iothread, and
// checks the GOMAXPROCS rule for busy polling.
func TestWaitModeSwitch(t *testing.T) {
	leakcheck.Check(t)
	it := newIOThread(t)
	defer it.Join()
	for _, m := range []WaitMode{WaitBlock, WaitPoll, WaitAdaptive, WaitPoll, WaitBlock} {
		if err := it.SetWaitMode(m); err != nil {
			if m == WaitPoll && strings.Contains(err.Error(), "GOMAXPROCS") {
				continue
			}
			t.Fatal(err)
		}
		n := 0
		for range 100 {
			mustRun(t, it, func() { n++ })
		}
		if n != 100 || it.Context().WaitMode() != m {
			t.Fatalf("wait=%v: %d runs, mode %v", m, n, it.Context().WaitMode())
		}
	}
	if BusyIOThreads() != 0 {
		t.Fatalf("%d busy iothreads counted after switching back to block", BusyIOThreads())
	}
	_ = time.Now
}

// Schedule-BH runs on Poll's fast path are counted too: published when the
// owner next runs a bottom half (or waits), none lost.
func TestStatsCountFastPathRuns(t *testing.T) {
	c := newTestContext(t)
	entered := 0
	co := c.NewCoroutine(func(self *coroutine.Coroutine) {
		for {
			entered++
			self.Yield()
		}
	})
	defer c.Thread().Destroy(co)
	for range 3 {
		CoSchedule(co)
		if !c.Poll(false) {
			t.Fatal("Poll with a scheduled coroutine reported nothing run")
		}
	}
	if entered != 3 {
		t.Fatalf("entered %d times, want 3", entered)
	}
	bh := c.NewBH(func() {})
	bh.Schedule()
	if !c.Poll(false) {
		t.Fatal("Poll with a BH due reported nothing run")
	}
	if got := c.Stats().BHRuns; got != 4 {
		t.Errorf("BHRuns = %d after 3 schedule-BH runs and 1 BH, want 4", got)
	}
}
