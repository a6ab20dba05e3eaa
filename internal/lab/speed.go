package lab

import (
	"fmt"
	"math"
	"runtime"
	"time"
)

// A guest under TCG runs tens of times slower than its host, and its
// vCPUs take turns on one host thread. The suite's stall watchdog
// (bench.DefaultStallTimeout, 10 s) is sized for real machines: in an
// arm64 guest a live two-sided benchmark can take longer than that to
// answer, and is then called stalled. So the lab measures how much slower
// the guest runs one fixed piece of work than the host, and the guest's
// init multiplies the suite's stall timeouts by it (bench.StallScaleEnv).

// probeRounds is the work of one speed probe: about 20 ms on a current
// host core, a second or so in an emulated guest.
const probeRounds = 1 << 23

// SpeedProbe times a fixed CPU-bound computation (an xorshift chain,
// which no compiler folds away) and returns the best of three runs, in
// nanoseconds: the best, because a probe can only be slowed down by other
// work, never sped up.
func SpeedProbe() int64 {
	best := int64(math.MaxInt64)
	for range 3 {
		start := time.Now()
		runtime.KeepAlive(xorshiftChain(probeRounds))
		best = min(best, time.Since(start).Nanoseconds())
	}
	return max(best, 1)
}

func xorshiftChain(n int) uint64 {
	x := uint64(88172645463325252)
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

// StallScale is the factor by which a guest's stall timeouts grow: how
// many times slower the guest ran the probe than the host (guestNs over
// hostNs), doubled because a benchmark's two spinning sides share one
// host thread under TCG (thread=single), at least 1 and at most maxScale
// (the step limit bounds how long a stalled run may wait).
func StallScale(guestNs, hostNs int64, maxScale float64) (float64, error) {
	if guestNs <= 0 || hostNs <= 0 {
		return 0, fmt.Errorf("speed probe: guest %d ns, host %d ns: want positive times", guestNs, hostNs)
	}
	if maxScale < 1 {
		return 0, fmt.Errorf("speed probe: largest scale %v is below 1", maxScale)
	}
	s := 2 * float64(guestNs) / float64(hostNs)
	return math.Ceil(min(max(s, 1), maxScale)), nil
}
