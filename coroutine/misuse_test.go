package coroutine

import (
	"runtime"
	"testing"

	"github.com/pinbench/pinbench/internal/leakcheck"
	"github.com/pinbench/pinbench/internal/testcheck"
)

// Misuse panics with a sentence before the runtime could throw.
func TestMisuse(t *testing.T) {
	th := newThread(t)

	t.Run("reentered-self", func(t *testing.T) {
		co := th.New(func(self *Coroutine) { th.Enter(self) })
		testcheck.Panics(t, "re-entered recursively", func() { th.Enter(co) })
		if th.Current() != nil {
			t.Fatal("Current not restored")
		}
	})
	t.Run("reentered-outer", func(t *testing.T) {
		var outer *Coroutine
		outer = th.New(func(self *Coroutine) {
			th.Enter(th.New(func(*Coroutine) { th.Enter(outer) }))
		})
		testcheck.Panics(t, "re-entered recursively", func() { th.Enter(outer) })
	})
	t.Run("finished", func(t *testing.T) {
		co := th.New(func(*Coroutine) {})
		th.Enter(co)
		testcheck.Panics(t, "entering finished coroutine", func() { th.Enter(co) })
	})
	t.Run("other-thread", func(t *testing.T) {
		other := NewThread()
		co := th.New(func(self *Coroutine) { self.Yield() })
		th.Enter(co)
		testcheck.Panics(t, "its home Thread is", func() { other.Enter(co) })
		testcheck.Panics(t, "its home Thread is", func() {
			other.Enter(other.New(func(*Coroutine) { other.WakeAfterYield(co) }))
		})
		th.Enter(co)
		// A coroutine from th's pool already lives on th.
		pooled := th.New(func(*Coroutine) {})
		if pooled.HomeThread() != th {
			t.Fatal("pooled coroutine's home is not its pool's Thread")
		}
		testcheck.Panics(t, "its home Thread is", func() { other.Enter(pooled) })
		th.Enter(pooled)
		other.Close()
	})
	t.Run("yield-outside", func(t *testing.T) {
		co := th.New(func(self *Coroutine) { self.Yield() })
		testcheck.Panics(t, "Yield called outside", co.Yield) // never entered
		th.Enter(co)
		testcheck.Panics(t, "Yield called outside", co.Yield) // suspended
		// From a nested coroutine's body, yielding the outer one.
		outer := th.New(func(self *Coroutine) {
			th.Enter(th.New(func(*Coroutine) { self.Yield() }))
		})
		testcheck.Panics(t, "Yield called outside", func() { th.Enter(outer) })
		th.Enter(co)
	})
	t.Run("scheduled", func(t *testing.T) {
		co := th.New(func(self *Coroutine) { self.Yield() })
		if _, ok := co.MarkScheduled("test-misuse"); !ok {
			t.Fatal("first MarkScheduled failed")
		}
		testcheck.Panics(t, "already scheduled in 'test-misuse'", func() { th.Enter(co) })
		co.ClearScheduled()
		th.Enter(co)
		th.Enter(co)
	})
	t.Run("wake", func(t *testing.T) {
		other := th.New(func(self *Coroutine) {})
		co := th.New(func(self *Coroutine) {
			testcheck.Panics(t, "wake itself", func() { th.WakeAfterYield(self) })
			th.WakeAfterYield(other)
			testcheck.Panics(t, "woken twice", func() { th.WakeAfterYield(other) })
		})
		th.Enter(co)
		if !other.Finished() {
			t.Fatal("woken coroutine did not run")
		}
	})
	t.Run("nil", func(t *testing.T) {
		testcheck.Panics(t, "nil entry function", func() { th.New(nil) })
		testcheck.Panics(t, "nil entry function", func() { New(nil) })
	})
	if th.Current() != nil {
		t.Fatal("Current not nil after the misuse tests")
	}
}

type testPanic struct{ n int }

// A panic in a body reaches the enterer with its value; the Thread stays
// usable and the coroutine is finished and not reused.
func TestPanic(t *testing.T) {
	th := newThread(t)
	co := th.New(func(self *Coroutine) { panic(testPanic{7}) })
	v := testcheck.Panics(t, "{7}", func() { th.Enter(co) })
	if v != (testPanic{7}) {
		t.Fatalf("panic value %#v; want the original", v)
	}
	if !co.Finished() || th.Current() != nil {
		t.Fatal("after the panic: not finished, or Current not restored")
	}
	if th.Stats().Pooled != 0 {
		t.Fatal("panicked coroutine went to the pool")
	}
	testcheck.Panics(t, "entering finished coroutine", func() { th.Enter(co) })

	// Nested: the inner panic goes through the outer body to the top; the
	// outer body can recover it instead.
	var recovered any
	outer := th.New(func(self *Coroutine) {
		func() {
			defer func() { recovered = recover() }()
			th.Enter(th.New(func(*Coroutine) { panic("inner") }))
		}()
		if th.Current() != self {
			t.Error("Current in the outer body is not restored after the inner panic")
		}
		self.Yield()
		th.Enter(th.New(func(*Coroutine) { panic("inner-2") }))
	})
	th.Enter(outer)
	if recovered != "inner" {
		t.Fatalf("outer recovered %v; want inner", recovered)
	}
	testcheck.Panics(t, "inner-2", func() { th.Enter(outer) })
	if th.Current() != nil || !outer.Finished() {
		t.Fatal("Thread not restored after the nested panic")
	}

	// A panic in a woken coroutine: the rest of the wake-ups are dropped and
	// can be woken again.
	later := th.New(func(*Coroutine) {})
	waker := th.New(func(self *Coroutine) {
		th.WakeAfterYield(th.New(func(*Coroutine) { panic("woken") }))
		th.WakeAfterYield(later)
	})
	testcheck.Panics(t, "woken", func() { th.Enter(waker) })
	if later.Finished() || later.wakeQueued {
		t.Fatal("dropped wake-up still queued or ran")
	}
	th.Enter(later)

	// The Thread still works, pool included.
	ok := false
	again := th.New(func(self *Coroutine) { self.Yield(); ok = true })
	th.Enter(again)
	th.Enter(again)
	if !ok || th.Current() != nil {
		t.Fatal("Thread not usable after the panics")
	}
}

// Destroy unwinds a suspended coroutine: its deferred calls run with it
// current, and its goroutine ends.
func TestDestroy(t *testing.T) {
	th := newThread(t)
	deferred := false
	co := th.New(func(self *Coroutine) {
		defer func() {
			deferred = th.Current() == self
		}()
		for {
			self.Yield()
		}
	})
	th.Enter(co)
	th.Destroy(co)
	if !deferred || !co.Finished() || th.Current() != nil {
		t.Fatalf("deferred %v, finished %v, current %p", deferred, co.Finished(), th.Current())
	}
	testcheck.Panics(t, "not suspended", func() { th.Destroy(co) })

	// Never entered, and reused from the pool but not entered.
	fresh := New(func(*Coroutine) { t.Error("destroyed coroutine ran") })
	th.Destroy(fresh)
	th.Enter(th.New(func(*Coroutine) {}))
	pooled := th.New(func(*Coroutine) { t.Error("destroyed coroutine ran") })
	th.Destroy(pooled)
	if !pooled.Finished() || th.Stats().Pooled != 1 {
		t.Fatal("destroyed pooled coroutine not back in the pool")
	}
}

// runtime.Goexit in a body ends the enterer's goroutine too (iter.Pull
// propagates it), running the enterer's deferred calls; nothing throws.
func TestGoexit(t *testing.T) {
	leakcheck.Goroutines(t)
	done := make(chan bool)
	go func() {
		goexited := true
		defer func() { done <- goexited }()
		th := NewThread()
		th.Enter(th.New(func(*Coroutine) { runtime.Goexit() }))
		goexited = false // not reached
	}()
	if !<-done {
		t.Fatal("Enter returned after runtime.Goexit in the body")
	}
}
