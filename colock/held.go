package colock

import (
	"fmt"
	"strings"

	"github.com/pinbench/pinbench/coroutine"
)

// HeldPanic is the panic value of a coroutine run through [Entry] whose
// body panicked while it held locks. Its CoMutexes were released before
// the panic went on; Held names every lock it held. Enter raises it on the enterer's side
// (an IOThread's Run raises it in Run's caller), and errors.Is and
// errors.As reach the original value through Unwrap when it is an error.
type HeldPanic struct {
	// Value is what the body panicked with.
	Value any
	// Coroutine is the coroutine that panicked.
	Coroutine *coroutine.Coroutine
	// Held names each lock it held, the newest first: "CoMutex 0x...",
	// or "CoRwlock 0x... (reading)" / "(writing)".
	Held []string
}

// Error says which coroutine panicked holding which locks, what became of
// them, and the original value.
func (p *HeldPanic) Error() string {
	return fmt.Sprintf("colock: coroutine %p panicked holding %s (%s: each CoMutex went to its next waiter, or was unlocked): %v",
		p.Coroutine, strings.Join(p.Held, ", "), fate(p.Held), p.Value)
}

// Unwrap returns the original value when it is an error, nil otherwise.
func (p *HeldPanic) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

// fate says what became of the locks named in held.
func fate(held []string) string {
	for _, h := range held {
		if strings.HasPrefix(h, "CoRwlock") {
			return "the CoMutexes released, the CoRwlocks still held"
		}
	}
	return "released"
}

// unwind is Entry's deferred call: after a body that returned it does
// nothing; otherwise it makes sure no lock is lost with the coroutine.
// Per coroutine run, never per lock operation.
func (s *Self) unwind() {
	if s.returned {
		return
	}
	if s.co.Destroying() {
		// Ended by Destroy: no recover, the unwind must go on.
		s.abandon()
		return
	}
	if s.locks == nil && len(s.rwHolds) == 0 {
		return // holds nothing: the panic (or Goexit) goes on unchanged
	}
	r := recover() // nil for runtime.Goexit, which goes on by itself
	held := s.heldNames()
	s.releaseMutexes()
	if r != nil {
		panic(&HeldPanic{Value: r, Coroutine: s.co, Held: held})
	}
}

// abandon passes on what a coroutine ended by Destroy held: a lock that
// was handed to it with the wake-up it never ran (granted; see wake, and
// lockSlow), and the CoMutexes it held while it slept or yielded.
func (s *Self) abandon() {
	if m := s.waitMutex; m != nil && s.granted {
		s.waitMutex, s.granted = nil, false
		m.pass(s)
	}
	s.releaseMutexes()
}

// endHolding releases the CoMutexes of a body that returned holding locks
// and panics naming them.
func (s *Self) endHolding() {
	n, held := s.held, s.heldNames()
	s.releaseMutexes()
	panic(fmt.Sprintf("colock: coroutine %p ended holding %d lock(s) (%s, %s); unlock before returning",
		s.co, n, strings.Join(held, ", "), fate(held)))
}

// heldNames names the locks s holds, the newest CoMutex first, then its
// CoRwlock holds.
func (s *Self) heldNames() []string {
	var held []string
	for m := s.locks; m != nil; m = m.heldNext {
		held = append(held, fmt.Sprintf("CoMutex %p", m))
	}
	for _, h := range s.rwHolds {
		mode := "reading"
		if h.write {
			mode = "writing"
		}
		held = append(held, fmt.Sprintf("CoRwlock %p (%s)", h.l, mode))
	}
	return held
}

// releaseMutexes unlocks every CoMutex s holds, newest first. Unlock never
// sleeps: each lock goes to its oldest waiter that can still run, woken
// after s ends (on its own context; the coroutine package enters a
// panicking coroutine's wake-ups before the panic goes on) or through its
// home's schedule queue, or is unlocked.
func (s *Self) releaseMutexes() {
	for s.locks != nil {
		s.locks.Unlock(s)
	}
}
