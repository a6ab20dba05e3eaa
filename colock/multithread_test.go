package colock

// A port of the mutex tests of QEMU's tests/unit/test-aio-multithread.c
// (/aio/multi/mutex/contended, handoff, mcs and pthread), plus CoQueue and
// CoRwlock across contexts.

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/internal/leakcheck"
)

// stressTime is how long each QEMU mutex test runs: 1 s, or 10 s with
// -long (QEMU's quick and slow modes; QEMU gives the 2-context handoff
// test 3 s and 30 s).
func stressTime() time.Duration {
	if *long {
		return 10 * time.Second
	}
	return time.Second
}

// finishLimit bounds the wait for the coroutines to stop once asked: a
// lost wake-up leaves a coroutine asleep for ever, and the test names it.
const finishLimit = 5 * time.Second

// padded is a counter alone on its cache lines.
type padded struct {
	_ [aio.CacheLinePad]byte
	n atomic.Int64
	_ [aio.CacheLinePad]byte
}

// multiMutex is the state of one run of QEMU's test_multi_co_mutex and
// its fair-mutex and pthread twins: one coroutine per context, each
// incrementing a counter under the lock until told to stop.
type multiMutex struct {
	counter       uint32 // guarded by the lock under test
	atomicCounter atomic.Uint32
	stopping      atomic.Bool
	running       atomic.Int32
	// progress[i] is coroutine i's iteration count, stored every 1024
	// iterations and at its end; done[i] is set when it ended.
	progress []padded
	done     []atomic.Bool
}

// runMultiMutex starts contexts iothreads, runs critical (lock, counter++,
// unlock for the lock under test) in a loop in per coroutines on each
// (QEMU: one) for d, stops them, joins the iothreads and checks QEMU's
// invariant: the counter equals the number of increments. It logs
// iterations per second. critical gets the coroutine's id, iothread i's
// j'th coroutine being i*per+j.
func runMultiMutex(t *testing.T, contexts, per int, d time.Duration, critical func(r *multiMutex, self *Self, id int)) {
	t.Helper()
	leakcheck.Check(t)
	threads := iothreadsFor(t, contexts)
	n := contexts * per
	r := &multiMutex{progress: make([]padded, n), done: make([]atomic.Bool, n)}
	r.running.Store(int32(n))
	for id := range n {
		co := threads[id/per].Context().NewCoroutine(Entry(func(self *Self) {
			n := int64(0)
			for !r.stopping.Load() {
				critical(r, self, id)
				// Increase atomicCounter after releasing the lock, as
				// QEMU does (otherwise an iothread may be joined before
				// the last woken coroutine runs).
				r.atomicCounter.Add(1)
				if n++; n&1023 == 0 {
					r.progress[id].n.Store(n)
				}
			}
			r.progress[id].n.Store(n)
			r.done[id].Store(true)
			r.running.Add(-1)
		}))
		aio.CoScheduleAt(co, "runMultiMutex")
	}
	time.Sleep(d)
	r.stopping.Store(true)
	deadline := time.Now().Add(finishLimit)
	for r.running.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if r.running.Load() > 0 {
		var stuck []string
		for id := range n {
			if !r.done[id].Load() {
				stuck = append(stuck, fmt.Sprintf("coroutine %d on iothread %d (thread %d) (last reported at %d iterations)", id, id/per, threads[id/per].Tid(), r.progress[id].n.Load()))
			}
		}
		t.Fatalf("stuck: %s did not finish within %v of the stop (a lost wake-up?)", strings.Join(stuck, ", "), finishLimit)
	}
	counter, increments := r.counter, r.atomicCounter.Load()
	t.Logf("%d iterations/second (quick, noisy: a shared machine)", int64(float64(counter)/d.Seconds()))
	if counter != increments {
		t.Fatalf("counter %d, want %d (the increments made): the lock let two coroutines in at once", counter, increments)
	}
	if counter == 0 {
		t.Fatal("no iteration ran")
	}
}

func TestAioMultiMutex(t *testing.T) {
	d := stressTime()
	// QEMU: "Testing with NUM_CONTEXTS threads focuses on the queue" and
	// "Testing with fewer threads stresses the handoff protocol too."
	// Not QEMU's: "many" puts three coroutines on each of two contexts, so
	// that wakes on the waker's own context (after it yields) mix with
	// wakes through the schedule queue.
	for _, tc := range []struct {
		name          string
		contexts, per int
	}{{"contended", numContexts, 1}, {"handoff", 2, 1}, {"many", 2, 3}} {
		t.Run(tc.name, func(t *testing.T) {
			var m CoMutex
			runMultiMutex(t, tc.contexts, tc.per, d, func(r *multiMutex, self *Self, _ int) {
				m.Lock(self)
				r.counter++
				m.Unlock(self)
			})
			t.Logf("%+v", m.Stats())
		})
	}
	// QEMU: "Same test with fair mutexes, for performance comparison."
	t.Run("mcs", func(t *testing.T) {
		l := NewMCS(numContexts)
		runMultiMutex(t, numContexts, 1, d, func(r *multiMutex, _ *Self, id int) {
			l.Lock(id)
			r.counter++
			l.Unlock(id)
		})
		t.Logf("handoffs %d", l.Handoffs())
	})
	// QEMU's pthread mutex: here Go's sync.Mutex, on the iothreads' locked
	// threads.
	t.Run("pthread", func(t *testing.T) {
		var mu sync.Mutex
		runMultiMutex(t, numContexts, 1, d, func(r *multiMutex, _ *Self, _ int) {
			mu.Lock()
			r.counter++
			mu.Unlock()
		})
	})
}

// stallLimit is how long the cross-context tests wait without progress
// before they call a side stuck.
const stallLimit = 10 * time.Second

// watch waits until done is closed, failing the test when the sum of
// progress has not moved for stallLimit, with what describe says (which
// side is stuck). A slow machine only makes it wait longer.
func watch(t *testing.T, done <-chan struct{}, progress []padded, describe func() string) bool {
	t.Helper()
	sum := func() (n int64) {
		for i := range progress {
			n += progress[i].n.Load()
		}
		return n
	}
	last, lastChange := sum(), time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return true
		case <-tick.C:
			if n := sum(); n != last {
				last, lastChange = n, time.Now()
			} else if time.Since(lastChange) > stallLimit {
				t.Errorf("stuck: no progress for %v: %s", stallLimit, describe())
				return false
			}
		}
	}
}

// A bounded buffer of one slot between producers and consumers on
// different contexts, built from a CoMutex and two CoQueues: every item
// arrives once, and every waiter is restarted on its own context.
func TestCoQueueAcrossContexts(t *testing.T) {
	leakcheck.Check(t)
	threads := iothreadsFor(t, 4)
	items := 20000
	if *long {
		items = 1000000
	}
	var (
		m                 CoMutex
		notEmpty, notFull CoQueue
		full              bool
		slot              int
		sum               [2]int
		moved             [4]padded
		wrong             atomic.Int32
		left              atomic.Int32
	)
	done := make(chan struct{})
	left.Store(4)
	finish := func() {
		if left.Add(-1) == 0 {
			close(done)
		}
	}
	for p := range 2 { // producers on iothreads 0 and 1
		ctx := threads[p].Context()
		aio.CoSchedule(ctx.NewCoroutine(Entry(func(self *Self) {
			defer finish()
			for i := 1; i <= items; i++ {
				m.Lock(self)
				for full {
					notFull.Wait(self, &m)
				}
				if unix.Gettid() != threads[p].Tid() {
					wrong.Add(1)
				}
				slot, full = i, true
				notEmpty.Next(self.Context())
				m.Unlock(self)
				moved[p].n.Add(1)
			}
		})))
	}
	for c := range 2 { // consumers on iothreads 2 and 3
		ctx := threads[2+c].Context()
		aio.CoSchedule(ctx.NewCoroutine(Entry(func(self *Self) {
			defer finish()
			for range items {
				m.Lock(self)
				for !full {
					notEmpty.Wait(self, &m)
				}
				if unix.Gettid() != threads[2+c].Tid() {
					wrong.Add(1)
				}
				sum[c] += slot
				full = false
				notFull.Next(self.Context())
				m.Unlock(self)
				moved[2+c].n.Add(1)
			}
		})))
	}
	if !watch(t, done, moved[:], func() string {
		return fmt.Sprintf("producers moved %d and %d items, consumers %d and %d, of %d each",
			moved[0].n.Load(), moved[1].n.Load(), moved[2].n.Load(), moved[3].n.Load(), items)
	}) {
		return
	}
	if want := items * (items + 1); sum[0]+sum[1] != want {
		t.Errorf("consumers received items summing to %d, want %d", sum[0]+sum[1], want)
	}
	if n := wrong.Load(); n != 0 {
		t.Errorf("%d restarts ran a coroutine away from its home context", n)
	}
	t.Logf("%+v", m.Stats())
}

// Readers and writers on five contexts: a writer is always alone, readers
// only ever overlap each other, and no write is lost.
func TestRwlockAcrossContexts(t *testing.T) {
	leakcheck.Check(t)
	threads := iothreadsFor(t, numContexts)
	rounds := 5000
	if *long {
		rounds = 200000
	}
	var (
		rw               CoRwlock
		readers, writers atomic.Int32
		bad              atomic.Int32
		value            int // written under the write lock only
		writes           atomic.Int64
		progress         [numContexts]padded
		left             atomic.Int32
	)
	done := make(chan struct{})
	left.Store(numContexts)
	for i, it := range threads {
		aio.CoSchedule(it.Context().NewCoroutine(Entry(func(self *Self) {
			defer func() {
				if left.Add(-1) == 0 {
					close(done)
				}
			}()
			for n := range rounds {
				switch {
				case (n+i)%4 == 0:
					rw.WrLock(self)
					if writers.Add(1) != 1 || readers.Load() != 0 {
						bad.Add(1)
					}
					value++
					writes.Add(1)
					writers.Add(-1)
					rw.Unlock(self)
				case (n+i)%7 == 0:
					// A read that upgrades, then downgrades.
					rw.RdLock(self)
					rw.Upgrade(self)
					if writers.Add(1) != 1 || readers.Load() != 0 {
						bad.Add(1)
					}
					value++
					writes.Add(1)
					writers.Add(-1)
					rw.Downgrade(self)
					readers.Add(1)
					if writers.Load() != 0 {
						bad.Add(1)
					}
					readers.Add(-1)
					rw.Unlock(self)
				default:
					rw.RdLock(self)
					readers.Add(1)
					if writers.Load() != 0 {
						bad.Add(1)
					}
					readers.Add(-1)
					rw.Unlock(self)
				}
				progress[i].n.Store(int64(n + 1))
			}
		})))
	}
	if !watch(t, done, progress[:], func() string {
		var s []string
		for i := range progress {
			s = append(s, fmt.Sprintf("coroutine %d: %d of %d rounds", i, progress[i].n.Load(), rounds))
		}
		return strings.Join(s, ", ")
	}) {
		return
	}
	if n := bad.Load(); n != 0 {
		t.Errorf("%d times a writer was not alone", n)
	}
	if int64(value) != writes.Load() {
		t.Errorf("value %d after %d writes", value, writes.Load())
	}
}
