package aio

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/coroutine"
	"github.com/pinbench/pinbench/internal/leakcheck"
	"github.com/pinbench/pinbench/internal/testcheck"
)

func TestCoScheduleFIFO(t *testing.T) {
	c := newTestContext(t)
	var order []int
	var cos []*coroutine.Coroutine
	for i := range 4 {
		cos = append(cos, c.NewCoroutine(func(self *coroutine.Coroutine) {
			order = append(order, i)
			self.Yield()
			order = append(order, 10+i)
		}))
	}
	for _, i := range []int{2, 0, 3, 1} {
		CoSchedule(cos[i])
	}
	c.Poll(false)
	for _, i := range []int{1, 3} {
		CoSchedule(cos[i])
	}
	c.Poll(false)
	if got := fmt.Sprint(order); got != "[2 0 3 1 11 13]" {
		t.Fatalf("entered in order %s, want [2 0 3 1 11 13]", got)
	}
}

func TestCoScheduleTwicePanics(t *testing.T) {
	c := newTestContext(t)
	co := c.NewCoroutine(func(self *coroutine.Coroutine) {})
	CoScheduleAt(co, "first-site")
	testcheck.Panics(t, "already scheduled in 'first-site'", func() { CoSchedule(co) })
	testcheck.Panics(t, "already scheduled in 'first-site'", func() { (*AioContext)(nil).CoWake(co) })
	c.Poll(false)
	if !co.Finished() {
		t.Fatal("scheduled coroutine did not run")
	}
	orphan := coroutine.New(func(*coroutine.Coroutine) {})
	testcheck.Panics(t, "no home context", func() { CoSchedule(orphan) })
}

// TestCoWake covers QEMU's three cases of aio_co_wake.
func TestCoWake(t *testing.T) {
	c := newTestContext(t)
	var log []string
	sleeper := func(name string) *coroutine.Coroutine {
		co := c.NewCoroutine(func(self *coroutine.Coroutine) {
			log = append(log, name+" sleeps")
			self.Yield()
			log = append(log, name+" woke")
		})
		c.Thread().Enter(co)
		return co
	}

	// On the home context, outside a coroutine: entered at once.
	a := sleeper("a")
	c.CoWake(a)
	log = append(log, "after CoWake(a)")

	// On the home context, inside a coroutine: after it yields.
	b := sleeper("b")
	waker := c.NewCoroutine(func(self *coroutine.Coroutine) {
		c.CoWake(b)
		log = append(log, "waker yields")
		self.Yield()
	})
	c.Thread().Enter(waker)
	log = append(log, "after waker")

	// From elsewhere (no context): through the schedule queue.
	d := sleeper("d")
	(*AioContext)(nil).CoWake(d)
	log = append(log, "scheduled d")
	c.Poll(false)

	want := "[a sleeps a woke after CoWake(a) b sleeps waker yields b woke after waker d sleeps scheduled d d woke]"
	if got := fmt.Sprint(log); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// TestCoScheduleAcrossIOThreads: coroutines on two iothreads hand a token
// back and forth through CoSchedule; each runs only on its own thread.
func TestCoScheduleAcrossIOThreads(t *testing.T) {
	leakcheck.Check(t)
	allowed, _ := affinity.Allowed()
	cpus := allowed.CPUs()
	rounds := quickOrSlow(2000, 200000)
	for _, mode := range []WaitMode{WaitBlock, WaitAdaptive} {
		t.Run("wait="+mode.String(), func(t *testing.T) {
			var threads [2]*IOThread
			for i := range threads {
				it, err := NewIOThread(affinity.NewCPUSet(cpus[i%len(cpus)]), WithWaitMode(mode))
				if err != nil {
					t.Fatal(err)
				}
				defer it.Join()
				threads[i] = it
			}
			var cos [2]*coroutine.Coroutine
			var counts [2]int
			var wrongThread [2]int
			var done Event
			// handoffs counts the tokens passed, for the progress watch
			// (it orders nothing); halt is set when the test gives up (see
			// stopPingPong).
			var handoffs atomic.Int64
			var halt atomic.Bool
			for i := range cos {
				cos[i] = threads[i].Context().NewCoroutine(func(self *coroutine.Coroutine) {
					tid := threads[i].Tid()
					for counts[i] < rounds {
						// Load: halt was stored while both iothreads
						// were held in Run, so every entry after the
						// holds sees it (Run's done Event orders the
						// store before the iothread goes on).
						if halt.Load() {
							return // the peer's iothread may be joined
						}
						if unix.Gettid() != tid {
							wrongThread[i]++
						}
						counts[i]++
						handoffs.Add(1)
						CoSchedule(cos[1-i]) // the peer is suspended, or about to be
						self.Yield()
					}
					if i == 1 {
						done.Set()
					}
				})
			}
			// Start the second one first so it is suspended when the
			// first one hands it the token.
			mustRun(t, threads[1], func() { threads[1].Context().Thread().Enter(cos[1]) })
			// cos[1] scheduled cos[0] already: that starts the ping-pong.
			if !waitProgress(&done, &handoffs) {
				msg := "the ping-pong across two iothreads made no progress for " + stallLimit.String()
				if err := stopPingPong(threads, cos, &halt); err != nil {
					msg += "; stopping it: " + err.Error()
				}
				// Read after the holds: the coroutines write
				// counts no more.
				t.Fatalf("%s, at %d and %d handoffs", msg, counts[0], counts[1])
			}
			// cos[1] finished; cos[0] handed it the last token and is
			// suspended (or about to be: Run's BH runs on its thread
			// after it yields). Wake it so that it finishes too.
			mustRun(t, threads[0], func() { threads[0].Context().CoWake(cos[0]) })
			if counts != [2]int{rounds, rounds} {
				t.Fatalf("counts %v, want %d each", counts, rounds)
			}
			if wrongThread != [2]int{} {
				t.Fatalf("coroutines ran off their home thread: %v", wrongThread)
			}
			if !cos[0].Finished() {
				t.Fatal("cos[0] did not finish")
			}
			t.Logf("%d handoffs; iothread stats %+v / %+v", counts[0]+counts[1], threads[0].Stats(), threads[1].Stats())
		})
	}
}

// stallLimit is how long waitProgress waits without progress.
const stallLimit = 5 * time.Second

// waitProgress waits until done is set, or until progress has not moved
// for stallLimit (false): a slow machine only makes it wait longer.
func waitProgress(done *Event, progress *atomic.Int64) bool {
	last, since := progress.Load(), time.Now()
	for !done.WaitTimeout(100 * time.Millisecond) {
		if n := progress.Load(); n != last {
			last, since = n, time.Now()
		} else if time.Since(since) > stallLimit {
			return false
		}
	}
	return true
}

// stopPingPong ends the ping-pong of TestCoScheduleAcrossIOThreads after
// the test gave up, so that the deferred Joins cannot close an iothread
// under a coroutine that would then schedule its peer there (CoSchedule
// onto a closed context panics, and the panic would end the package's test
// binary). Iothread 0 is held in a Run while iothread 1 runs the inner
// one: no coroutine runs on either meanwhile (Run's callback runs between
// coroutine entries), and halt is set then, so every later entry returns
// before it schedules anyone. A coroutine suspended and scheduled nowhere
// would never run again: it is destroyed on its own iothread. One that is
// scheduled runs once more, sees halt and ends. It returns Run's errors,
// and Destroy's panic as one.
func stopPingPong(threads [2]*IOThread, cos [2]*coroutine.Coroutine, halt *atomic.Bool) error {
	var errs [3]error
	endIfAsleep := func(i int) {
		defer func() {
			if r := recover(); r != nil {
				errs[2] = fmt.Errorf("destroying coroutine %d: %v", i, r)
			}
		}()
		if _, scheduled := cos[i].Scheduled(); !scheduled && !cos[i].Finished() {
			threads[i].Context().Thread().Destroy(cos[i])
		}
	}
	errs[0] = threads[0].Run(func() {
		errs[1] = threads[1].Run(func() {
			halt.Store(true)
			endIfAsleep(1)
		})
		endIfAsleep(0)
	})
	return errors.Join(errs[:]...)
}

func TestCoScheduleManyProducers(t *testing.T) {
	leakcheck.Check(t)
	it := newIOThread(t)
	defer it.Join()
	const producers, each = 6, 300
	runs := make([]int, producers*each) // written on the iothread only
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				k := p*each + i
				CoSchedule(it.Context().NewCoroutine(func(*coroutine.Coroutine) { runs[k]++ }))
			}
		}()
	}
	wg.Wait()
	mustRun(t, it, func() {
		for k, n := range runs {
			if n != 1 {
				t.Errorf("coroutine %d entered %d times", k, n)
			}
		}
	})
}
