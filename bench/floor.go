package bench

import (
	"fmt"
	"time"

	"github.com/pinbench/pinbench/internal/harness"
	"github.com/pinbench/pinbench/internal/pingpong"
)

// pingPong bounces one cache line between CPUs a and b (either may be
// Unpinned) for about transfers one-way transfers (rounded up to whole
// round trips) and returns the elapsed time and the number of transfers
// made: the floor family's measurement (internal/pingpong's game, each
// side on its own thread under RunSides). Both sides spin, so a and b must
// be different CPUs. onClock, when set, is called just before the clock
// starts.
func pingPong(a, b int, transfers int, timeout time.Duration, onClock harness.ClockStart) (time.Duration, int, error) {
	switch {
	case a == harness.Unlocked && b == harness.Unlocked:
		return 0, 0, fmt.Errorf("ping-pong needs at least one side locked to an OS thread, got two Unlocked goroutines (the Go scheduler may run both spinners on one thread, which measures its time slice)")
	case a == b && a != harness.Unpinned:
		return 0, 0, fmt.Errorf("ping-pong needs two CPUs, got CPU %d twice (two spinners on one CPU measure the scheduler's time slice)", a)
	}
	return pingpong.Play(a, b, transfers, timeout, onClock)
}
