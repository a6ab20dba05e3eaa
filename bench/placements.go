package bench

import "github.com/pinbench/pinbench/internal/harness"

// The watchdog of every benchmark's sides: a side that makes no progress
// for the stall timeout fails its benchmark, naming it and its CPU.
const (
	// DefaultStallTimeout is the watchdog's timeout on real hardware.
	DefaultStallTimeout = harness.DefaultStallTimeout
	// StallScaleEnv names the environment variable that multiplies the
	// timeout (a number from 1 to 1000), for machines far slower than
	// real hardware, such as emulated guests.
	StallScaleEnv = harness.StallScaleEnv
)
