package aio

import (
	"fmt"
	"runtime"
	"sync/atomic"
)

// WaitMode says how the owner of an [AioContext] waits in a blocking
// [AioContext.Poll] when there is nothing to do.
type WaitMode int32

const (
	// WaitAdaptive busy-polls for the adaptive window, then sleeps in the
	// kernel: QEMU's iothread polling (see [AioContext.SetPollParams]).
	WaitAdaptive WaitMode = iota
	// WaitPoll busy-polls until there is work and never sleeps, so Notify
	// never needs a system call. It keeps a CPU (and a Go P) busy: GOMAXPROCS
	// must exceed the number of contexts polled this way.
	WaitPoll
	// WaitBlock sleeps in the kernel at once, without busy-polling.
	WaitBlock
)

var waitModeNames = [...]string{WaitAdaptive: "adaptive", WaitPoll: "poll", WaitBlock: "block"}

// String returns the mode's name as benchmark keys spell it (wait=poll).
func (m WaitMode) String() string {
	if m >= 0 && int(m) < len(waitModeNames) {
		return waitModeNames[m]
	}
	return fmt.Sprintf("WaitMode(%d)", int32(m))
}

// ParseWaitMode returns the mode named s: "adaptive", "poll" or "block".
func ParseWaitMode(s string) (WaitMode, error) {
	for m, name := range waitModeNames {
		if s == name {
			return WaitMode(m), nil
		}
	}
	return 0, fmt.Errorf("aio: unknown wait mode %q (want adaptive, poll or block)", s)
}

// Adaptive polling defaults, as QEMU's iothreads have them.
const (
	// DefaultPollMaxNs is the longest busy-poll window (QEMU's
	// poll-max-ns default, 32768 ns).
	DefaultPollMaxNs = 32768
	// PollStartNs is the window the first growth starts at (QEMU: "start
	// polling at 4 microseconds").
	PollStartNs = 4000
	// DefaultPollGrow is the growth factor used when grow is 0 (x2).
	DefaultPollGrow = 2
)

// SetPollParams sets the adaptive polling parameters at run time (QEMU's
// poll-max-ns, poll-grow, poll-shrink): busy-poll at most maxNs
// nanoseconds before sleeping (0 turns polling off), multiply the window
// by grow after a short sleep (0 means x2), divide it by shrink after a
// sleep longer than maxNs (0 means drop to 0). The window restarts from 0.
// Negative values are an error. Any goroutine may call it; the owner picks
// the change up at its next wait.
func (c *AioContext) SetPollParams(maxNs, grow, shrink int64) error {
	if maxNs < 0 || grow < 0 || shrink < 0 {
		return fmt.Errorf("aio: poll parameters must not be negative (max-ns %d, grow %d, shrink %d)", maxNs, grow, shrink)
	}
	c.pollMaxNs.Store(maxNs)
	c.pollGrow.Store(grow)
	c.pollShrink.Store(shrink)
	// Best effort: the owner may overwrite this with an adjustment of the
	// old window, which wait clamps to the new maximum anyway.
	c.pollNs.Store(0)
	c.Notify()
	return nil
}

// PollParams returns the adaptive polling parameters. Any goroutine may
// call it; the three are read one by one, not as a snapshot.
func (c *AioContext) PollParams() (maxNs, grow, shrink int64) {
	return c.pollMaxNs.Load(), c.pollGrow.Load(), c.pollShrink.Load()
}

// SetWaitMode selects how a blocking Poll waits (see [WaitMode]). Any
// goroutine may call it; a wait in progress ends (it is notified) and the
// next one uses the new mode. Entering [WaitPoll] takes one of the
// busy-polling slots that GOMAXPROCS allows, and fails when none is left
// (each busy-polling owner keeps a P busy, and the rest of the program
// needs one); leaving it, or Close, gives the slot back. On a closed
// context it returns an error.
func (c *AioContext) SetWaitMode(m WaitMode) error {
	if m < 0 || int(m) >= len(waitModeNames) {
		return fmt.Errorf("aio: unknown wait mode %d", int32(m))
	}
	c.modeMu.Lock()
	defer c.modeMu.Unlock()
	if c.modeClosed {
		return fmt.Errorf("aio: SetWaitMode(%s) on %s, which is closed", m, c)
	}
	switch {
	case m == WaitPoll && !c.busyReserved:
		if err := reserveBusy(); err != nil {
			return err
		}
		c.busyReserved = true
	case m != WaitPoll && c.busyReserved:
		releaseBusy()
		c.busyReserved = false
	}
	c.waitMode.Store(int32(m))
	c.Notify()
	return nil
}

// busyPollers counts contexts in WaitPoll mode, which each keep a Go P
// busy for as long as their owner polls; see reserveBusy.
var busyPollers atomic.Int32

// reserveBusy claims a busy-polling slot, or says how large GOMAXPROCS
// must be.
func reserveBusy() error {
	for {
		n := busyPollers.Load()
		procs := runtime.GOMAXPROCS(0)
		if int(n)+1 >= procs {
			return fmt.Errorf("aio: %d busy-polling iothreads need GOMAXPROCS >= %d (it is %d): each keeps a P busy, and the rest of the program needs one; raise GOMAXPROCS or use wait=adaptive or wait=block",
				n+1, n+2, procs)
		}
		// Compare-and-swap: two reservations cannot both take the last
		// slot.
		if busyPollers.CompareAndSwap(n, n+1) {
			return nil
		}
	}
}

func releaseBusy() { busyPollers.Add(-1) }

// BusyIOThreads returns how many contexts (normally iothreads') are in
// [WaitPoll] mode, each holding a busy-polling slot.
func BusyIOThreads() int { return int(busyPollers.Load()) }

// WaitMode returns the wait mode. Any goroutine may call it.
func (c *AioContext) WaitMode() WaitMode { return WaitMode(c.waitMode.Load()) }
