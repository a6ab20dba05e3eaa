package colock

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/coroutine"
	"github.com/pinbench/pinbench/internal/testcheck"
)

// Issue 20, item 3: Unlock, Downgrade and Upgrade by a coroutine that does
// not hold the CoRwlock used to return normally, and a second writer (or a
// reader beside a writer) was then admitted. Each must panic with a
// sentence and leave the lock as it was: the holder keeps it, and the next
// locker waits for the holder.
func TestRwlockRefusesNonHolder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writes bool                   // the holder writes (else reads)
		misuse func(*CoRwlock, *Self) // by a coroutine that holds nothing
		next   func(*CoRwlock, *Self) // the locker that must wait
		want   string
	}{
		{"unlock-by-non-reader", false, (*CoRwlock).Unlock, (*CoRwlock).WrLock, "which does not hold it"},
		{"unlock-by-non-writer", true, (*CoRwlock).Unlock, (*CoRwlock).WrLock, "which does not hold it"},
		{"downgrade-by-non-writer", true, (*CoRwlock).Downgrade, (*CoRwlock).RdLock, "which does not hold it"},
		{"upgrade-by-non-reader", false, (*CoRwlock).Upgrade, (*CoRwlock).WrLock, "which does not hold it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLocal(t)
			var rw CoRwlock
			holder := l.co(func(self *Self) {
				if tc.writes {
					rw.WrLock(self)
				} else {
					rw.RdLock(self)
				}
				self.Yield()
				rw.Unlock(self)
				l.logf("holder unlocked")
			})
			l.enter(holder)
			var stranger *coroutine.Coroutine
			testcheck.Panics(t, tc.want, func() {
				stranger = l.co(func(self *Self) { tc.misuse(&rw, self) })
				l.enter(stranger)
			})
			next := l.co(func(self *Self) {
				tc.next(&rw, self)
				l.logf("next locked")
				rw.Unlock(self)
			})
			l.enter(next)
			l.wantLog() // waits for the holder
			l.enter(holder)
			l.wantLog("holder unlocked", "next locked")
			if rw.owners != 0 || rw.tickets.head != nil || rw.mutex.Locked() {
				t.Fatalf("owners %d, tickets %v, mutex locked %v after everyone left", rw.owners, rw.tickets.head != nil, rw.mutex.Locked())
			}
			_ = fmt.Sprint(stranger)
		})
	}
}

// RdLock, WrLock and Unlock allocate nothing: a coroutine's holds are
// recorded in its Self, inline.
func TestRwlockDoesNotAllocate(t *testing.T) {
	l := newLocal(t)
	var rw1, rw2 CoRwlock
	co := l.looping(func(self *Self) {
		rw1.RdLock(self)
		rw2.WrLock(self)
		rw2.Downgrade(self)
		rw1.Unlock(self)
		rw2.Upgrade(self)
		rw2.Unlock(self)
	})
	l.enter(co)
	if n := testing.AllocsPerRun(1000, func() { l.enter(co) }); n != 0 {
		t.Errorf("rwlock round: %v allocations", n)
	}
	l.ctx.Thread().Destroy(co)
}

// A panic while holding a CoRwlock names the hold and says that it stays
// held (releasing it may sleep); a CoMutex held beside it is released.
func TestPanicHoldingRwlockNamesIt(t *testing.T) {
	l := newLocal(t)
	var (
		rw CoRwlock
		m  CoMutex
	)
	testcheck.Panics(t, fmt.Sprintf("holding CoMutex %p, CoRwlock %p (reading) (the CoMutexes released, the CoRwlocks still held", &m, &rw), func() {
		l.enter(l.co(func(self *Self) {
			rw.RdLock(self)
			m.Lock(self)
			panic("boom")
		}))
	})
	if m.Locked() || rw.owners != 1 {
		t.Fatalf("mutex locked %v, rwlock owners %d; want the mutex released and the read hold left", m.Locked(), rw.owners)
	}
}

// An Upgrade whose ticket comes up because the wake of the writer queued
// ahead of it failed (the writer's home was joined, which ended it) takes
// the lock itself: it used to wake itself and panic ("asked to wake
// itself"), with owners -1 and the lock lost.
func TestRwlockUpgradeServedAfterFailedWake(t *testing.T) {
	r := newRig(t, 2)
	var rw CoRwlock
	var held, upgraded atomic.Bool
	r.start("reader", 0, func(self *Self) {
		rw.RdLock(self)
		held.Store(true)
		self.Yield() // resumed by the test once the writer's home is gone
		rw.Upgrade(self)
		upgraded.Store(true)
		rw.Unlock(self)
	})
	within(t, "the reader holds the lock", held.Load)
	r.start("writer", 1, func(self *Self) {
		rw.WrLock(self)
		rw.Unlock(self)
	})
	waitMark(t, r.crew[1].co, whereRw)
	if err := r.threads[1].Join(); err == nil || !strings.Contains(err.Error(), "asleep") {
		t.Fatalf("joining the writer's iothread: %v, want an error naming the writer asleep", err)
	}
	// The writer was ended by its home's Close, as the Join said: the rig
	// has neither to end nor to join them again.
	r.crew, r.threads = r.crew[:1], r.threads[:1]
	aio.CoScheduleAt(r.crew[0].co, "colock.test.resume")
	within(t, "the reader upgraded past the writer's dead ticket", upgraded.Load)
	within(t, "the lock free again", func() bool {
		var free bool
		err := r.threads[0].Run(func() { free = rw.owners == 0 && rw.tickets.head == nil })
		return err == nil && free
	})
}
