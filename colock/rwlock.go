package colock

import (
	"fmt"
	"slices"
)

// CoRwlock is a readers-writer lock for coroutines on any number of
// contexts (QEMU's CoRwlock, in its ticket form of QEMU 6.1 and later).
// The zero value is unlocked. A CoRwlock must not be copied after first
// use.
//
// It is fair: coroutines that must wait queue up in one FIFO of tickets,
// readers and writers alike, and a reader that arrives while anyone waits
// queues behind them. When the lock frees up, the oldest ticket is served
// and, if it is a reader, wakes the next reader in line, and so on. The
// state sits under an internal [CoMutex], held only for a few lines; a
// coroutine that waits for the lock itself sleeps in its home context and
// is woken through aio's CoWake. The n'th Unlock synchronizes before any
// lock call that is served after it.
//
// Who may call what: every method only from the body of a coroutine run
// through [Entry], passing its Self, on its home context; any number of
// contexts at once. Unlock, Upgrade and Downgrade only by a coroutine that
// holds the lock (as reader or writer, as each says): each coroutine's
// Self records its holds, so a call by any other panics with a sentence
// and leaves the lock as it was.
type CoRwlock struct {
	mutex CoMutex
	// owners is how many readers hold the lock, or -1 while a writer does
	// (QEMU's lock->owners). Guarded by mutex, as are the tickets.
	owners int
	// tickets are the waiters' records, oldest first; Self.read says
	// what each asks for.
	tickets fifo
}

// RdLock takes l for reading, sleeping while a writer holds it or anyone
// waits (QEMU's qemu_co_rwlock_rdlock).
func (l *CoRwlock) RdLock(self *Self) {
	l.mutex.Lock(self)
	// For fairness, queue behind a waiting writer.
	if l.owners == 0 || (l.owners > 0 && l.tickets.head == nil) {
		l.owners++
		l.mutex.Unlock(self)
	} else {
		l.sleep(self, true)
		// Served: maybeWakeOne counted us in owners. Let the next
		// reader in line in too, if it is one.
		l.mutex.Lock(self)
		l.maybeWakeOne(self)
	}
	self.addHold(l, false)
}

// sleep queues self for l (a reader when read) and lets l's internal
// mutex go, then sleeps until maybeWakeOne serves its ticket. Call it
// holding l's mutex.
func (l *CoRwlock) sleep(self *Self, read bool) {
	l.queue(self, read)
	l.mutex.Unlock(self)
	self.co.Yield()
	self.awake()
}

// WrLock takes l for writing, sleeping while anyone holds it (QEMU's
// qemu_co_rwlock_wrlock).
func (l *CoRwlock) WrLock(self *Self) {
	l.mutex.Lock(self)
	if l.owners == 0 {
		l.owners = -1
		l.mutex.Unlock(self)
	} else {
		l.sleep(self, false)
		// Served: maybeWakeOne set owners to -1 for us.
	}
	self.addHold(l, true)
}

// Unlock releases self's read or write hold of l and serves the oldest
// ticket if the lock is free for it (QEMU's qemu_co_rwlock_unlock). It
// panics when self does not hold l (l unlocked, or held by others).
func (l *CoRwlock) Unlock(self *Self) {
	i := self.holdOf(l)
	if i < 0 {
		l.misuse("Unlock", self, "")
	}
	write := self.rwHolds[i].write
	self.dropHold(i)
	l.mutex.Lock(self)
	if write {
		l.owners = 0
	} else {
		l.owners--
	}
	l.maybeWakeOne(self)
}

// Downgrade turns self's write hold of l into a read hold, letting waiting
// readers in (QEMU's qemu_co_rwlock_downgrade). It panics unless self
// holds l for writing.
func (l *CoRwlock) Downgrade(self *Self) {
	i := self.holdOf(l)
	if i < 0 || !self.rwHolds[i].write {
		l.misuse("Downgrade", self, "for writing")
	}
	self.rwHolds[i].write = false
	l.mutex.Lock(self)
	l.owners = 1
	l.maybeWakeOne(self)
}

// Upgrade turns self's read hold of l into a write hold, sleeping until
// the other readers have left (QEMU's qemu_co_rwlock_upgrade). For
// fairness it queues behind anyone already waiting, giving up its read
// hold meanwhile. It panics unless self holds l for reading.
func (l *CoRwlock) Upgrade(self *Self) {
	i := self.holdOf(l)
	if i < 0 || self.rwHolds[i].write {
		l.misuse("Upgrade", self, "for reading")
	}
	l.mutex.Lock(self)
	if l.owners == 1 && l.tickets.head == nil {
		l.owners = -1
		l.mutex.Unlock(self)
	} else {
		l.owners--
		l.queue(self, false)
		if !l.maybeWakeOne(self) {
			self.co.Yield()
		}
		self.awake()
		// Served: owners is -1 for us.
	}
	self.rwHolds[i].write = true
}

// misuse panics with the sentence for op on l by self, which does not
// hold it as op needs (how: "for reading", "for writing", or "" for any
// hold), naming who holds it.
func (l *CoRwlock) misuse(op string, self *Self, how string) {
	l.mutex.Lock(self)
	owners := l.owners
	l.mutex.Unlock(self)
	switch {
	case owners == 0 && op == "Unlock":
		panic(fmt.Sprintf("colock: Unlock of CoRwlock %p, which is not locked (coroutine %p)", l, self.co))
	case owners != -1 && op == "Downgrade":
		panic(fmt.Sprintf("colock: Downgrade of CoRwlock %p, which no writer holds (coroutine %p)", l, self.co))
	case owners <= 0 && op == "Upgrade":
		panic(fmt.Sprintf("colock: Upgrade of CoRwlock %p, which no reader holds (coroutine %p)", l, self.co))
	}
	who := "another coroutine writes"
	if owners > 0 {
		who = fmt.Sprintf("%d other reader(s) do", owners)
	}
	if how != "" {
		how = " " + how
	}
	panic(fmt.Sprintf("colock: %s of CoRwlock %p by coroutine %p, which does not hold it%s (%s)", op, l, self.co, how, who))
}

// addHold records that self holds l (for writing when write), after the
// lock is taken.
func (s *Self) addHold(l *CoRwlock, write bool) {
	s.rwHolds = append(s.rwHolds, rwHold{l: l, write: write}) // no allocation within rwBuf
	s.held++
}

// holdOf returns the index of self's newest hold of l, or -1.
func (s *Self) holdOf(l *CoRwlock) int {
	for i := len(s.rwHolds) - 1; i >= 0; i-- {
		if s.rwHolds[i].l == l {
			return i
		}
	}
	return -1
}

// dropHold forgets self's hold i.
func (s *Self) dropHold(i int) {
	s.rwHolds = slices.Delete(s.rwHolds, i, i+1)
	s.held--
}

// queue appends self's ticket. l.mutex must be held.
func (l *CoRwlock) queue(self *Self, read bool) {
	self.sleep(whereRw)
	self.read = read
	l.tickets.push(self)
}

// maybeWakeOne serves the oldest ticket if the lock is free for it, then
// releases l.mutex (QEMU's qemu_co_rwlock_maybe_wake_one). Counting the
// served coroutine in owners before the mutex is released keeps anyone
// from slipping in between the unlock and the wake. It reports whether
// the ticket served was self's own (an Upgrade whose ticket came up once
// the wakes ahead of it failed): self then holds the lock, claimed and
// not to sleep.
func (l *CoRwlock) maybeWakeOne(self *Self) (servedSelf bool) {
	var w *Self
	if t := l.tickets.head; t != nil {
		switch {
		case t.read && l.owners >= 0:
			l.owners++
			w = t
		case !t.read && l.owners == 0:
			l.owners = -1
			w = t
		}
	}
	if w != nil {
		l.tickets.pop()
	}
	l.mutex.Unlock(self)
	if w == self {
		// Our claim on ourselves cannot fail: only our home's Close
		// claims us otherwise, and it runs on this thread, which we hold
		// (as in CoMutex's lockSlow).
		self.co.Claim()
		return true
	}
	if w != nil && !wake(self.ctx, w) {
		// w never runs (its home closed, or ended it). Give back what it was
		// served and serve the next ticket instead.
		l.mutex.Lock(self)
		if w.read {
			l.owners--
		} else {
			l.owners = 0
		}
		return l.maybeWakeOne(self)
	}
	return false
}
