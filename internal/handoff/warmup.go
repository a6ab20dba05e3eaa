package handoff

import (
	"fmt"
	"runtime"

	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/internal/harness"
)

// WarmUp runs each kind of handoff side once (a blocking and a polling
// aio handoff, a channel handoff), so that the runtime's threads for
// locked goroutines exist before the first measurement. Call it before
// the first run, from any goroutine.
func WarmUp() error {
	procs := runtime.GOMAXPROCS(3)
	defer runtime.GOMAXPROCS(procs)
	for _, w := range []aio.WaitMode{aio.WaitBlock, aio.WaitPoll} {
		if _, err := RunAio(Config{Wait: w, Hops: 100}); err != nil {
			return fmt.Errorf("warm-up handoff failed: %w", err)
		}
	}
	if _, err := RunChan([2]int{harness.Unpinned, harness.Unpinned}, 0, 100, nil); err != nil {
		return fmt.Errorf("warm-up handoff failed: %w", err)
	}
	return nil
}
