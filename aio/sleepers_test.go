package aio

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pinbench/pinbench/coroutine"
	"github.com/pinbench/pinbench/internal/leakcheck"
)

// sleeper returns a coroutine homed on c, entered until it sleeps in
// where (as a waiter on a lock does: coroutine.Sleep, then Yield). If it
// is ended or woken, it calls onExit first (nil: nothing).
func sleeper(c *AioContext, where string, onExit func()) *coroutine.Coroutine {
	co := c.NewCoroutine(func(self *coroutine.Coroutine) {
		if onExit != nil {
			defer onExit()
		}
		self.Sleep(where)
		self.Yield()
		self.Awake()
	})
	c.Thread().Enter(co)
	return co
}

// Issue 20: Close ends the coroutines asleep waiting for a wake-up that
// nothing can give any more, oldest first, and names each. One that, as it
// unwinds, hands a wake-up on to another sleeper of the closing context
// (as an unlocker hands a lock on) is refused: that sleeper would never
// run, and is ended in its turn. A waker on another thread that holds a
// claim when Close comes is waited for. No goroutine is left parked.
func TestCloseEndsSleepers(t *testing.T) {
	leakcheck.Goroutines(t)
	c := NewContext()
	var (
		wakee   *coroutine.Coroutine
		wakeErr error
		claimed bool
	)
	hander := sleeper(c, "test.hander", func() {
		if claimed = wakee.Claim(); claimed {
			if wakeErr = c.TryCoWake(wakee); wakeErr != nil {
				wakee.Unclaim()
			}
		}
	})
	wakee = sleeper(c, "test.wakee", nil)
	held := sleeper(c, "test.held", nil)
	if !held.Claim() { // by a waker elsewhere, until Close has begun
		t.Fatal("claim of held failed")
	}
	released := make(chan struct{})
	go func() {
		defer close(released)
		deadline := time.Now().Add(5 * time.Second)
		for !c.Closed() && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		held.Unclaim() // its wake-up failed: give it back
	}()
	err := c.Close()
	<-released
	if !claimed || wakeErr == nil || !strings.Contains(wakeErr.Error(), "which is closing") {
		t.Errorf("the hander's wake-up of a sleeper on its closing context: claimed %v, error %v; want refused", claimed, wakeErr)
	}
	if err == nil {
		t.Fatal("Close reported nothing, want the sleepers")
	}
	want := fmt.Sprintf("coroutine %p asleep in 'test.hander'; coroutine %p asleep in 'test.wakee'; coroutine %p asleep in 'test.held'", hander, wakee, held)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("Close said %q, want it to contain %q", err, want)
	}
	for _, co := range []*coroutine.Coroutine{hander, wakee, held} {
		if !co.Finished() {
			t.Errorf("sleeper %p not ended by Close", co)
		}
	}
}
