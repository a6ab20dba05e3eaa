package futex

import (
	"reflect"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pinbench/pinbench/internal/tracex"
)

// A sleeper waits in the package doc's loop; the waker stores, then wakes.
func TestWaitWake(t *testing.T) {
	for _, all := range []bool{false, true} {
		var word atomic.Uint32
		var asleep atomic.Bool
		done := make(chan struct{})
		go func() {
			defer close(done)
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			asleep.Store(true)
			// Load: pairs with the waker's Store below.
			for word.Load() == 0 {
				Wait(&word, 0, -1)
			}
		}()
		for !asleep.Load() {
			runtime.Gosched()
		}
		time.Sleep(time.Millisecond) // most likely in the kernel by now; either way it must end
		word.Store(1)
		if all {
			WakeAll(&word)
		} else {
			Wake(&word, 1)
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("WakeAll %v: the sleeper did not return 10 s after the store and wake", all)
		}
	}
}

// A word that no longer holds val returns at once (EAGAIN); a timed wait
// on one that does returns after its timeout.
func TestWaitReturns(t *testing.T) {
	var word atomic.Uint32
	word.Store(1)
	start := time.Now()
	Wait(&word, 0, -1) // would sleep for ever if it compared wrongly
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Wait on a changed word took %v", d)
	}
	const d = 20 * time.Millisecond
	start = time.Now()
	Wait(&word, 1, d)
	// A signal or a spurious wake-up may end it early; it must not hang.
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Wait with a %v timeout took %v", d, took)
	}
}

// Neither call allocates, the timed wait included.
func TestNoAllocs(t *testing.T) {
	var word atomic.Uint32
	word.Store(1)
	if n := testing.AllocsPerRun(1000, func() {
		Wait(&word, 0, time.Millisecond)
		Wait(&word, 0, -1)
		Wake(&word, 1)
		WakeAll(&word)
	}); n != 0 {
		t.Errorf("%v allocations per Wait and Wake, want 0", n)
	}
}

// Trace readers find a sleeper by Wait's name, which tracex holds: a
// rename must change both.
func TestNameIsTracex(t *testing.T) {
	got := runtime.FuncForPC(reflect.ValueOf(Wait).Pointer()).Name()
	if got != tracex.FutexWaitFunc {
		t.Fatalf("Wait is %q, tracex.FutexWaitFunc %q: rename them together", got, tracex.FutexWaitFunc)
	}
	if !tracex.IsFutexWait(got) {
		t.Fatalf("tracex.IsFutexWait(%q) is false", got)
	}
}
