package aio

import (
	"sync/atomic"
	"time"

	"github.com/pinbench/pinbench/internal/futex"
)

// Event states (QEMU's QemuEvent, util/qemu-thread-posix.c).
// The zero state is free, so the zero Event is a usable reset event.
const (
	eventFree = 0 // reset, nobody waiting: Set needs no system call
	eventSet  = 1 // set: Wait returns at once
	eventBusy = 2 // reset, and a waiter may be asleep in the kernel: Set wakes
)

// Event is a manual-reset event on a futex, QEMU's QemuEvent: the way a
// thread waits for another without a Go channel or mutex, whose wake-up of
// a locked thread makes the runtime hand a P over. Setting an event nobody
// sleeps on costs no system call.
//
// Who may call what: any goroutine may Set, Reset and Wait, concurrently.
// Wait blocks the calling OS thread in the kernel (the runtime hands its P
// to another thread after a while, as for any blocking system call). The
// Set that sets a reset event synchronizes before the return of every Wait
// that sees it set; a Set of an event already set orders nothing. The zero
// Event is ready to use, reset.
type Event struct {
	// v is the state, also the futex word. Transitions: Set stores set
	// from anything; Reset moves set -> free; a waiter moves free -> busy
	// before sleeping on busy.
	v atomic.Uint32
	// wakes counts the futex wakes Set issued (system calls).
	wakes atomic.Uint64
}

// Set sets the event and wakes every waiter. Any goroutine may call it.
func (e *Event) Set() {
	// Ordering: the Swap synchronizes before the waiter's load of v that
	// reads the set state, so whatever the caller wrote before Set is
	// visible to that waiter. A Set that finds v set already only loads,
	// which orders nothing: the type's doc says so.
	if e.v.Load() != eventSet {
		// Swap, not Store: only the transition out of busy needs the
		// system call. A waiter moves free -> busy with CompareAndSwap
		// before it sleeps, so either it sees set and does not sleep, or
		// this Swap sees busy and wakes it.
		if e.v.Swap(eventSet) == eventBusy {
			e.wakes.Add(1)
			futex.WakeAll(&e.v)
		}
	}
}

// Reset clears the event if it is set. Any goroutine may call it; a
// waiter that already returned is not affected.
func (e *Event) Reset() {
	// Only set -> free: a busy event is already reset and has sleepers
	// that the next Set must wake, so it must stay busy.
	e.v.CompareAndSwap(eventSet, eventFree)
}

// IsSet reports whether the event is set. Any goroutine may call it.
func (e *Event) IsSet() bool { return e.v.Load() == eventSet }

// Wait blocks the calling thread until the event is set. Any goroutine
// may call it.
func (e *Event) Wait() { e.wait(-1) }

// WaitTimeout is Wait for at most d; it reports whether the event is set.
// A watchdog uses it to wait for a result without waking up every few
// milliseconds (each wake-up steals a CPU from the threads being
// measured). Any goroutine may call it.
func (e *Event) WaitTimeout(d time.Duration) bool { return e.wait(max(d, 0)) }

// wait blocks until the event is set, or for at most d when d >= 0, and
// reports whether it is set.
func (e *Event) wait(d time.Duration) bool {
	var deadline time.Time
	if d >= 0 {
		deadline = time.Now().Add(d)
	}
	for {
		v := e.v.Load()
		if v == eventSet {
			return true
		}
		timeout := time.Duration(-1)
		if d >= 0 {
			if timeout = time.Until(deadline); timeout <= 0 {
				return false
			}
		}
		if v == eventFree {
			// Announce a sleeper; pairs with the Swap in Set. If Set
			// won the race, the compare-and-swap fails and the loop
			// sees set.
			if !e.v.CompareAndSwap(eventFree, eventBusy) {
				continue
			}
		}
		// Sleeps only while v is still busy (the futex contract: see
		// package futex); the loop's Load pairs with the Swap in Set, and
		// the timeout bounds a timed wait.
		futex.Wait(&e.v, eventBusy, timeout)
	}
}

// Wakes returns how many system-call wakes Set has issued. Any goroutine
// may call it.
func (e *Event) Wakes() uint64 { return e.wakes.Load() }
