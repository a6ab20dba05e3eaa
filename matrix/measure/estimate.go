package measure

import (
	"fmt"
	"runtime"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/harness"
)

// Costs are the cost model of measuring the matrix on a machine.
type Costs struct {
	// TransferNs is one one-way transfer of the ping-pong, in ns.
	TransferNs float64
	// ClassNs is the transfer cost at each class's representative pair,
	// where measured (a remote transfer costs more than an SMT one);
	// TransferNs stands in for a class without one.
	ClassNs map[affinity.Class]float64
	// PingFixed is one PingPong's fixed cost: two threads started,
	// pinned and joined.
	PingFixed time.Duration
	// Procs is the measuring process's GOMAXPROCS, which bounds a
	// parallel round (ParallelRounds); 0 where unknown (planning for a
	// capture), for the machine's allowed CPUs.
	Procs int
}

// TransferAt is the model's one-way transfer cost between two CPUs of
// class cl, in ns.
func (c Costs) TransferAt(cl affinity.Class) float64 {
	if ns, ok := c.ClassNs[cl]; ok {
		return ns
	}
	return c.TransferNs
}

// MeasureCosts returns c with its figures measured on this machine, whose
// topology is t: a short and a longer ping-pong at the first two allowed
// CPUs (the transfer cost and the fixed cost), then a ping-pong at each
// class's representative pair; and this process's GOMAXPROCS. With
// fewer than two allowed CPUs it returns c as given. It takes a few
// seconds.
func MeasureCosts(t *affinity.Topology, c Costs) (Costs, error) {
	cpus := t.Allowed.CPUs()
	if len(cpus) < 2 {
		return c, nil
	}
	a, b := cpus[0], cpus[1]
	// PingPong times its loop itself; the rest of its wall time is the
	// fixed cost (threads started, pinned, joined).
	var loop, wall time.Duration
	var n int
	for range 3 {
		start := time.Now()
		d, done, err := PingPong(a, b, 20000, harness.DefaultStallTimeout)
		if err != nil {
			return c, fmt.Errorf("measuring ping-pong costs: %w", err)
		}
		wall, loop, n = wall+time.Since(start), loop+d, n+done
	}
	c.TransferNs = float64(loop) / float64(n)
	c.PingFixed = (wall - loop) / 3
	c.Procs = runtime.GOMAXPROCS(0)
	// The transfer at each class's representative pair: the matrix spans
	// every class, and the first two CPUs are often the cheapest pair
	// (SMT siblings).
	c.ClassNs = map[affinity.Class]float64{}
	for cl, p := range t.Placements() {
		if cl == affinity.SameCPU || cl == affinity.Unpinned {
			continue
		}
		d, done, err := PingPong(p.A, p.B, 20000, harness.DefaultStallTimeout)
		if err != nil {
			return c, fmt.Errorf("measuring the %s transfer cost: %w", cl, err)
		}
		c.ClassNs[cl] = float64(d) / float64(done)
	}
	return c, nil
}

// Estimate is how long measuring a matrix would take.
type Estimate struct {
	// Pairs are the pairs that would be measured (Options.Pairs).
	Pairs []affinity.Pair
	// Rounds is the number of parallel rounds (ParallelRounds), or of
	// pairs when they are measured one at a time.
	Rounds int
	// Checks is the number of cells measured again alone after the
	// parallel rounds (CheckPairs); 0 one at a time.
	Checks int
	// Duration is the estimated time.
	Duration time.Duration
}

// Estimate estimates measuring o's pairs of t under the cost model c as
// the measurement runs them: one at a time, each pair at its class's
// transfer cost; or, in parallel, round after round, each as long as its
// slowest pair, then the re-checked cells alone, each at its own class's
// cost.
func (o Options) Estimate(t *affinity.Topology, c Costs) Estimate {
	e := Estimate{Pairs: o.Pairs(t)}
	cost := func(p affinity.Pair) time.Duration { return o.pairCost(c, c.TransferAt(t.Relation(p.A, p.B))) }
	if !o.Parallel {
		e.Rounds = len(e.Pairs)
		for _, p := range e.Pairs {
			e.Duration += cost(p)
		}
		return e
	}
	rounds := ParallelRounds(t, e.Pairs, c.Procs)
	e.Rounds = len(rounds)
	for _, round := range rounds {
		var slowest time.Duration
		for _, p := range round {
			slowest = max(slowest, cost(p))
		}
		e.Duration += slowest
	}
	check := CheckPairs(rounds)
	e.Checks = len(check)
	for _, p := range check {
		e.Duration += cost(p)
	}
	return e
}

// pairCost is what Pair costs at o's repetitions and transfers, at ns a
// transfer: the warm-up (a quarter of a repetition's transfers) and the
// repetitions, and the fixed cost of each of their ping-pongs.
func (o Options) pairCost(c Costs, ns float64) time.Duration {
	transfers := (float64(o.Reps) + 0.25) * float64(o.Transfers)
	return time.Duration(transfers*ns) + time.Duration(o.Reps+1)*c.PingFixed
}
