package bench

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/harness"
	"github.com/pinbench/pinbench/internal/spinwait"
)

// Benchmarking your own code across placements: Placements runs two
// functions of a benchmark, its sides, at once on two OS threads pinned
// as each placement class of the machine puts two threads, so that
// benchstat compares the classes (see the package's example).

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

// Sides are the two functions of one run of a placed benchmark (see
// Placements), made afresh for each run, so that what they share (a
// channel, a counter) starts empty.
type Sides struct {
	// A and B run at once, each on its own goroutine locked to an OS
	// thread that is pinned to one CPU of the class's pair (A to the
	// first) and ends when the function returns. Each runs its part of
	// b.N operations and returns nil, or an error that fails the
	// benchmark; it returns soon after its Stop says so, which happens
	// when the other side failed or the watchdog fired.
	A, B func(stop Stop) error
	// Spin says that a side busy-waits for the other. On one CPU two
	// spinning sides would measure the scheduler's time slice, so
	// place=samecpu is then skipped, and place=unpinned too where fewer
	// than 3 CPUs are allowed.
	Spin bool
}

// Stop tells a side to give up: the other side failed, or the run made
// no progress for the watchdog's timeout. A side that spins polls
// Stopped; one that blocks selects on Done beside its own channel
// operation. Only the harness stops a run; the sides only read it.
type Stop struct{ s *harness.Stop }

// Stopped reports whether the side is asked to stop. It costs one load
// of a cache line nobody writes until then: poll it in spin loops.
func (s Stop) Stopped() bool { return s.s.Load() }

// Done is closed when the side is asked to stop.
func (s Stop) Done() <-chan struct{} { return s.s.Done() }

// Placements runs a two-sided benchmark at every placement class (see
// affinity.Class), innermost first, then unpinned: a sub-benchmark
// place=CLASS each, which `benchstat -col /place` compares. A class this
// machine lacks is skipped with the reason. In each run sides(b) makes
// the run's two functions (it runs before the threads start, untimed);
// both sides then wait at a start line on their pinned threads, where
// the last to arrive resets b's timer, so ns/op counts the measured
// part alone: one op is what the sides do b.N times. The first call in a
// process prints the machine's configuration lines (machine, topology,
// the pair of each class, governor, SMT, ...) to stdout, where benchstat
// reads them. A run fails when either side fails, and when its sides
// have not both returned within the stall timeout plus twice a timed
// -benchtime.
//
// Call it from a benchmark function, once per benchmark; every
// sub-benchmark runs both sides on threads of its own.
func Placements(b *testing.B, sides func(b *testing.B) Sides) {
	b.Helper()
	t, err := placedMachine()
	if err != nil {
		b.Fatal(err)
	}
	for _, class := range append(affinity.Classes(), affinity.Unpinned) {
		b.Run("place="+string(class), func(b *testing.B) {
			if err := runPlaced(b, t, class, sides); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// placedMachine discovers this machine once per process, printing its
// configuration lines the first time.
var placedMachine = sync.OnceValues(func() (*affinity.Topology, error) {
	t, err := affinity.Discover()
	if err != nil {
		return nil, fmt.Errorf("bench.Placements: topology discovery failed: %w", err)
	}
	fmt.Print(FormatConfig(placedConfig(t)))
	return t, nil
})

// placedConfig is the suite's configuration lines less pin-node, which
// describes the suite's own pin=node benchmarks.
func placedConfig(t *affinity.Topology) []ConfigLine {
	return slices.DeleteFunc(Config(t), func(l ConfigLine) bool { return l.Key == "pin-node" })
}

// runPlaced is one run of a placed benchmark at class: skipped where the
// machine lacks the class (before sides is called) or where it cannot
// hold spinning sides (after).
func runPlaced(b *testing.B, t *affinity.Topology, class affinity.Class, sides func(b *testing.B) Sides) error {
	if _, _, skip := placementCPUs(t, class, false); skip != "" {
		b.Skip(skip)
	}
	s := sides(b)
	if s.A == nil || s.B == nil {
		return fmt.Errorf("bench.Placements: the Sides of %s lack a function (A %v, B %v)", b.Name(), s.A != nil, s.B != nil)
	}
	a, c, skip := placementCPUs(t, class, s.Spin)
	if skip != "" {
		b.Skip(skip)
	}
	timeout, err := harness.StallTimeout()
	if err != nil {
		return err
	}
	harness.EnsureProcs(b, 3)
	line := &startLine{reset: b.ResetTimer}
	return harness.RunSides(timeout+2*benchTimeLimit(), line.side("side A", a, s.A), line.side("side B", c, s.B))
}

// startLine holds the two sides of a run until both are on their pinned
// threads; the last to arrive resets the timer, then lets the other go.
type startLine struct {
	reset    func()
	arrived  atomic.Int32 // sides at the line; the Add that makes 2 is the last
	released atomic.Bool  // stored after reset; the waiter's Load that sees it follows reset
}

// side runs fn on cpu once both sides have reached the line.
func (l *startLine) side(name string, cpu int, fn func(Stop) error) harness.Side {
	return harness.Side{Name: name, CPU: cpu, Run: func(stop *harness.Stop) error {
		if err := l.wait(stop); err != nil {
			return err
		}
		return fn(Stop{stop})
	}}
}

// wait is the line. The waiter spins, yielding its CPU now and then:
// at place=samecpu the other side needs that CPU to arrive.
func (l *startLine) wait(stop *harness.Stop) error {
	if l.arrived.Add(1) == 2 {
		l.reset()
		l.released.Store(true)
		return nil
	}
	for i := 1; !l.released.Load(); i++ {
		if stop.Load() {
			return harness.ErrAborted
		}
		spinwait.Pause()
		if i%64 == 0 {
			unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
		}
	}
	return nil
}
