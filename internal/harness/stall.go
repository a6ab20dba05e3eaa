package harness

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// DefaultStallTimeout is how long a run waits for its sides before it
// declares one of them stalled. Long enough that a noisy VM's scheduler hiccup
// (tens of milliseconds) never trips it, short enough that a lost wake-up
// fails the run within seconds instead of hanging CI.
const DefaultStallTimeout = 10 * time.Second

// StallScaleEnv names the environment variable that multiplies every stall
// timeout (a number from 1 to 1000; 1 when unset). A machine that runs far
// slower than real hardware sets it, an emulated guest from its measured
// speed, so that a live but emulated run is not called stalled.
const StallScaleEnv = "PINBENCH_STALL_SCALE"

// StallTimeout returns DefaultStallTimeout times $PINBENCH_STALL_SCALE, or
// an error naming the variable when its value is not a number from 1 to
// 1000. The variable is read once per process.
func StallTimeout() (time.Duration, error) { return stallTimeout() }

// DefaultTimeout sets *timeout to StallTimeout's when it is zero (a
// configuration that left it unset), and returns StallTimeout's error.
func DefaultTimeout(timeout *time.Duration) error {
	if *timeout != 0 {
		return nil
	}
	var err error
	*timeout, err = StallTimeout()
	return err
}

var stallTimeout = sync.OnceValues(func() (time.Duration, error) {
	return scaledStallTimeout(os.Getenv(StallScaleEnv))
})

// scaledStallTimeout is DefaultStallTimeout scaled by v, a value of
// StallScaleEnv ("" for none).
func scaledStallTimeout(v string) (time.Duration, error) {
	if v == "" {
		return DefaultStallTimeout, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f >= 1 && f <= 1000) {
		return DefaultStallTimeout, fmt.Errorf("%s=%q: want a number from 1 to 1000, the factor by which stall timeouts grow", StallScaleEnv, v)
	}
	return time.Duration(f * float64(DefaultStallTimeout)), nil
}
