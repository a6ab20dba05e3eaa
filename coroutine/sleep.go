package coroutine

import (
	"fmt"
	"slices"
)

// # Sleepers
//
// A coroutine that suspends until some other party wakes it (a waiter on
// a lock or a queue) calls Sleep before it queues itself and yields. Sleep
// marks it scheduled in where, as MarkScheduled does, so that a stray
// schedule of it panics naming where instead of corrupting the queue it
// waits on; and it joins its home Thread's sleepers, so that the Thread's
// owner can end it (TakeSleepers, then Destroy) when nothing can wake it
// any more: an event loop does when its context closes.
//
// Exactly one party ends a sleep: a waker, on any thread, or the owner
// tearing the Thread down. Each claims the sleeper first with Claim, a
// compare-and-swap of the mark from Sleep's where to nothing, and exactly
// one claim succeeds. The sleeper, once running again, calls Awake to
// leave the sleepers. A waker that claimed a sleeper and then cannot hand
// it on after all (its home closed) gives it back with Unclaim, which
// restores the mark, so that the teardown's claim can succeed.
//
// Ordering: Sleep's compare-and-swap publishes the mark (and sleepWhere,
// written before it); Claim's compare-and-swap reads it, so everything
// the sleeper did before Sleep synchronizes before the claimant's next
// steps. Unclaim's compare-and-swap is read by the next successful Claim,
// so what the first claimant wrote before giving the sleeper back (a
// record that it handed nothing over) synchronizes before the second
// claimant, and before the sleeper's end.

// Sleep marks co asleep in where, waiting for a wake-up, and records it
// among its home Thread's sleepers. Only co's own running body may call
// it, before it makes itself known to its waker and yields. Like
// MarkScheduled it returns ok=false, and firstWhere, when co is already
// marked scheduled; then co is not recorded. where should be a constant
// (see MarkScheduled).
func (co *Coroutine) Sleep(where string) (firstWhere string, ok bool) {
	if co.thread.current != co {
		panic(fmt.Sprintf("coroutine: Sleep of coroutine %p called outside its own running body", co))
	}
	p := internWhere(where)
	co.sleepWhere = p // published by the compare-and-swap below
	// Compare-and-swap: as in MarkScheduled; a Claim that reads it sees
	// sleepWhere and what the body did before.
	if !co.scheduled.CompareAndSwap(nil, p) {
		first, _ := co.Scheduled()
		return first, false
	}
	t := co.thread
	co.sleepPrev, co.sleepNext = nil, t.sleepers
	if t.sleepers != nil {
		t.sleepers.sleepPrev = co
	}
	t.sleepers = co
	co.asleep = true
	return "", true
}

// Claim takes co, asleep in Sleep, for waking, and reports whether it did.
// It fails when co is not asleep under its latest Sleep's mark: another
// waker, or its Thread's teardown, claimed it first. Any goroutine may
// call it, having found co on the queue co put itself on after Sleep. The
// claimant owns co's next entry: it wakes co (which then calls Awake),
// ends it (Destroy), or gives it back with Unclaim.
func (co *Coroutine) Claim() bool {
	p := co.sleepWhere
	// Compare-and-swap from Sleep's mark: exactly one claimant wins. It
	// reads Sleep's compare-and-swap, or Unclaim's, which synchronize
	// before it.
	return p != nil && co.scheduled.CompareAndSwap(p, nil)
}

// Unclaim gives back co, claimed with Claim and neither woken nor ended:
// it is asleep again under Sleep's mark, for another claim. Only the
// claimant may call it, from any goroutine.
func (co *Coroutine) Unclaim() {
	// Compare-and-swap: the claim left the mark clear, and nobody else
	// marks a claimed sleeper; it synchronizes before the next Claim that
	// reads it.
	if !co.scheduled.CompareAndSwap(nil, co.sleepWhere) {
		where, _ := co.Scheduled()
		panic(fmt.Sprintf("coroutine: Unclaim of coroutine %p, which is scheduled in '%s' (only its claimant may give it back, before waking it)", co, where))
	}
}

// Awake takes co, running again after a sleep it was claimed from, off
// its home Thread's sleepers. Only co's own body calls it, once it runs.
func (co *Coroutine) Awake() {
	if co.asleep {
		co.thread.unlinkSleeper(co)
	}
}

// SleepWhere returns the where of co's latest Sleep ("" when it never
// slept). Co's home Thread's owner may call it on a sleeper.
func (co *Coroutine) SleepWhere() string {
	if co.sleepWhere == nil {
		return ""
	}
	return *co.sleepWhere
}

// Destroying reports whether co is being ended by Destroy: true while its
// body unwinds from the Yield that Destroy stopped. A deferred function in
// the body may ask it (on co's home Thread), to tell that unwinding from a
// panic of the body's own.
func (co *Coroutine) Destroying() bool { return co.destroying }

// TakeSleepers returns t's sleepers, oldest first, and forgets them: the
// caller ends each (Claim, then Destroy), or leaves it parked knowingly.
// Only t's owner may call it, when nothing can wake them any more.
func (t *Thread) TakeSleepers() []*Coroutine {
	t.checkOwner("TakeSleepers")
	var list []*Coroutine
	for co := t.sleepers; co != nil; {
		next := co.sleepNext
		co.sleepPrev, co.sleepNext, co.asleep = nil, nil, false
		list = append(list, co)
		co = next
	}
	slices.Reverse(list) // the list is newest first
	t.sleepers = nil
	return list
}

// unlinkSleeper takes co off t's sleepers. Owner only.
func (t *Thread) unlinkSleeper(co *Coroutine) {
	if co.sleepPrev != nil {
		co.sleepPrev.sleepNext = co.sleepNext
	} else {
		t.sleepers = co.sleepNext
	}
	if co.sleepNext != nil {
		co.sleepNext.sleepPrev = co.sleepPrev
	}
	co.sleepPrev, co.sleepNext, co.asleep = nil, nil, false
}
