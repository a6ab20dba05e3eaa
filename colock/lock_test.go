package colock

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/coroutine"
	"github.com/pinbench/pinbench/internal/testcheck"
)

// local is a context owned by the test's goroutine: the test enters its
// coroutines itself, one step at a time, so the order of events is fixed.
type local struct {
	t   *testing.T
	ctx *aio.AioContext
	log []string
}

func newLocal(t *testing.T) *local {
	t.Helper()
	ctx := aio.NewContext()
	t.Cleanup(func() {
		if err := ctx.Close(); err != nil {
			t.Error(err)
		}
	})
	return &local{t: t, ctx: ctx}
}

// co returns a coroutine homed on the local context running body.
func (l *local) co(body func(self *Self)) *coroutine.Coroutine {
	return l.ctx.NewCoroutine(Entry(body))
}

// looping returns a coroutine homed on the local context that runs body
// and yields, for ever: each entry is one round. Destroy it when done.
func (l *local) looping(body func(self *Self)) *coroutine.Coroutine {
	return l.co(func(self *Self) {
		for {
			body(self)
			self.Yield()
		}
	})
}

// enter enters co once (with the wake-ups it causes) on the owner.
func (l *local) enter(co *coroutine.Coroutine) { l.ctx.Thread().Enter(co) }

// holder returns a coroutine that, entered, locks m and yields holding
// it, and, entered again, unlocks it and ends.
func (l *local) holder(m *CoMutex) *coroutine.Coroutine {
	return l.co(func(self *Self) {
		m.Lock(self)
		self.Yield()
		m.Unlock(self)
	})
}

func (l *local) logf(format string, args ...any) { l.log = append(l.log, fmt.Sprintf(format, args...)) }

func (l *local) wantLog(want ...string) {
	l.t.Helper()
	if !slices.Equal(l.log, want) {
		l.t.Fatalf("events %q, want %q", l.log, want)
	}
	l.log = nil
}

// The lock word records the holder's context with the count, so that a
// locker on the holder's own thread stops spinning: set by Lock, moved to
// the waiter the lock is handed to, and cleared, to 0, with the last count.
func TestMutexRecordsHolderContext(t *testing.T) {
	l := newLocal(t)
	var m CoMutex
	id := l.ctx.ID()
	word := func(want uint64, when string) {
		t.Helper()
		if got := m.locked.Load(); got != want {
			t.Fatalf("%s: locked = count %d, context %d; want count %d, context %d", when, lockCount(got), holderID(got), lockCount(want), holderID(want))
		}
	}
	a := l.co(func(self *Self) {
		m.Lock(self)
		word(lockWord(1, id), "a holds it")
		self.Yield()
		m.Unlock(self)
	})
	b := l.co(func(self *Self) {
		m.Lock(self)
		word(lockWord(1, id), "b was handed it")
		m.Unlock(self)
	})
	l.enter(a)
	l.enter(b)
	word(lockWord(2, id), "b waits")
	l.enter(a)
	word(0, "both unlocked")
}

// release frees the lock, word 0, with the last count only; setHolderID
// changes the context and keeps the count.
func TestMutexWordHelpers(t *testing.T) {
	var m CoMutex
	m.locked.Store(lockWord(3, 7))
	if m.release() || m.locked.Load() != lockWord(2, 7) {
		t.Fatalf("release of 3 counts: word %#x, want count 2, context 7", m.locked.Load())
	}
	m.setHolderID(9)
	if m.locked.Load() != lockWord(2, 9) {
		t.Fatalf("setHolderID(9): word %#x, want count 2, context 9", m.locked.Load())
	}
	if m.release() || !m.release() || m.locked.Load() != 0 || m.Locked() {
		t.Fatalf("releasing the last two counts: word %#x, want 0 (free)", m.locked.Load())
	}
}

// On one context, a locker that finds the lock held sleeps, and the
// unlocker's wake-up enters it after the unlocker yields or ends.
func TestMutexHandsOffOnOneContext(t *testing.T) {
	l := newLocal(t)
	var m CoMutex
	a := l.co(func(self *Self) {
		m.Lock(self)
		l.logf("a locked")
		self.Yield()
		m.Unlock(self)
		l.logf("a unlocked")
	})
	b := l.co(func(self *Self) {
		l.logf("b locking")
		m.Lock(self)
		l.logf("b locked (held %d)", self.Held())
		m.Unlock(self)
	})
	l.enter(a)
	l.enter(b)
	l.wantLog("a locked", "b locking")
	if !m.Locked() || b.Finished() {
		t.Fatalf("locked %v, b finished %v: want b asleep on a held lock", m.Locked(), b.Finished())
	}
	l.enter(a)
	l.wantLog("a unlocked", "b locked (held 1)")
	if m.Locked() || !a.Finished() || !b.Finished() {
		t.Fatalf("locked %v, finished %v %v: want both done and the lock free", m.Locked(), a.Finished(), b.Finished())
	}
	if s := m.Stats(); s.Wakes != 1 || s.Remote != 0 {
		t.Fatalf("stats %+v, want one local wake", s)
	}
}

func TestMutexMisusePanics(t *testing.T) {
	// A coroutine alone with the mutex, misusing it.
	for _, c := range []struct {
		name, want string
		misuse     func(*CoMutex, *Self)
	}{
		{"unlock-unlocked", "which is not locked", (*CoMutex).Unlock},
		{"end-holding", "ended holding 1 lock(s)", (*CoMutex).Lock},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newLocal(t)
			var m CoMutex
			testcheck.Panics(t, c.want, func() {
				l.enter(l.co(func(self *Self) { c.misuse(&m, self) }))
			})
		})
	}
	t.Run("unlock-by-non-owner", func(t *testing.T) {
		l := newLocal(t)
		var m CoMutex
		a := l.holder(&m)
		l.enter(a)
		testcheck.Panics(t, "which does not hold it (coroutine "+fmt.Sprintf("%p", a)+" does)", func() {
			l.enter(l.co(func(self *Self) { m.Unlock(self) }))
		})
		l.enter(a)
		if m.Locked() || !a.Finished() {
			t.Fatal("the holder could not unlock after the misuse")
		}
	})
	t.Run("stray-wake-of-waiter", func(t *testing.T) {
		l := newLocal(t)
		var m CoMutex
		a := l.holder(&m)
		b := l.co(func(self *Self) {
			m.Lock(self)
			m.Unlock(self)
		})
		l.enter(a)
		l.enter(b)
		testcheck.Panics(t, "already scheduled in 'colock.CoMutex.Lock'", func() { aio.CoSchedule(b) })
		l.enter(a)
		if !b.Finished() || m.Locked() {
			t.Fatal("the waiter did not get the lock after the stray wake was refused")
		}
	})
	t.Run("no-home", func(t *testing.T) {
		l := newLocal(t)
		testcheck.Panics(t, "has no home context", func() {
			l.enter(coroutine.New(Entry(func(*Self) {})))
		})
	})
}

// Lock and Unlock allocate nothing, uncontended or handing the lock to a
// sleeping waiter.
func TestMutexDoesNotAllocate(t *testing.T) {
	l := newLocal(t)
	var m CoMutex
	lockUnlock := func(self *Self) {
		m.Lock(self)
		m.Unlock(self)
	}
	fast := l.looping(lockUnlock)
	l.enter(fast)
	if n := testing.AllocsPerRun(1000, func() { l.enter(fast) }); n != 0 {
		t.Errorf("uncontended lock+unlock: %v allocations", n)
	}
	// a holds the lock between entries; each round b sleeps on it, a
	// hands it over and queues itself, b hands it back.
	a := l.co(func(self *Self) {
		m.Lock(self)
		for {
			self.Yield()
			m.Unlock(self)
			m.Lock(self)
		}
	})
	b := l.looping(lockUnlock)
	l.enter(a)
	round := func() { l.enter(b); l.enter(a) }
	round()
	before := m.Stats().Wakes
	if n := testing.AllocsPerRun(1000, round); n != 0 {
		t.Errorf("lock handed to a sleeping waiter: %v allocations", n)
	}
	if w := m.Stats().Wakes - before; w < 2000 {
		t.Errorf("%d wakes in 1001 rounds, want 2 a round: the rounds did not hand the lock over", w)
	}
	l.ctx.Thread().Destroy(fast)
	l.ctx.Thread().Destroy(a)
	l.ctx.Thread().Destroy(b)
}

func TestCoQueue(t *testing.T) {
	l := newLocal(t)
	var q CoQueue
	if !q.Empty() || q.Next(l.ctx) || q.RestartAll(l.ctx) {
		t.Fatal("a new queue is not empty")
	}
	waiter := func(name string) *coroutine.Coroutine {
		return l.co(func(self *Self) {
			l.logf("%s waits", name)
			q.Wait(self, nil)
			l.logf("%s restarted", name)
		})
	}
	a, b, c := waiter("a"), waiter("b"), waiter("c")
	l.enter(a)
	l.enter(b)
	l.enter(c)
	l.wantLog("a waits", "b waits", "c waits")
	// Next from outside any coroutine enters the waiter at once.
	if !q.Next(l.ctx) {
		t.Fatal("Next found no waiter")
	}
	l.wantLog("a restarted")
	// From inside a coroutine: the waiters run after it ends, in order.
	l.enter(l.co(func(self *Self) {
		if !q.RestartAll(self.Context()) {
			t.Error("RestartAll found no waiter")
		}
		l.logf("restarter done")
	}))
	l.wantLog("restarter done", "b restarted", "c restarted")
	if !q.Empty() || !a.Finished() || !b.Finished() || !c.Finished() {
		t.Fatal("queue not empty or waiters not finished after RestartAll")
	}
}

// Wait with a mutex releases it while asleep and holds it again on return.
func TestCoQueueWaitWithMutex(t *testing.T) {
	l := newLocal(t)
	var (
		m     CoMutex
		q     CoQueue
		items int
	)
	consumer := l.co(func(self *Self) {
		m.Lock(self)
		for items == 0 {
			q.Wait(self, &m)
			l.logf("consumer woke, held %d, locked %v", self.Held(), m.Locked())
		}
		items--
		m.Unlock(self)
	})
	l.enter(consumer)
	if m.Locked() {
		t.Fatal("Wait did not release the mutex")
	}
	l.enter(l.co(func(self *Self) {
		m.Lock(self)
		items++
		q.Next(self.Context())
		m.Unlock(self)
	}))
	l.wantLog("consumer woke, held 1, locked true")
	if !consumer.Finished() || items != 0 || m.Locked() {
		t.Fatalf("consumer finished %v, items %d, locked %v", consumer.Finished(), items, m.Locked())
	}
}

// Readers share the lock, a writer excludes everyone, and a reader that
// comes while a writer waits queues behind it.
func TestRwlockOrder(t *testing.T) {
	l := newLocal(t)
	var rw CoRwlock
	reader := func(name string) *coroutine.Coroutine {
		return l.co(func(self *Self) {
			rw.RdLock(self)
			l.logf("%s reads", name)
			self.Yield()
			rw.Unlock(self)
			l.logf("%s done", name)
		})
	}
	r1, r2, r3 := reader("r1"), reader("r2"), reader("r3")
	w := l.co(func(self *Self) {
		rw.WrLock(self)
		l.logf("w writes")
		self.Yield()
		rw.Unlock(self)
		l.logf("w done")
	})
	l.enter(r1)
	l.enter(r2)
	l.wantLog("r1 reads", "r2 reads")
	l.enter(w)  // waits for the readers
	l.enter(r3) // queues behind the writer
	l.wantLog()
	l.enter(r1)
	l.wantLog("r1 done")
	l.enter(r2) // the last reader out serves the writer
	l.wantLog("r2 done", "w writes")
	l.enter(w) // the writer out serves r3
	l.wantLog("w done", "r3 reads")
	l.enter(r3)
	l.wantLog("r3 done")
	if rw.owners != 0 || rw.tickets.head != nil || rw.mutex.Locked() {
		t.Fatalf("owners %d, tickets %v, mutex locked %v after everyone left", rw.owners, rw.tickets.head != nil, rw.mutex.Locked())
	}
}

func TestRwlockUpgradeDowngrade(t *testing.T) {
	l := newLocal(t)
	var rw CoRwlock
	a := l.co(func(self *Self) {
		rw.RdLock(self)
		self.Yield()
		rw.Upgrade(self) // waits for b to leave
		l.logf("a writes, owners %d", rw.owners)
		rw.Downgrade(self)
		l.logf("a reads again, owners %d", rw.owners)
		rw.Unlock(self)
	})
	b := l.co(func(self *Self) {
		rw.RdLock(self)
		l.logf("b reads")
		self.Yield()
		rw.Unlock(self)
		l.logf("b done")
	})
	l.enter(a)
	l.enter(b)
	l.wantLog("b reads")
	l.enter(a) // queues for the upgrade
	l.wantLog()
	l.enter(b)
	l.wantLog("b done", "a writes, owners -1", "a reads again, owners 1")
	if !a.Finished() || rw.owners != 0 {
		t.Fatalf("a finished %v, owners %d", a.Finished(), rw.owners)
	}
	testcheck.Panics(t, "which is not locked", func() {
		l.enter(l.co(func(self *Self) { rw.Unlock(self) }))
	})
	testcheck.Panics(t, "which no writer holds", func() {
		l.enter(l.co(func(self *Self) { rw.Downgrade(self) }))
	})
	testcheck.Panics(t, "ended holding 1 lock(s)", func() {
		l.enter(l.co(func(self *Self) { rw.RdLock(self) }))
	})
}

// QEMU's test-coroutine /locking/co-rwlock/upgrade and downgrade, ported.
func TestRwlockQEMU(t *testing.T) {
	t.Run("upgrade", func(t *testing.T) {
		l := newLocal(t)
		var rw CoRwlock
		var c1Done, c2Done bool
		c1 := l.co(func(self *Self) {
			rw.RdLock(self)
			self.Yield()
			rw.Upgrade(self)
			rw.Unlock(self)
			c1Done = true
		})
		c2 := l.co(func(self *Self) {
			rw.WrLock(self)
			self.Yield()
			rw.Unlock(self)
			c2Done = true
		})
		l.enter(c1)
		l.enter(c2)
		l.enter(c1) // c1 now goes to sleep
		if c1Done {
			t.Fatal("c1 upgraded while c2 waited to write")
		}
		l.enter(c2)
		if !c1Done || !c2Done {
			t.Fatalf("c1 done %v, c2 done %v", c1Done, c2Done)
		}
	})
	t.Run("downgrade", func(t *testing.T) {
		l := newLocal(t)
		var rw CoRwlock
		var done [4]bool
		c1 := l.co(func(self *Self) {
			rw.RdLock(self)
			self.Yield()
			rw.Unlock(self)
			self.Yield()
			done[0] = true
		})
		c2 := l.co(func(self *Self) {
			rw.WrLock(self)
			rw.Downgrade(self)
			rw.Unlock(self)
			done[1] = true
		})
		c3 := l.co(func(self *Self) {
			rw.RdLock(self)
			rw.Unlock(self)
			done[2] = true
		})
		c4 := l.co(func(self *Self) {
			rw.WrLock(self)
			rw.Unlock(self)
			done[3] = true
		})
		for _, co := range []*coroutine.Coroutine{c1, c2, c3, c4, c1} {
			l.enter(co)
		}
		if !done[1] || !done[2] || !done[3] {
			t.Fatalf("done %v after c1 unlocked: want c2, c3 and c4 through", done)
		}
		l.enter(c1)
		if !done[0] {
			t.Fatal("c1 did not finish")
		}
	})
}

// Review finding: a Lock refused as misuse (the coroutine is marked
// scheduled) leaves the mutex as it was: once the holder unlocks, it is
// free again.
func TestRefusedLockLeavesMutexIntact(t *testing.T) {
	l := newLocal(t)
	var m CoMutex
	h := l.holder(&m)
	l.enter(h) // h holds m, yields
	b := l.co(func(self *Self) {
		self.Coroutine().MarkScheduled("test")
		defer self.Coroutine().ClearScheduled()
		m.Lock(self)
	})
	testcheck.Panics(t, "while it is scheduled in 'test'", func() { l.enter(b) })
	l.enter(h) // h unlocks and ends
	if m.Locked() {
		t.Errorf("after the only holder unlocked: Locked() = true (locked=%d, handoff=%d); the refused Lock left its count", m.locked.Load(), m.handoff.Load())
	}
}

// Review finding: a waiter whose context closed while it slept never runs;
// the unlocker on another context neither panics nor hands it the lock,
// which is free afterwards. (Issue 20: the Close names the waiter and ends
// it, so that its goroutine does not stay parked.)
func TestWaiterOnClosedContextIsDropped(t *testing.T) {
	a := newLocal(t)
	ctxB := aio.NewContext()
	var m CoMutex
	h := a.holder(&m)
	a.enter(h)
	w := ctxB.NewCoroutine(Entry(func(self *Self) { m.Lock(self); m.Unlock(self) }))
	ctxB.Thread().Enter(w) // w sleeps on m
	err := ctxB.Close()
	if want := fmt.Sprintf("coroutine %p asleep in '%s'", w, whereMutex); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Close of the waiter's context said %v, want it to contain %q", err, want)
	}
	if !w.Finished() {
		t.Fatal("the waiter was not ended by its context's Close")
	}
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("the holder's Unlock panicked: %v", r)
			}
		}()
		a.enter(h) // unlocks: w is dropped
	}()
	if m.Locked() {
		t.Fatalf("the mutex stayed locked after its holder unlocked with only a dead waiter")
	}
}
