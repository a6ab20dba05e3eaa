package coroutine

import (
	"github.com/pinbench/pinbench/internal/testcheck"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// MarkScheduled from many threads: exactly one claim wins per clear, and the
// losers learn where it was scheduled.
func TestMarkScheduled(t *testing.T) {
	// The where strings made below fill the package's interned list (past
	// maxInternedWheres, marks allocate); give the list back as it was, so
	// that a test run after this one (TestAllocs) still finds its where
	// interned, whatever the order.
	old := wheres.list.Load()
	t.Cleanup(func() {
		wheres.mu.Lock()
		defer wheres.mu.Unlock()
		wheres.list.Store(old)
	})
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
	testcheck.Panics(t, "entering finished coroutine", func() { th.Enter(co) })
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
