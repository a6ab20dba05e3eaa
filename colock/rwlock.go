package colock

import "fmt"

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
// holds the lock (as reader or writer, as each says).
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
		l.queue(self, true)
		l.mutex.Unlock(self)
		self.co.Yield()
		self.awake()
		// Served: maybeWakeOne counted us in owners. Let the next
		// reader in line in too, if it is one.
		l.mutex.Lock(self)
		l.maybeWakeOne(self)
	}
	self.held++
}

// WrLock takes l for writing, sleeping while anyone holds it (QEMU's
// qemu_co_rwlock_wrlock).
func (l *CoRwlock) WrLock(self *Self) {
	l.mutex.Lock(self)
	if l.owners == 0 {
		l.owners = -1
		l.mutex.Unlock(self)
	} else {
		l.queue(self, false)
		l.mutex.Unlock(self)
		self.co.Yield()
		self.awake()
		// Served: maybeWakeOne set owners to -1 for us.
	}
	self.held++
}

// Unlock releases a read or write hold of l and serves the oldest ticket
// if the lock is free for it (QEMU's qemu_co_rwlock_unlock). Unlocking an
// unlocked CoRwlock panics.
func (l *CoRwlock) Unlock(self *Self) {
	l.mutex.Lock(self)
	switch {
	case l.owners > 0:
		l.owners--
	case l.owners == -1:
		l.owners = 0
	default:
		l.mutex.Unlock(self)
		panic(fmt.Sprintf("colock: Unlock of CoRwlock %p, which is not locked (coroutine %p)", l, self.co))
	}
	self.held--
	l.maybeWakeOne(self)
}

// Downgrade turns self's write hold of l into a read hold, letting waiting
// readers in (QEMU's qemu_co_rwlock_downgrade). It panics unless a writer
// holds l.
func (l *CoRwlock) Downgrade(self *Self) {
	l.mutex.Lock(self)
	if l.owners != -1 {
		l.mutex.Unlock(self)
		panic(fmt.Sprintf("colock: Downgrade of CoRwlock %p, which no writer holds (coroutine %p)", l, self.co))
	}
	l.owners = 1
	l.maybeWakeOne(self)
}

// Upgrade turns self's read hold of l into a write hold, sleeping until
// the other readers have left (QEMU's qemu_co_rwlock_upgrade). For
// fairness it queues behind anyone already waiting, giving up its read
// hold meanwhile. It panics unless a reader holds l.
func (l *CoRwlock) Upgrade(self *Self) {
	l.mutex.Lock(self)
	if l.owners <= 0 {
		l.mutex.Unlock(self)
		panic(fmt.Sprintf("colock: Upgrade of CoRwlock %p, which no reader holds (coroutine %p)", l, self.co))
	}
	if l.owners == 1 && l.tickets.head == nil {
		l.owners = -1
		l.mutex.Unlock(self)
		return
	}
	l.owners--
	l.queue(self, false)
	l.maybeWakeOne(self)
	self.co.Yield()
	self.awake()
	// Served: owners is -1 for us.
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
// from slipping in between the unlock and the wake.
func (l *CoRwlock) maybeWakeOne(self *Self) {
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
	if w != nil && !wake(self.ctx, w) {
		// w's home is closed: it never runs. Give back what it was
		// served and serve the next ticket instead.
		l.mutex.Lock(self)
		if w.read {
			l.owners--
		} else {
			l.owners = 0
		}
		l.maybeWakeOne(self)
	}
}
