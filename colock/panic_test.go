package colock

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/internal/leakcheck"
	"github.com/pinbench/pinbench/internal/testcheck"
)

// recovered runs fn and returns what it panicked with (nil when it did
// not panic).
func recovered(fn func()) (r any) {
	defer func() { r = recover() }()
	fn()
	return nil
}

// Issue 20, item 2: a coroutine panics while it holds a CoMutex, with a
// waiter asleep on the lock on its own iothread and one on another. The
// panic used to come through Run with no word about the lock, which stayed
// held by a finished coroutine: both waiters slept for ever, and Join
// returned nil with their goroutines parked. The panic must name the lock,
// the lock must go to the waiters, and both iothreads must join cleanly.
func TestPanicHoldingMutexReleasesIt(t *testing.T) {
	leakcheck.Check(t)
	ensureProcs(t, 3)
	threads := mustIOThreads(t, 2)
	a, b := threads[0], threads[1]
	var m CoMutex
	panicker := a.Context().NewCoroutine(Entry(func(self *Self) {
		m.Lock(self)
		self.Yield() // until the waiters sleep
		panic("boom")
	}))
	enter := func() { a.Context().Thread().Enter(panicker) }
	if err := a.Run(enter); err != nil {
		t.Fatal(err)
	}
	var gotLocal, gotRemote atomic.Bool
	local := a.Context().NewCoroutine(Entry(func(self *Self) {
		m.Lock(self)
		gotLocal.Store(true)
		m.Unlock(self)
	}))
	remote := b.Context().NewCoroutine(Entry(func(self *Self) {
		m.Lock(self)
		gotRemote.Store(true)
		m.Unlock(self)
	}))
	aio.CoSchedule(local)
	waitMark(t, local, whereMutex)
	aio.CoSchedule(remote)
	waitMark(t, remote, whereMutex)
	r := recovered(func() { _ = a.Run(enter) })
	msg := fmt.Sprint(r)
	for _, want := range []string{"boom", fmt.Sprintf("CoMutex %p", &m), fmt.Sprintf("coroutine %p panicked holding", panicker)} {
		if !strings.Contains(msg, want) {
			t.Errorf("the panic through Run said %q, want it to contain %q", msg, want)
		}
	}
	within(t, "the waiter on the panicking coroutine's iothread did not get the lock", gotLocal.Load)
	within(t, "the waiter on the other iothread did not get the lock", gotRemote.Load)
	if m.Locked() {
		t.Errorf("the mutex is locked after both waiters unlocked (locked=%d)", m.locked.Load())
	}
	for i, it := range threads {
		if err := it.Join(); err != nil {
			t.Errorf("join of iothread %d: %v", i, err)
		}
	}
}

// A coroutine that panics holding two CoMutexes names both (the newest
// first) and releases both; a body that returns holding one has it
// released too.
func TestPanicHoldingMutexesNamesEach(t *testing.T) {
	l := newLocal(t)
	var m1, m2 CoMutex
	testcheck.Panics(t, fmt.Sprintf("holding CoMutex %p, CoMutex %p", &m2, &m1), func() {
		l.enter(l.co(func(self *Self) {
			m1.Lock(self)
			m2.Lock(self)
			panic("boom")
		}))
	})
	if m1.Locked() || m2.Locked() {
		t.Fatalf("locked %v %v after the panic, want both released", m1.Locked(), m2.Locked())
	}
	// A body that returns holding a lock: the lock is released as well.
	testcheck.Panics(t, fmt.Sprintf("ended holding 1 lock(s) (CoMutex %p, released)", &m1), func() {
		l.enter(l.co(func(self *Self) { m1.Lock(self) }))
	})
	if m1.Locked() {
		t.Fatal("the lock a body returned holding stays locked")
	}
}
