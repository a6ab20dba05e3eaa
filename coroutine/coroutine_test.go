package coroutine

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// mustPanic runs f and checks that it panics with a value whose text
// contains want; it returns the value.
func mustPanic(t *testing.T, want string, f func()) (v any) {
	t.Helper()
	defer func() {
		t.Helper()
		v = recover()
		if v == nil {
			t.Fatalf("no panic; want one containing %q", want)
		}
		if s := fmt.Sprint(v); !strings.Contains(s, want) {
			t.Fatalf("panic %q; want one containing %q", s, want)
		}
	}()
	f()
	return nil
}

// newThread returns a Thread for a test, closed at its end, and checks
// that the test left no goroutine behind (coroutines are goroutines).
func newThread(t *testing.T) *Thread {
	t.Helper()
	before := runtime.NumGoroutine()
	th := NewThread()
	t.Cleanup(func() {
		th.Close()
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if after := runtime.NumGoroutine(); after > before {
			t.Errorf("goroutine leak: %d before, %d after", before, after)
		}
	})
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

// Misuse panics with a sentence before the runtime could throw.
func TestMisuse(t *testing.T) {
	th := newThread(t)

	t.Run("reentered-self", func(t *testing.T) {
		co := th.New(func(self *Coroutine) { th.Enter(self) })
		mustPanic(t, "re-entered recursively", func() { th.Enter(co) })
		if th.Current() != nil {
			t.Fatal("Current not restored")
		}
	})
	t.Run("reentered-outer", func(t *testing.T) {
		var outer *Coroutine
		outer = th.New(func(self *Coroutine) {
			th.Enter(th.New(func(*Coroutine) { th.Enter(outer) }))
		})
		mustPanic(t, "re-entered recursively", func() { th.Enter(outer) })
	})
	t.Run("finished", func(t *testing.T) {
		co := th.New(func(*Coroutine) {})
		th.Enter(co)
		mustPanic(t, "entering finished coroutine", func() { th.Enter(co) })
	})
	t.Run("other-thread", func(t *testing.T) {
		other := NewThread()
		co := th.New(func(self *Coroutine) { self.Yield() })
		th.Enter(co)
		mustPanic(t, "its home Thread is", func() { other.Enter(co) })
		mustPanic(t, "its home Thread is", func() {
			other.Enter(other.New(func(*Coroutine) { other.WakeAfterYield(co) }))
		})
		th.Enter(co)
		// A coroutine from th's pool already lives on th.
		pooled := th.New(func(*Coroutine) {})
		if pooled.HomeThread() != th {
			t.Fatal("pooled coroutine's home is not its pool's Thread")
		}
		mustPanic(t, "its home Thread is", func() { other.Enter(pooled) })
		th.Enter(pooled)
		other.Close()
	})
	t.Run("yield-outside", func(t *testing.T) {
		co := th.New(func(self *Coroutine) { self.Yield() })
		mustPanic(t, "Yield called outside", co.Yield) // never entered
		th.Enter(co)
		mustPanic(t, "Yield called outside", co.Yield) // suspended
		// From a nested coroutine's body, yielding the outer one.
		outer := th.New(func(self *Coroutine) {
			th.Enter(th.New(func(*Coroutine) { self.Yield() }))
		})
		mustPanic(t, "Yield called outside", func() { th.Enter(outer) })
		th.Enter(co)
	})
	t.Run("scheduled", func(t *testing.T) {
		co := th.New(func(self *Coroutine) { self.Yield() })
		if _, ok := co.MarkScheduled("test-misuse"); !ok {
			t.Fatal("first MarkScheduled failed")
		}
		mustPanic(t, "already scheduled in 'test-misuse'", func() { th.Enter(co) })
		co.ClearScheduled()
		th.Enter(co)
		th.Enter(co)
	})
	t.Run("wake", func(t *testing.T) {
		other := th.New(func(self *Coroutine) {})
		co := th.New(func(self *Coroutine) {
			mustPanic(t, "wake itself", func() { th.WakeAfterYield(self) })
			th.WakeAfterYield(other)
			mustPanic(t, "woken twice", func() { th.WakeAfterYield(other) })
		})
		th.Enter(co)
		if !other.Finished() {
			t.Fatal("woken coroutine did not run")
		}
	})
	t.Run("nil", func(t *testing.T) {
		mustPanic(t, "nil entry function", func() { th.New(nil) })
		mustPanic(t, "nil entry function", func() { New(nil) })
	})
	if th.Current() != nil {
		t.Fatal("Current not nil after the misuse tests")
	}
}

// The pool: create-enter-finish reuses the same runtime coroutine (same
// goroutine), counted in Stats, bounded by the pool size.
func TestPool(t *testing.T) {
	th := newThread(t)
	var ids []int64
	body := func(*Coroutine) { ids = append(ids, goid()) }
	co := th.New(body)
	th.Enter(co)
	rt := co.rtID
	for range 9 {
		c := th.New(body)
		if c != co {
			t.Fatal("New did not reuse the pooled coroutine")
		}
		th.Enter(c)
		if c.rtID != rt {
			t.Fatal("reused coroutine has another runtime coroutine")
		}
	}
	if s := th.Stats(); s.Created != 1 || s.Reused != 9 || s.Pooled != 1 {
		t.Fatalf("stats %+v; want Created 1, Reused 9, Pooled 1", s)
	}
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("bodies ran on goroutines %v; want one", ids)
		}
	}
	if ids[0] == goid() {
		t.Fatal("body ran on the enterer's goroutine")
	}

	// Bound: many finished at once, at most DefaultPoolSize kept.
	const n = DefaultPoolSize + 20
	cos := make([]*Coroutine, n)
	for i := range cos {
		cos[i] = th.New(func(self *Coroutine) { self.Yield() })
		th.Enter(cos[i])
	}
	for _, c := range cos {
		th.Enter(c)
	}
	if s := th.Stats(); s.Pooled != DefaultPoolSize {
		t.Fatalf("pooled %d; want %d", s.Pooled, DefaultPoolSize)
	}
	th.SetPoolSize(3)
	if s := th.Stats(); s.Pooled != 3 {
		t.Fatalf("pooled %d after SetPoolSize(3); want 3", s.Pooled)
	}

	// No pool: every coroutine starts its own runtime coroutine.
	th.SetPoolSize(0)
	before := th.Stats()
	for range 5 {
		th.Enter(th.New(body))
	}
	if s := th.Stats(); s.Created != before.Created+5 || s.Reused != before.Reused || s.Pooled != 0 {
		t.Fatalf("without pool: stats %+v, before %+v", s, before)
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

type testPanic struct{ n int }

// A panic in a body reaches the enterer with its value; the Thread stays
// usable and the coroutine is finished and not reused.
func TestPanic(t *testing.T) {
	th := newThread(t)
	co := th.New(func(self *Coroutine) { panic(testPanic{7}) })
	v := mustPanic(t, "{7}", func() { th.Enter(co) })
	if v != (testPanic{7}) {
		t.Fatalf("panic value %#v; want the original", v)
	}
	if !co.Finished() || th.Current() != nil {
		t.Fatal("after the panic: not finished, or Current not restored")
	}
	if th.Stats().Pooled != 0 {
		t.Fatal("panicked coroutine went to the pool")
	}
	mustPanic(t, "entering finished coroutine", func() { th.Enter(co) })

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
	mustPanic(t, "inner-2", func() { th.Enter(outer) })
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
	mustPanic(t, "woken", func() { th.Enter(waker) })
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
	mustPanic(t, "not suspended", func() { th.Destroy(co) })

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
	before := runtime.NumGoroutine()
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
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("goroutine leak: %d before, %d after", before, after)
	}
}

// No goroutine outlives its use: finished, pooled and destroyed coroutines
// all end once the Thread is closed.
func TestNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	th := NewThread()
	var suspended []*Coroutine
	for i := range 100 {
		co := th.New(func(self *Coroutine) {
			self.Yield()
			if i%2 == 0 {
				th.Enter(th.New(func(*Coroutine) {}))
			}
		})
		th.Enter(co)
		if i%3 == 0 {
			suspended = append(suspended, co)
		} else {
			th.Enter(co)
		}
	}
	mustPanic(t, "boom", func() { th.Enter(th.New(func(*Coroutine) { panic("boom") })) })
	if runtime.NumGoroutine() <= before {
		t.Fatal("coroutines do not show as goroutines; the test proves nothing")
	}
	for _, co := range suspended {
		th.Destroy(co)
	}
	th.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after != before {
		t.Fatalf("%d goroutines before, %d after", before, after)
	}
}

// Enter+Yield and pooled create-enter-finish do not allocate.
func TestAllocs(t *testing.T) {
	th := newThread(t)
	co := th.New(func(self *Coroutine) {
		for {
			self.Yield()
		}
	})
	th.Enter(co)
	if n := testing.AllocsPerRun(1000, func() { th.Enter(co) }); n != 0 {
		t.Errorf("Enter+Yield: %v allocations; want 0", n)
	}
	th.Destroy(co)
	th.Enter(th.New(emptyEntry))
	if n := testing.AllocsPerRun(1000, func() { th.Enter(th.New(emptyEntry)) }); n != 0 {
		t.Errorf("pooled create-enter-finish: %v allocations; want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() {
		co.MarkScheduled("test-allocs")
		co.ClearScheduled()
	}); n != 0 {
		t.Errorf("MarkScheduled+ClearScheduled: %v allocations; want 0", n)
	}
}

// MarkScheduled from many threads: exactly one claim wins per clear, and the
// losers learn where it was scheduled.
func TestMarkScheduled(t *testing.T) {
	co := New(func(*Coroutine) {})
	if _, ok := co.Scheduled(); ok {
		t.Fatal("new coroutine is scheduled")
	}
	const workers, rounds = 8, 200
	var wg sync.WaitGroup
	wins := make([]int, rounds)
	var mu sync.Mutex
	for r := range rounds {
		start := make(chan struct{})
		for w := range workers {
			wg.Go(func() {
				<-start
				where := "worker-" + strconv.Itoa(w)
				first, ok := co.MarkScheduled(where)
				mu.Lock()
				defer mu.Unlock()
				if ok {
					wins[r]++
				} else if !strings.HasPrefix(first, "worker-") {
					t.Errorf("loser got where %q", first)
				}
			})
		}
		close(start)
		wg.Wait()
		if where, ok := co.Scheduled(); !ok || !strings.HasPrefix(where, "worker-") {
			t.Fatalf("round %d: Scheduled = %q, %v", r, where, ok)
		}
		co.ClearScheduled()
	}
	for r, n := range wins {
		if n != 1 {
			t.Fatalf("round %d: %d winners; want 1", r, n)
		}
	}
	// SchedLink is the coroutine's own link.
	other := New(func(*Coroutine) {})
	co.SchedLink().Store(other)
	if l1, l2 := co.SchedLink(), co.SchedLink(); l1.Load() != other || l1 != l2 {
		t.Fatal("SchedLink does not hold its value")
	}
	// Many distinct wheres: beyond the interned ones it still works.
	co.MarkScheduled("worker-0")
	for i := range 2 * maxInternedWheres {
		w := "many-" + strconv.Itoa(i)
		if _, ok := co.MarkScheduled(w); ok {
			t.Fatal("marked twice")
		}
		co.ClearScheduled()
		if _, ok := co.MarkScheduled(w); !ok {
			t.Fatal("mark after clear failed")
		}
		if got, _ := co.Scheduled(); got != w {
			t.Fatalf("Scheduled = %q; want %q", got, w)
		}
		co.ClearScheduled()
		co.MarkScheduled("worker-0")
	}
}

// A coroutine that finishes while still marked scheduled stays out of the
// pool, so its queue's late Enter panics rather than running a stranger.
func TestFinishedWhileScheduled(t *testing.T) {
	th := newThread(t)
	co := th.New(func(self *Coroutine) { self.MarkScheduled("test-finish") })
	th.Enter(co)
	if th.Stats().Pooled != 0 {
		t.Fatal("scheduled coroutine went to the pool")
	}
	co.ClearScheduled()
	mustPanic(t, "entering finished coroutine", func() { th.Enter(co) })
}

// Home is stored, not interpreted; New works from any goroutine and the
// first Enter decides the home Thread.
// testHome is a Home for tests.
type testHome struct{ name string }

func (*testHome) Thread() *Thread { return nil }

func TestHome(t *testing.T) {
	home := &testHome{"iothread-1"}
	ch := make(chan *Coroutine)
	go func() {
		co := New(func(self *Coroutine) { self.Yield() })
		co.SetHome(home)
		ch <- co
	}()
	co := <-ch
	if co.Home() != Home(home) || co.HomeThread() != nil {
		t.Fatal("Home not stored or HomeThread set before Enter")
	}
	th := newThread(t)
	th.Enter(co)
	th.Enter(co)
	if co.HomeThread() != th {
		t.Fatal("first Enter did not record the home Thread")
	}
	reused := th.New(func(*Coroutine) {})
	if reused != co || reused.Home() != nil {
		t.Fatal("pooled coroutine not reused, or kept its old home context")
	}
	th.Destroy(reused) // never entered: back to the pool, so Close ends it
}

// runtime.Goexit in a body ends the enterer's goroutine too (iter.Pull
// propagates it), running the enterer's deferred calls; nothing throws.
func TestGoexit(t *testing.T) {
	before := runtime.NumGoroutine()
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
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("goroutine leak: %d before, %d after", before, after)
	}
}

// A random mix of yields, nested enters, wake-ups and finishes on one
// Thread: Current is always right, every coroutine finishes, nothing panics,
// and the pool serves what it can.
func TestRandomMix(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { randomMix(t, seed) })
	}
}

func randomMix(t *testing.T, seed uint64) {
	th := newThread(t)
	rng := rand.New(rand.NewPCG(seed, 2))
	var (
		all     []*Coroutine
		stack   []*Coroutine            // running, innermost last
		queued  = map[*Coroutine]bool{} // woken, not yet resumed
		resumes int
		wakes   int
	)
	idle := func(co *Coroutine) bool { // enterable now
		return !co.Finished() && !queued[co] && !slices.Contains(stack, co)
	}
	var body Func
	spawn := func() *Coroutine {
		co := th.New(body)
		all = append(all, co)
		return co
	}
	resume := func(self *Coroutine) {
		resumes++
		delete(queued, self)
		if th.Current() != self || stack[len(stack)-1] != self {
			t.Fatalf("Current %p, model %p; want self %p", th.Current(), stack[len(stack)-1], self)
		}
	}
	body = func(self *Coroutine) {
		resume(self)
		for range rng.IntN(6) {
			switch r := rng.IntN(10); {
			case r < 4:
				stack = stack[:len(stack)-1]
				self.Yield()
				resume(self)
			case r < 6 && len(stack) < 20 && len(all) < 2000:
				child := spawn()
				stack = append(stack, child)
				th.Enter(child)
			case r < 8:
				for range 3 {
					if c := all[rng.IntN(len(all))]; idle(c) && c != self {
						queued[c] = true // pushed on the model's stack when it resumes
						wakes++
						th.WakeAfterYield(c)
						break
					}
				}
			default:
				if c := all[rng.IntN(len(all))]; idle(c) && len(stack) < 20 {
					stack = append(stack, c)
					th.Enter(c)
				}
			}
		}
		stack = stack[:len(stack)-1]
	}
	// Woken coroutines are entered by Enter itself: keep the model's stack
	// right by pushing them as they resume. Wrap resume for that.
	inner := resume
	resume = func(self *Coroutine) {
		if len(stack) == 0 || stack[len(stack)-1] != self {
			stack = append(stack, self)
		}
		inner(self)
	}
	for range 200 {
		co := spawn()
		stack = append(stack, co)
		th.Enter(co)
	}
	for rounds := 0; ; rounds++ {
		progress := false
		for _, co := range all {
			if idle(co) {
				stack = append(stack, co)
				th.Enter(co)
				progress = true
			}
		}
		if !progress {
			break
		}
		if rounds > 1000 {
			t.Fatal("coroutines do not finish")
		}
	}
	if len(stack) != 0 || len(queued) != 0 || th.Current() != nil {
		t.Fatalf("stack %d, queued %d, current %p after the run", len(stack), len(queued), th.Current())
	}
	for _, co := range all {
		if !co.Finished() {
			t.Fatal("a coroutine did not finish")
		}
	}
	s := th.Stats()
	t.Logf("%d coroutines, %d resumes, %d wake-ups, stats %+v", len(all), resumes, wakes, s)
	if s.Reused == 0 || wakes == 0 {
		t.Error("the pool or the wake-ups were never used")
	}
}
