package schedpass

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestPassIsDueOncePerInterval checks the pacing with bounds that hold
// however slow the machine: a Pacer passes when its next pass is due, not
// before, and sets the next one an Interval after the pass ended.
func TestPassIsDueOncePerInterval(t *testing.T) {
	var p Pacer
	if passed, took := p.Pass(); !passed || took < 0 {
		t.Fatalf("the zero Pacer's first Pass: passed %v, took %v; want a pass", passed, took)
	}
	if after := p.next - time.Since(epoch); after > Interval {
		t.Fatalf("next pass due %v from now, want at most the Interval %v", after, Interval)
	}
	p.next = time.Since(epoch) + time.Hour
	if passed, took := p.Pass(); passed || took != 0 {
		t.Fatalf("an hour before its pass was due, Pass passed %v, took %v", passed, took)
	}
}

// TestPassGoesThroughTheScheduler checks that a pass yields the P: with
// one P, a goroutine started just before runs during a pass, and could not
// otherwise until the caller blocked or was preempted. The scheduler may
// pick the caller again once in 61 picks (its fairness check of the
// global queue), so a few passes are allowed.
func TestPassGoesThroughTheScheduler(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var ran atomic.Bool
	done := make(chan struct{})
	go func() {
		ran.Store(true)
		close(done)
	}()
	for range 3 {
		var p Pacer
		if passed, _ := p.Pass(); !passed {
			t.Fatal("a zero Pacer did not pass")
		}
		if ran.Load() {
			break
		}
	}
	if !ran.Load() {
		t.Fatal("a goroutine waiting for the one P did not run during three passes: Pass did not go through the scheduler")
	}
	<-done
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
		if passed, _ := p.Pass(); passed {
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
			if passed, _ := p.Pass(); !passed {
				done <- fmt.Errorf("a zero Pacer did not pass")
				return
			}
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
