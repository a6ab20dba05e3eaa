package coroutine

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/pinbench/pinbench/internal/leakcheck"
	"github.com/pinbench/pinbench/internal/testcheck"
)

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

// No goroutine outlives its use: finished, pooled and destroyed coroutines
// all end once the Thread is closed.
func TestNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	leakcheck.Goroutines(t) // the check itself, after the Close below
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
	testcheck.Panics(t, "boom", func() { th.Enter(th.New(func(*Coroutine) { panic("boom") })) })
	if runtime.NumGoroutine() <= before {
		t.Fatal("coroutines do not show as goroutines; the test proves nothing")
	}
	for _, co := range suspended {
		th.Destroy(co)
	}
	th.Close()
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
