// Package schedpass keeps a goroutine locked to its OS thread in view of
// Go's scheduler: a [Pacer] passes it through the scheduler
// (runtime.Gosched) once every [Interval], when its owner asks.
//
// Why a locked thread needs it. The runtime's sysmon thread looks at every
// P each tick (20 µs to 10 ms apart) and judges how long its goroutine has
// run by the P's schedule count, which moves only when the scheduler
// starts a goroutine there. An iothread's goroutine never leaves its
// thread, and its coroutine switches and futex sleeps do not pass through
// the scheduler, so after 10 ms (forcePreemptNS in runtime/proc.go's
// retake) its P looks stuck for good. From then on, at every tick that
// finds the thread in a system call (asleep on its futex), sysmon takes
// its P and hands it off, and asks for a preemption; having taken a P,
// sysmon ticks again after 20 µs. The woken thread must then find a P
// again on its way out of the system call. On the 2-CPU VM, colock's MCS
// lock (5 iothreads, blocking waits) drew about 7,400 hand-offs and
// 13,000 preemption requests in a 2 s run; with its threads passing
// through the scheduler every 5 ms, 700 and 80, and each pass of the lock
// cost 8 µs where a sched_yield every 5 ms instead left it at 14
// (docs/peers.md, "Where the time goes").
//
// A pass through the scheduler moves the count: runtime.Gosched on a
// locked goroutine puts it on the run queue and hands its P to another
// thread, whose scheduler gives the P back to the locked thread when it
// picks the goroutine (tens of microseconds on a VM, once per Interval:
// about 1% of the thread's time at 50 µs). Passing every Interval, half
// of sysmon's 10 ms, keeps the count moving before sysmon's limit, so
// sysmon takes the P of a sleeping iothread only as it does any thread's
// in a system call: after a tick's grace, and only while no P is idle
// for another thread to run on.
package schedpass

import (
	"runtime"
	"time"
)

// Interval is the least time a Pacer lets pass between two passes
// through the scheduler (the most depends on how often its owner calls
// Pass): half of the 10 ms after which the runtime's sysmon treats a
// goroutine as running too long.
const Interval = 5 * time.Millisecond

// epoch is the origin of the monotonic times a Pacer keeps.
var epoch = time.Now()

// A Pacer passes its owner's goroutine through the scheduler at most once
// an Interval. The zero Pacer passes at its first Pass.
//
// Who may call what: one goroutine (the thread's owner) only; a Pacer is
// not safe for concurrent use.
type Pacer struct {
	// next is when the next pass is due, as time since epoch.
	next time.Duration
}

// Pass reads the clock (a vDSO call, tens of nanoseconds) and, when an
// Interval or more has gone by since the last pass, passes the calling
// goroutine through the scheduler. It reports whether it did, and how
// long the pass took, for a caller that times its own wait around it. A
// caller in a tight loop calls it every few microseconds of work, not
// every iteration.
func (p *Pacer) Pass() (passed bool, took time.Duration) {
	now := time.Since(epoch)
	if now < p.next {
		return false, 0
	}
	runtime.Gosched()
	// From after the pass: a pass that took long (a loaded machine) does
	// not make the next one due at once.
	end := time.Since(epoch)
	p.next = end + Interval
	return true, end - now
}
