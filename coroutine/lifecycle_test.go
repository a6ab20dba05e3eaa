package coroutine

import (
	"fmt"
	"github.com/pinbench/pinbench/internal/testcheck"
	"runtime"
	"strings"
	"testing"
)

// Issue 11, item 6: B queues A with WakeAfterYield, then enters A directly.
// Before the fix A finished, went back to the pool with its wake still
// queued, was handed out for another body, and B's yield entered that
// stranger. Now the direct Enter refuses, and the queued wake-up runs A
// once, as asked.
func TestStaleWakeNotReused(t *testing.T) {
	th := newThread(t)
	ranA, ranStranger := 0, 0
	a := th.New(func(*Coroutine) { ranA++ })
	b := th.New(func(self *Coroutine) {
		th.WakeAfterYield(a)
		testcheck.Panics(t, "queued to be woken", func() { th.Enter(a) })
		if a.Finished() {
			// Before the fix: A is pooled; this New reuses it.
			th.New(func(*Coroutine) { ranStranger++ })
		}
		self.Yield()
	})
	th.Enter(b)
	if ranA != 1 || ranStranger != 0 {
		t.Fatalf("A ran %d times and the stranger %d; want 1 and 0", ranA, ranStranger)
	}
	th.Enter(b)
}

// Issue 11, item 7: Destroy of a coroutine still marked scheduled is
// refused; the queue would enter it later.
func TestDestroyScheduledRefused(t *testing.T) {
	th := newThread(t)
	co := th.New(func(self *Coroutine) { self.Yield() })
	th.Enter(co)
	if _, ok := co.MarkScheduled("test-destroy"); !ok {
		t.Fatal("MarkScheduled failed")
	}
	testcheck.Panics(t, "scheduled in 'test-destroy'", func() { th.Destroy(co) })
	co.ClearScheduled()
	th.Destroy(co)
	if !co.Finished() {
		t.Fatal("not finished after Destroy")
	}
	// Also refused: one queued for a wake-up.
	victim := th.New(func(self *Coroutine) { self.Yield() })
	th.Enter(victim)
	waker := th.New(func(self *Coroutine) {
		th.WakeAfterYield(victim)
		testcheck.Panics(t, "queued to be woken", func() { th.Destroy(victim) })
	})
	th.Enter(waker) // wakes victim after it: victim finishes
	if !victim.Finished() {
		t.Fatal("woken coroutine did not finish")
	}
}

// Issue 11, item 10: coroutines made with New on another goroutine (QEMU's
// qemu_coroutine_create on the main thread, then aio_co_schedule) reuse the
// home thread's pool at their first Enter. Before the fix, 200 of them
// started 200 runtime coroutines.
func TestNewElsewhereUsesPool(t *testing.T) {
	th := newThread(t)
	th.Enter(th.New(func(*Coroutine) {})) // one runtime coroutine, pooled
	made := make(chan *Coroutine)
	ran := 0
	go func() {
		for range 200 {
			made <- New(func(*Coroutine) { ran++ })
		}
		close(made)
	}()
	for co := range made {
		th.Enter(co)
		if !co.Finished() {
			t.Fatal("coroutine did not finish")
		}
	}
	if s := th.Stats(); ran != 200 || s.Created != 1 || s.Reused != 200 || s.Pooled != 1 {
		t.Fatalf("ran %d, stats %+v; want 200 runs on one runtime coroutine (Created 1, Reused 200, Pooled 1)", ran, s)
	}
}

// Issue 11, item 5: a locked Thread refuses calls from another OS thread
// with a sentence, before the runtime's uncatchable throw ("coro: OS thread
// locking must match locking at coroutine creation"), whether Enter
// compares thread IDs itself (osthread.Fast held at creation) or leaves
// every entry to checkOwner (it did not).
func TestLockedThreadRefusesOtherThreads(t *testing.T) {
	for _, fast := range []bool{true, false} {
		t.Run(fmt.Sprintf("ownerFast=%v", fast), func(t *testing.T) { testLockedThreadRefuses(t, fast) })
	}
}

func testLockedThreadRefuses(t *testing.T, fast bool) {
	type owned struct {
		th *Thread
		co *Coroutine
	}
	made := make(chan owned)
	release := make(chan struct{})
	finished := make(chan error)
	go func() {
		runtime.LockOSThread() // exits locked: the thread ends with it
		th := NewLockedThread()
		th.ownerFast = th.ownerFast && fast
		co := th.New(func(self *Coroutine) { self.Yield() })
		th.Enter(co)
		made <- owned{th, co}
		<-release
		th.Enter(co) // still fine at home
		th.Close()
		if !co.Finished() {
			finished <- fmt.Errorf("coroutine did not finish at home")
			return
		}
		finished <- nil
	}()
	o := <-made
	errs := make(chan error)
	go func() {
		runtime.LockOSThread() // a different locked thread
		for name, f := range map[string]func(){
			"Enter":          func() { o.th.Enter(o.co) },
			"WakeAfterYield": func() { o.th.WakeAfterYield(o.co) },
			"Destroy":        func() { o.th.Destroy(o.co) },
			"Close":          o.th.Close,
		} {
			v := func() (v any) {
				defer func() { v = recover() }()
				f()
				return nil
			}()
			want := fmt.Sprintf("%s called on OS thread", name)
			if s := fmt.Sprint(v); !strings.Contains(s, want) || !strings.Contains(s, fmt.Sprint(o.th.Owner())) {
				errs <- fmt.Errorf("%s from another locked thread: panic %q; want one containing %q and the owner's tid", name, s, want)
				return
			}
		}
		errs <- nil
	}()
	if err := <-errs; err != nil {
		t.Error(err)
	}
	close(release)
	if err := <-finished; err != nil {
		t.Fatal(err)
	}
}
