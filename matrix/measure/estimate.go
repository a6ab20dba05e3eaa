package measure

import (
	"fmt"
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
// class's representative pair. With fewer than two allowed CPUs it
// returns c as given. It takes a few seconds.
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
	// Duration is the estimated time.
	Duration time.Duration
}

// Estimate estimates measuring o's pairs of t under the cost model c: each
// pair at its class's transfer cost, one at a time; or, in parallel, each
// round and each re-checked cell as long as the slowest class's pair.
func (o Options) Estimate(t *affinity.Topology, c Costs) Estimate {
	e := Estimate{Pairs: o.Pairs(t)}
	// A pair's repetitions and its fixed costs. The conversion of
	// Reps+0.25 (the warm-up's quarter) to a Duration truncates it to
	// Reps: the estimate has always left the warm-up's transfers out.
	pairCost := func(ns float64) time.Duration {
		return time.Duration(float64(o.Reps)+0.25)*time.Duration(float64(o.Transfers)*ns) +
			time.Duration(o.Reps+1)*c.PingFixed
	}
	e.Rounds = len(e.Pairs)
	if !o.Parallel {
		for _, p := range e.Pairs {
			e.Duration += pairCost(c.TransferAt(t.Relation(p.A, p.B)))
		}
		return e
	}
	// A round lasts as long as its slowest pair. The classes' own costs
	// when measured: the first-pair probe stands in only where none was.
	e.Rounds = len(ParallelRounds(e.Pairs))
	slowest := 0.0
	for _, ns := range c.ClassNs {
		slowest = max(slowest, ns)
	}
	if slowest == 0 {
		slowest = c.TransferNs
	}
	e.Duration = time.Duration(e.Rounds+ParallelCheckCells) * pairCost(slowest)
	return e
}
