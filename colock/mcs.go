package colock

import (
	"fmt"
	"sync/atomic"

	"github.com/pinbench/pinbench/internal/cacheline"
	"github.com/pinbench/pinbench/internal/futex"
	"github.com/pinbench/pinbench/internal/spinwait"
)

// MCS is the fair lock of QEMU's test-aio-multithread (/aio/multi/mutex/mcs),
// the baseline its CoMutex is compared with: an MCS queue lock whose
// waiters sleep on a futex. Each of n participants (one per thread) has a
// node, alone on its cache lines; a locker swaps itself in as the queue's
// tail and, if someone was there, links itself behind them and sleeps on
// its own node until the holder ahead passes the lock on. Waiters block
// their whole OS thread in the kernel, unlike a CoMutex's waiters, which
// leave their thread to other coroutines.
//
// Who may call what: participant id (0 <= id < n) calls Lock(id) and
// Unlock(id), from one thread at a time; Unlock only while holding the
// lock. Handoffs may be read from any goroutine.
type MCS struct {
	_ [cacheline.Pad]byte
	// tail is the id of the last node queued, -1 when the lock is free
	// (QEMU's mutex_head).
	tail atomic.Int32
	_    [cacheline.Pad]byte
	// handoffs counts unlocks that passed the lock to a waiter.
	handoffs atomic.Uint64
	_        [cacheline.Pad]byte
	nodes    []mcsNode
}

// mcsNode is one participant's queue node, padded so that a waiter
// sleeping on its word shares no line with another's.
type mcsNode struct {
	// next is the id of the node queued behind this one, -1 for none yet;
	// written once by that node's locker, read by this node's unlocker.
	next atomic.Int32
	// locked is the futex word this node's locker sleeps on: 1 while it
	// waits, 0 once the holder ahead passed the lock on.
	locked atomic.Uint32
	_      [cacheline.Pad - 8]byte
}

// NewMCS returns an unlocked MCS lock for n participants.
func NewMCS(n int) *MCS {
	if n < 1 {
		panic(fmt.Sprintf("colock: NewMCS(%d): want at least one participant", n))
	}
	l := &MCS{nodes: make([]mcsNode, n)}
	l.tail.Store(-1)
	return l
}

// Lock takes the lock for participant id, sleeping in the kernel while
// others hold it or are queued ahead.
func (l *MCS) Lock(id int) {
	n := &l.nodes[id]
	n.next.Store(-1)
	n.locked.Store(1)
	// Swap: queues us as the tail. Whoever swaps after us sees our id and
	// links itself to our node; our stores above come before, so it sees
	// our node reset.
	prev := l.tail.Swap(int32(id))
	if prev == -1 {
		return // the lock was free: the freeing compare-and-swap, whose -1 we read, synchronizes before the swap
	}
	// Link behind prev: pairs with its unlocker's load of next.
	l.nodes[prev].next.Store(int32(id))
	// Sleep while locked is 1 (the futex contract: see package futex).
	// The loop's Load pairs with the unlocker's Store of 0 before its
	// wake, and rechecks after any other return (QEMU's test does not
	// loop).
	for n.locked.Load() == 1 {
		futex.Wait(&n.locked, 1, -1)
	}
	// The unlocker's store of 0 synchronizes before the load that read
	// it, and with it the unlocker's critical section.
}

// Unlock passes the lock to the participant queued behind id, or frees it.
func (l *MCS) Unlock(id int) {
	n := &l.nodes[id]
	if n.next.Load() == -1 {
		// Nobody linked behind us yet. If we are still the tail, free the
		// lock (compare-and-swap: fails if a locker swapped in after us).
		if l.tail.Load() == int32(id) && l.tail.CompareAndSwap(int32(id), -1) {
			return
		}
		// A locker swapped in but has not linked itself yet: wait for it,
		// a few instructions away.
		for n.next.Load() == -1 {
			spinwait.Pause()
		}
	}
	next := &l.nodes[n.next.Load()]
	l.handoffs.Add(1)
	// Store, then wake (the futex contract): pairs with the waiter's
	// Load of locked in Lock.
	next.locked.Store(0)
	futex.Wake(&next.locked, 1)
}

// Handoffs returns how many unlocks passed the lock to a waiter.
func (l *MCS) Handoffs() uint64 { return l.handoffs.Load() }
