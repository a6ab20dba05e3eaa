// Package futex is pinbench's one wrapper of Linux's futex system call: a
// thread sleeps in the kernel on a 32-bit word while the word holds the
// value it expects, and another thread changes the word and wakes it. It
// is how a thread locked to its OS thread waits for another without a Go
// channel or mutex, whose wake-up of a locked thread makes the runtime
// hand a P over (DESIGN.md section 3). Linux only.
//
// # The contract, for every caller
//
// [Wait] returns for any of these reasons, and says not which:
//   - a [Wake] on the word;
//   - at once, when the word no longer holds val as the kernel looks
//     (EAGAIN);
//   - a signal delivered to the thread (EINTR); Go's runtime signals its
//     threads (SIGURG for preemption), so this is common;
//   - the timeout (ETIMEDOUT);
//   - spuriously: the kernel allows it, and a Wake meant for an earlier
//     sleep on the same word may end this one.
//
// So a caller waits in a loop that rereads its word, with sync/atomic,
// after every return, and sleeps again only while the word still says so.
// The loop is the caller's, since only it knows what its word means.
//
// No wake-up is lost between a caller's look at the word and its sleep:
// the kernel reads the word and queues the thread as one step with respect
// to Wake on the same address. A waker that changes the word and then
// calls Wake has either changed it before that read (Wait returns at
// once) or finds the sleeper queued and wakes it. Every waker therefore
// stores to the word first and wakes second; a sleeper passes Wait the
// value it last read.
//
// Memory ordering: Wait and Wake are not synchronizing operations of the
// Go memory model; the word carries the ordering. The waker's atomic write
// of the word (Store, Swap or CompareAndSwap) synchronizes before the
// sleeper's atomic load, after Wait returns, that reads it, and with it
// whatever the waker wrote before. Nothing may be inferred from Wait's
// return alone. Each caller names, at its call, the write its load pairs
// with.
//
// Wait goes through unix.Syscall6, never RawSyscall6: the runtime must
// know the thread is in a system call (entersyscall) so that sysmon can
// hand its P to another thread while it sleeps; a raw blocking call would
// hold the P for as long as the thread sleeps. Wake never blocks (the
// kernel only moves sleepers off the word's queue), so it goes through
// RawSyscall6 and keeps its P while the kernel works: on a virtual
// machine, where waking a thread on another vCPU takes the kernel
// microseconds, the runtime's entry and exit bookkeeping around a wake
// measured about 2 µs a wake (see Wake). A call that cannot block needs
// none of it: a stop-the-world waits microseconds at most for the thread
// to come back, as for any stretch of Go code. The word lives in Go
// memory, which the garbage collector never moves, so the kernel may key
// on its address; the conversion uintptr(unsafe.Pointer(addr))
// inside the call expression keeps it alive and in place for the call
// (unsafe.Pointer rule 4). Neither call allocates.
package futex

import (
	"math"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Futex operations (linux/futex.h); golang.org/x/sys/unix does not define
// them. The private flag says the word is not shared with another
// process, which makes the kernel's lookup cheaper.
const (
	opWait      = 0
	opWake      = 1
	privateFlag = 128
	waitPrivate = opWait | privateFlag
	wakePrivate = opWake | privateFlag
)

// Wait sleeps in the kernel while *addr == val, for at most timeout
// (forever when timeout < 0). It returns on a Wake, a signal, the timeout,
// spuriously, or at once when *addr != val: see the package doc for the
// loop a caller waits in and the ordering its word carries. Its full name
// is tracex.FutexWaitFunc, by which a reader of an execution trace tells
// a thread asleep here from one in another system call; a test holds the
// two together.
func Wait(addr *atomic.Uint32, val uint32, timeout time.Duration) {
	var tsp *unix.Timespec
	if timeout >= 0 {
		ts := unix.NsecToTimespec(int64(timeout))
		tsp = &ts
	}
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), waitPrivate,
		uintptr(val), uintptr(unsafe.Pointer(tsp)), 0, 0)
}

// Wake wakes up to n threads asleep in Wait on addr. Store to the word
// first: see the package doc.
//
// Raw, without the runtime's system-call bookkeeping (the package doc
// says why that is safe for a wake): on the 2-core VM, colock's MCS lock
// (5 threads, where most iterations pass the lock to a sleeping waiter)
// spent 10.5-11.0 µs per pass with Syscall6 here and 8.7-9.2 µs with
// RawSyscall6, in five interleaved pairs of runs, and its threads
// migrated between CPUs about a third less often.
func Wake(addr *atomic.Uint32, n int) {
	unix.RawSyscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), wakePrivate,
		uintptr(n), 0, 0, 0)
}

// WakeAll wakes every thread asleep in Wait on addr.
func WakeAll(addr *atomic.Uint32) { Wake(addr, math.MaxInt32) }
