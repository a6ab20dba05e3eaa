package osthread

import (
	"iter"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// ID identifies an OS thread of this process while it is alive: two calls
// of [Current] on the same thread return the same ID, and two threads that
// are alive at the same time have different IDs. An ID may be reused once
// its thread has ended. The zero ID is no thread.
type ID uintptr

// Current returns the ID of the OS thread running the caller. Unless the
// goroutine is locked to its thread (runtime.LockOSThread), the answer may
// be stale as soon as it returns.
//
// It costs a couple of nanoseconds: a load of the runtime's current-thread
// pointer, not a system call (gettid costs as much as a whole cross-core
// handoff), so that coroutine and event-loop owner checks can sit on hot
// paths. See currentM for how, and for why the
// answer is checked once before it is trusted.
func Current() ID {
	if fastOK() {
		return ID(currentM())
	}
	return ID(unix.Gettid())
}

// CurrentTid is the kernel thread id of the calling thread (gettid), for
// messages: slow, but what a person can look up in /proc or top.
func CurrentTid() int { return unix.Gettid() }

var (
	fastOnce  sync.Once
	fastValid bool
)

// fastOK reports whether currentM behaves as a thread identity on this
// runtime, checking it once (see validateFast).
func fastOK() bool {
	fastOnce.Do(func() { fastValid = haveCurrentM && validateFast() })
	return fastValid
}

// validateFast checks the properties Current promises against what
// currentM returns, on threads whose identity is known by other means:
// a locked goroutine sees one value, twice, also from inside a coroutine it
// runs (iter.Pull runs the coroutine on the same thread); another locked
// goroutine, alive at the same time, sees a different one, and each agrees
// with gettid about which thread is which. A runtime whose layout no longer
// matches (see currentM) fails here, and Current falls back to gettid.
// Costs one short-lived thread, once per process.
func validateFast() bool {
	type probe struct {
		m, m2, inCoro ID
		tid           int
	}
	read := func() probe {
		var p probe
		p.tid = unix.Gettid()
		p.m = ID(currentM())
		runtime.Gosched()
		p.m2 = ID(currentM())
		next, stop := iter.Pull(func(yield func(ID) bool) { yield(ID(currentM())) })
		p.inCoro, _ = next()
		stop()
		return p
	}
	// onLocked returns read's probe from a new goroutine locked to a
	// thread of its own, which it holds until release is closed, so that
	// the two probes' threads are alive at the same time. The probes
	// unlock before they end: nothing changed their threads, and a
	// goroutine that ends locked to the main thread would wedge it.
	onLocked := func(release <-chan struct{}) probe {
		var p probe
		ready := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			p = read()
			close(ready)
			<-release
		}()
		<-ready
		return p
	}
	release := make(chan struct{})
	a := onLocked(release)
	b := onLocked(release)
	close(release)
	ok := func(p probe) bool { return p.m != 0 && p.m == p.m2 && p.m == p.inCoro }
	return ok(a) && ok(b) && a.tid != b.tid && a.m != b.m
}

// Fast reports whether [Current] reads the runtime's thread pointer rather
// than making a system call (see currentM). When it does, [CurrentFast]
// returns the same ID as Current at less cost.
func Fast() bool { return fastOK() }

// CurrentFast returns [Current]'s ID without checking, as Current does on
// every call, that this runtime's thread pointer was validated: call it
// only after [Fast] returned true.
func CurrentFast() ID { return ID(currentM()) }
