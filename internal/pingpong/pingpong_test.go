package pingpong

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pinbench/pinbench/internal/harness"
)

var errStopped = errors.New("stopped")

// play runs both sides of g on locked goroutines and returns their errors.
func play(g *Game, stopInit, stopResp Stop, progress func(int64), onClock func()) (initErr, respErr error) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		initErr = g.Initiator(stopInit, progress, onClock)
	}()
	go func() {
		defer wg.Done()
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		respErr = g.Responder(stopResp)
	}()
	wg.Wait()
	return initErr, respErr
}

// A game makes whole round trips, at least one, calls onClock once before
// its clock starts and progress once per 2048 round trips, and times its
// loop.
func TestGame(t *testing.T) {
	for _, c := range []struct{ ask, want int }{{0, 2}, {1, 2}, {3, 4}, {4096 * 2, 8192}} {
		g := New(c.ask, errStopped)
		if g.Transfers() != c.want {
			t.Errorf("New(%d).Transfers() = %d, want %d", c.ask, g.Transfers(), c.want)
		}
		var stop atomic.Bool
		clocks := 0
		var seen []int64
		initErr, respErr := play(g, &stop, &stop, func(n int64) { seen = append(seen, n) }, func() { clocks++ })
		if initErr != nil || respErr != nil {
			t.Fatalf("%d transfers: errors %v, %v", c.ask, initErr, respErr)
		}
		if clocks != 1 || g.Elapsed() <= 0 {
			t.Errorf("%d transfers: onClock called %d times, elapsed %v; want once and a time", c.ask, clocks, g.Elapsed())
		}
		if want := (c.want/2 + 2047) / 2048; len(seen) != want || seen[0] != 1 {
			t.Errorf("%d transfers: progress %v, want %d calls from 1", c.ask, seen, want)
		}
	}
	// nil progress and onClock are allowed.
	var stop atomic.Bool
	if a, b := play(New(10, errStopped), &stop, &stop, nil, nil); a != nil || b != nil {
		t.Errorf("nil callbacks: %v, %v", a, b)
	}
}

// A side waiting for a partner that never comes gives up with the
// game's aborted error once asked to stop.
func TestGameStops(t *testing.T) {
	for _, side := range []string{"initiator", "responder"} {
		g := New(100, errStopped)
		var stop atomic.Bool
		done := make(chan error)
		go func() {
			if side == "initiator" {
				done <- g.Initiator(&stop, nil, nil)
			} else {
				done <- g.Responder(&stop)
			}
		}()
		time.Sleep(10 * time.Millisecond)
		stop.Store(true)
		select {
		case err := <-done:
			if err != errStopped {
				t.Errorf("%s alone: %v, want the aborted error", side, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s alone did not stop", side)
		}
	}
}

// Play runs both sides on the harness's threads and times the game, calling
// onClock once before the clock starts.
func TestPlay(t *testing.T) {
	clocks := 0
	elapsed, transfers, err := Play(harness.Unpinned, harness.Unpinned, 1001, 30*time.Second, func() { clocks++ })
	if err != nil {
		t.Fatal(err)
	}
	if transfers != 1002 || elapsed <= 0 || clocks != 1 {
		t.Errorf("Play: %d transfers in %v, onClock called %d times; want 1002 (whole round trips), a time, once", transfers, elapsed, clocks)
	}
}
