package schedpass

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestPassIsDueOncePerInterval checks the pacing without reading time in
// the assertions: a Pacer passes when its next pass is due, not before,
// and sets the next one an Interval after the pass.
func TestPassIsDueOncePerInterval(t *testing.T) {
	var p Pacer
	if !p.Pass() {
		t.Fatal("the zero Pacer did not pass at its first Pass")
	}
	if after := p.next - time.Since(epoch); after > Interval {
		t.Fatalf("next pass due %v from now, want at most the Interval %v", after, Interval)
	}
	p.next = time.Since(epoch) + time.Hour
	if p.Pass() {
		t.Fatal("Pass passed an hour before its pass was due")
	}
}

// TestPassesAtMostOnceAnInterval runs Pass in a loop for a few Intervals:
// however slow the machine, each pass sets the next one an Interval after
// it ended, so the passes made cannot exceed one plus the Intervals that
// went by.
func TestPassesAtMostOnceAnInterval(t *testing.T) {
	var p Pacer
	start := time.Now()
	passes := 0
	for time.Since(start) < 3*Interval {
		if p.Pass() {
			passes++
		}
	}
	limit := 1 + int(time.Since(start)/Interval)
	if passes < 1 || passes > limit {
		t.Fatalf("%d passes in %v, want 1 to %d", passes, time.Since(start), limit)
	}
}

// TestPassKeepsTheLockedThread checks what iothreads rely on: a pass
// through the scheduler brings a locked goroutine back on its own thread.
func TestPassKeepsTheLockedThread(t *testing.T) {
	done := make(chan error)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tid := unix.Gettid()
		for range 3 {
			var p Pacer
			p.Pass()
			if got := unix.Gettid(); got != tid {
				done <- fmt.Errorf("after a pass the locked goroutine ran on thread %d, not its own %d", got, tid)
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the locked goroutine did not finish three passes within 10s")
	}
}

func TestPassAllocatesNothing(t *testing.T) {
	var p Pacer
	if n := testing.AllocsPerRun(1000, func() { p.Pass() }); n != 0 {
		t.Fatalf("Pass allocated %v times a call", n)
	}
}
