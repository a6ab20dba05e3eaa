package place

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/matrix"
	"github.com/pinbench/pinbench/report"
)

// synthFigures are made-up via=aio handoff medians (ns) per class, in the
// proportions real machines show: samecpu dear for polling, remote
// dearest of the rest.
var synthFigures = map[affinity.Class]float64{
	affinity.SameCPU: 3000, affinity.SMT: 150, affinity.L2: 170, affinity.LLC: 200,
	affinity.Node: 350, affinity.Remote: 600, affinity.Unpinned: 400,
}

// synthRun returns a run with three results per class of figures for each
// wait mode in waits (every class the map holds, as the suite's names
// write them), and an "allowed" line when allowed is not empty.
func synthRun(tb testing.TB, figures map[affinity.Class]float64, allowed string, waits ...Wait) *report.Run {
	tb.Helper()
	var b strings.Builder
	b.WriteString("machine: synthetic\n")
	if allowed != "" {
		fmt.Fprintf(&b, "allowed: %s\n", allowed)
	}
	for _, w := range waits {
		for _, c := range append(affinity.Classes(), affinity.Unpinned) {
			v, ok := figures[c]
			if !ok {
				continue
			}
			for k := range 3 {
				fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=%s/place=%s-2 \t 1000\t %.1f ns/op\n", w, c, v+float64(k))
			}
		}
	}
	run, err := report.Read(strings.NewReader(b.String()), "synthetic/bench.txt")
	if err != nil {
		tb.Fatal(err)
	}
	return run
}

// synthMatrix returns a matrix over the topology's CPUs whose cells are
// the class figure's tenth times seeded noise in [0.8, 1.2), for the
// fraction frac of ordered pairs (the rest unmeasured).
func synthMatrix(topo *affinity.Topology, seed uint64, frac float64) *matrix.Matrix {
	r := rand.New(rand.NewPCG(seed, 1))
	cpus := topo.Online.CPUs()
	m := matrix.New(cpus)
	for _, a := range cpus {
		for _, b := range cpus {
			if a == b || r.Float64() >= frac {
				continue
			}
			m.Set(a, b, synthFigures[topo.Relation(a, b)]/10*(0.8+0.4*r.Float64()))
		}
	}
	return m
}

// synthResults is a results value for topo with synthetic figures.
func synthResults(tb testing.TB, topo *affinity.Topology, m *matrix.Matrix, waits ...Wait) *Results {
	return &Results{Dir: "synthetic", Machine: "synthetic", Run: synthRun(tb, synthFigures, "", waits...), Matrix: m, Topology: topo}
}
