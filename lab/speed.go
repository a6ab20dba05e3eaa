package lab

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// A guest under TCG runs tens of times slower than its host, and its
// vCPUs take turns on one host thread. The suite's stall watchdog
// (bench.DefaultStallTimeout, 10 s) is sized for real machines: in an
// arm64 guest a live two-sided benchmark can take longer than that to
// answer, and is then called stalled. So the lab measures how much slower
// the guest runs one fixed piece of work than the host, and the guest's
// init multiplies the suite's stall timeouts by it (bench.StallScaleEnv).

// The probe's work: a pointer chase through a 256 KiB permutation (each
// load waits for the last: an L2 hit on real hardware, a softmmu TLB
// lookup and more under TCG) and a run of trivial system calls (a kernel entry and exit each,
// which TCG emulates at a far higher cost than plain arithmetic, which it
// translates almost one to one). A stall is the kernel's and the memory
// system's slowness, not the ALU's, so the probe weighs those. About 10 ms
// on a current host core.
const (
	probeSlots    = 1 << 16 // uint32 slots of the chase
	probeSteps    = 1 << 20 // loads it makes
	probeSyscalls = 1 << 12
)

// SpeedProbe times the probe's work and returns the best of five runs, in
// nanoseconds: the best, because a probe can only be slowed down by other
// work, never sped up.
func SpeedProbe() int64 {
	next := chaseRing(probeSlots)
	best := int64(math.MaxInt64)
	for range 5 {
		start := time.Now()
		runtime.KeepAlive(chase(next, probeSteps))
		for range probeSyscalls {
			unix.Getppid()
		}
		best = min(best, time.Since(start).Nanoseconds())
	}
	return max(best, 1)
}

// chaseRing returns one cycle through n slots in a scrambled order.
func chaseRing(n int) []uint32 {
	order := rand.New(rand.NewPCG(1, 2)).Perm(n)
	next := make([]uint32, n)
	for i := range order {
		next[order[i]] = uint32(order[(i+1)%n])
	}
	return next
}

// chase follows the ring for steps loads, each depending on the last.
func chase(next []uint32, steps int) uint32 {
	i := uint32(0)
	for range steps {
		i = next[i]
	}
	return i
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
