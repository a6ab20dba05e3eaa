package coroutine

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/pinbench/pinbench/internal/leakcheck"
)

// newThread returns a Thread for a test, closed at its end, and checks
// that the test left no goroutine behind (coroutines are goroutines).
func newThread(t *testing.T) *Thread {
	t.Helper()
	leakcheck.Goroutines(t) // checked after the Close below (cleanups run last first)
	th := NewThread()
	t.Cleanup(th.Close)
	return th
}

// goid returns the calling goroutine's id, parsed from its stack header.
func goid() int64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	b = b[:bytes.IndexByte(b, ' ')]
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		panic(err)
	}
	return n
}

// QEMU test-coroutine /basic/self: the entry receives its own coroutine,
// which is Current while it runs.
func TestSelf(t *testing.T) {
	th := newThread(t)
	var got, cur *Coroutine
	co := th.New(func(self *Coroutine) {
		got = self
		cur = th.Current()
	})
	if th.Current() != nil {
		t.Fatal("Current outside any coroutine is not nil")
	}
	if co.HomeThread() != nil {
		t.Fatal("HomeThread before the first Enter is not nil")
	}
	th.Enter(co)
	if got != co || cur != co {
		t.Fatalf("entry got %p, Current %p; want %p", got, cur, co)
	}
	if co.HomeThread() != th {
		t.Fatal("HomeThread after Enter is not the entering Thread")
	}
	if !co.Finished() || th.Current() != nil {
		t.Fatal("after the body returned: not finished, or Current not restored")
	}
}

// QEMU /basic/yield: a coroutine that yields N times is entered N+1 times.
func TestYield(t *testing.T) {
	th := newThread(t)
	const n = 5
	i := 0
	co := th.New(func(self *Coroutine) {
		for i < n {
			i++
			self.Yield()
		}
	})
	entries := 0
	for !co.Finished() {
		th.Enter(co)
		entries++
	}
	if i != n || entries != n+1 {
		t.Fatalf("i = %d, entries = %d; want %d, %d", i, entries, n, n+1)
	}
}

// QEMU /basic/order: enter, yield and finish interleave as expected.
func TestOrder(t *testing.T) {
	th := newThread(t)
	var log []string
	rec := func(s string) { log = append(log, s) }
	co := th.New(func(self *Coroutine) {
		rec("co-enter")
		self.Yield()
		rec("co-resume")
	})
	rec("enter")
	th.Enter(co)
	rec("yield")
	th.Enter(co)
	rec("finish")
	want := []string{"enter", "co-enter", "yield", "co-resume", "finish"}
	if !slices.Equal(log, want) {
		t.Fatalf("order %v; want %v", log, want)
	}
}

// QEMU /basic/nesting: coroutines entering coroutines, to a depth; each
// Yield returns to its enterer, and Current follows.
func TestNesting(t *testing.T) {
	th := newThread(t)
	const depth = 64
	maxDepth, finished := 0, 0
	var nest func(level int) Func
	nest = func(level int) Func {
		return func(self *Coroutine) {
			maxDepth = max(maxDepth, level)
			if th.Current() != self {
				t.Errorf("level %d: Current is not self", level)
			}
			if level < depth {
				child := th.New(nest(level + 1))
				th.Enter(child)
				if th.Current() != self {
					t.Errorf("level %d: Current not restored after the child", level)
				}
			}
			finished++
		}
	}
	th.Enter(th.New(nest(1)))
	if maxDepth != depth || finished != depth {
		t.Fatalf("max depth %d, finished %d; want %d", maxDepth, finished, depth)
	}

	// Yield of the inner coroutine returns to the outer body.
	var log []string
	var inner *Coroutine
	outer := th.New(func(self *Coroutine) {
		inner = th.New(func(in *Coroutine) {
			log = append(log, "inner-1")
			in.Yield()
			log = append(log, "inner-2")
		})
		th.Enter(inner)
		log = append(log, "outer-after-inner-yield")
		self.Yield()
		th.Enter(inner)
		log = append(log, "outer-after-inner-finish")
	})
	th.Enter(outer)
	log = append(log, "top-after-outer-yield")
	th.Enter(outer)
	want := []string{"inner-1", "outer-after-inner-yield", "top-after-outer-yield", "inner-2", "outer-after-inner-finish"}
	if !slices.Equal(log, want) {
		t.Fatalf("order %v; want %v", log, want)
	}
	if !inner.Finished() || !outer.Finished() {
		t.Fatal("not finished")
	}
}

// QEMU's co_queue_wakeup: coroutines woken from inside a coroutine run after
// it yields (or finishes), in order, depth first.
func TestWakeAfterYield(t *testing.T) {
	th := newThread(t)
	var log []string
	rec := func(s string) { log = append(log, s) }
	var b, c, d *Coroutine
	d = th.New(func(self *Coroutine) { rec("d") })
	b = th.New(func(self *Coroutine) {
		rec("b")
		th.WakeAfterYield(d)
		rec("b-after-wake")
		self.Yield()
		rec("b-resumed")
	})
	c = th.New(func(self *Coroutine) { rec("c") })
	a := th.New(func(self *Coroutine) {
		rec("a")
		th.WakeAfterYield(b)
		th.WakeAfterYield(c)
		rec("a-yield")
		self.Yield()
		rec("a-resumed")
		th.WakeAfterYield(b) // b is suspended: woken when a finishes
		rec("a-end")
	})
	th.Enter(a)
	rec("top-1")
	th.Enter(a)
	rec("top-2")
	want := []string{"a", "a-yield", "b", "b-after-wake", "d", "c", "top-1", "a-resumed", "a-end", "b-resumed", "top-2"}
	if !slices.Equal(log, want) {
		t.Fatalf("order\n %v\nwant\n %v", log, want)
	}
	for _, co := range []*Coroutine{a, b, c, d} {
		if !co.Finished() {
			t.Fatal("a coroutine did not finish")
		}
	}

	// Outside any coroutine, WakeAfterYield enters at once.
	ran := false
	th.WakeAfterYield(th.New(func(*Coroutine) { ran = true }))
	if !ran {
		t.Fatal("WakeAfterYield outside a coroutine did not enter")
	}
}

// A coroutine that wakeUps enters keeps Enter's semantics for what it does
// itself: a coroutine it enters runs its own wake-ups before that Enter
// returns, and once it has yielded back to the list, a later Enter of it
// (here by the next coroutine on the list) runs the wake-ups of that entry
// before returning.
func TestWokenCoroutineEntersLikeAnyOther(t *testing.T) {
	th := newThread(t)
	var log []string
	rec := func(s string) { log = append(log, s) }
	y := th.New(func(self *Coroutine) { rec("y") })
	x := th.New(func(self *Coroutine) {
		rec("x")
		th.WakeAfterYield(y)
	})
	z := th.New(func(self *Coroutine) { rec("z") })
	b := th.New(func(self *Coroutine) {
		rec("b")
		th.Enter(x) // y runs before this Enter returns
		rec("b-after-x")
		self.Yield()
		rec("b-resumed")
		th.WakeAfterYield(z)
	})
	c := th.New(func(self *Coroutine) {
		rec("c")
		th.Enter(b) // not from the list: z runs before this Enter returns
		rec("c-after-b")
	})
	a := th.New(func(self *Coroutine) {
		th.WakeAfterYield(b)
		th.WakeAfterYield(c)
		rec("a-end")
	})
	th.Enter(a)
	rec("top")
	want := []string{"a-end", "b", "x", "y", "b-after-x", "c", "b-resumed", "z", "c-after-b", "top"}
	if !slices.Equal(log, want) {
		t.Fatalf("order\n %v\nwant\n %v", log, want)
	}
}

// A chain of wake-ups, each woken coroutine waking the next, runs in order
// to its end.
func TestLongWakeChain(t *testing.T) {
	th := newThread(t)
	const n = 10000
	ran := 0
	chain := make([]*Coroutine, n)
	for i := range chain {
		chain[i] = th.New(func(*Coroutine) {
			if ran != i {
				t.Errorf("coroutine %d ran after %d others", i, ran)
			}
			ran++
			if i+1 < n {
				th.WakeAfterYield(chain[i+1])
			}
		})
	}
	th.Enter(chain[0])
	if ran != n {
		t.Fatalf("%d of %d coroutines ran", ran, n)
	}
}

// The runtime would throw if a coroutine made on a locked thread were
// resumed elsewhere; on its own locked, pinned thread everything works and
// the bodies run on that OS thread.
func TestLockedThread(t *testing.T) {
	done := make(chan error)
	go func() {
		// Exits while locked: the OS thread ends with the goroutine.
		runtime.LockOSThread()
		tid := syscall.Gettid()
		th := NewThread()
		var tids []int
		rec := func() { tids = append(tids, syscall.Gettid()) }
		for range 10 {
			outer := th.New(func(self *Coroutine) {
				rec()
				inner := th.New(func(in *Coroutine) { rec(); in.Yield(); rec() })
				th.Enter(inner)
				self.Yield()
				rec()
				th.WakeAfterYield(inner)
			})
			th.Enter(outer)
			th.Enter(outer)
		}
		th.Close()
		for _, x := range tids {
			if x != tid {
				done <- fmt.Errorf("body ran on thread %d; want %d", x, tid)
				return
			}
		}
		if s := th.Stats(); s.Created != 2 || len(tids) != 40 {
			done <- fmt.Errorf("stats %+v, %d records; want 2 runtime coroutines, 40 records", s, len(tids))
			return
		}
		done <- nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// The case the runtime would throw on: a coroutine made on one locked OS
// thread, entered from another locked thread. It panics with a sentence on
// the wrong thread and still works on its own.
func TestLockedThreadsCrossEnter(t *testing.T) {
	leakcheck.Goroutines(t)
	made := make(chan *Coroutine)
	errs := make(chan error, 2)
	release := make(chan struct{})
	var home *Thread
	go func() { // home thread: exits locked
		runtime.LockOSThread()
		th := NewThread()
		home = th
		co := th.New(func(self *Coroutine) { self.Yield() })
		th.Enter(co)
		made <- co
		<-release
		th.Enter(co) // still fine at home
		if !co.Finished() {
			errs <- fmt.Errorf("coroutine did not finish at home")
		}
		th.Close()
		errs <- nil
	}()
	co := <-made
	go func() { // the other locked thread
		runtime.LockOSThread()
		other := NewThread()
		func() {
			defer func() {
				v := recover()
				if s := fmt.Sprint(v); !strings.Contains(s, "its home Thread is") {
					errs <- fmt.Errorf("entering on another locked thread: panic %q", s)
					return
				}
				errs <- nil
			}()
			other.Enter(co)
		}()
		other.Close()
	}()
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if co.HomeThread() != home {
		t.Fatal("home Thread changed")
	}
}
