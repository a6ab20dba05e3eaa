package aio

import (
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Futex operations (linux/futex.h). golang.org/x/sys/unix does not define
// them, so they are spelled out here.
const (
	FUTEX_WAIT         = 0                               // sleep while the word equals a value
	FUTEX_WAKE         = 1                               // wake up to n sleepers
	FUTEX_PRIVATE_FLAG = 128                             // the word is not shared with other processes: cheaper lookup
	FUTEX_WAIT_PRIVATE = FUTEX_WAIT | FUTEX_PRIVATE_FLAG // FUTEX_WAIT within this process
	FUTEX_WAKE_PRIVATE = FUTEX_WAKE | FUTEX_PRIVATE_FLAG // FUTEX_WAKE within this process
)

// futexWait sleeps in the kernel while *addr == val, for at most timeout
// (forever when timeout < 0). It returns on a wake, a signal, a timeout, or
// at once when *addr != val; callers recheck their condition in a loop.
//
// It goes through unix.Syscall6, not RawSyscall6: the runtime must know
// this thread is blocked (entersyscall) so that sysmon can hand its P to
// another thread; a raw blocking call would hold the P for as long as the
// thread sleeps. The word lives in Go memory, which the garbage collector
// never moves, so the kernel may key on its address. The conversion
// uintptr(unsafe.Pointer(addr)) inside the call expression keeps addr alive
// and pinned for the duration of the call (unsafe.Pointer rule 4).
func futexWait(addr *atomic.Uint32, val uint32, timeout time.Duration) {
	var tsp *unix.Timespec
	if timeout >= 0 {
		ts := unix.NsecToTimespec(int64(timeout))
		tsp = &ts
	}
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), FUTEX_WAIT_PRIVATE,
		uintptr(val), uintptr(unsafe.Pointer(tsp)), 0, 0)
}

// futexWake wakes up to n threads sleeping in futexWait on addr. It never
// blocks, so RawSyscall would do, but Syscall keeps the race detector and
// the runtime's accounting honest for a few tens of nanoseconds.
func futexWake(addr *atomic.Uint32, n int) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), FUTEX_WAKE_PRIVATE,
		uintptr(n), 0, 0, 0)
}

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
			futexWake(&e.v, int(^uint32(0)>>1))
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
		// Sleeps only while v is still busy: the kernel compares and
		// sleeps atomically with respect to futexWake, and the timeout
		// bounds a timed wait.
		futexWait(&e.v, eventBusy, timeout)
	}
}

// Wakes returns how many system-call wakes Set has issued. Any goroutine
// may call it.
func (e *Event) Wakes() uint64 { return e.wakes.Load() }
