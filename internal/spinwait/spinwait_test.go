package spinwait

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestSpinLoopSeesWrite runs a paused spin loop against a writer on another
// goroutine: the hint must not keep the loop from seeing the write.
func TestSpinLoopSeesWrite(t *testing.T) {
	var word atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := int64(1); i <= 1000; i++ {
			for word.Load() != 2*i-1 {
				Pause()
			}
			word.Store(2 * i)
		}
	}()
	for i := int64(1); i <= 1000; i++ {
		word.Store(2*i - 1)
		for word.Load() != 2*i {
			Pause()
		}
	}
	wg.Wait()
}

func TestPauseAllocatesNothing(t *testing.T) {
	if n := testing.AllocsPerRun(1000, Pause); n != 0 {
		t.Fatalf("Pause allocates %v times", n)
	}
}

// BenchmarkPause: one op is one spin-wait hint, the price of one round of a
// paused spin loop on this CPU.
func BenchmarkPause(b *testing.B) {
	for b.Loop() {
		Pause()
	}
}
