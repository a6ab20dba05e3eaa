package place

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/pinbench/pinbench/affinity"
)

// instance is a small random problem on a fixture's topology.
type instance struct {
	name string
	p    *problem
}

// randomInstances returns count seeded random problems on the small
// fixtures: a random subset of 3 to 8 CPUs, 2 to 5 threads in a random
// pattern or graph, a random wait mode, CPUs shared sometimes, and a
// matrix measuring none, some or all pairs (none keeps the topology's
// symmetries, which the exact search breaks; some and all break them).
func randomInstances(t *testing.T, count int) []instance {
	r := rand.New(rand.NewPCG(22, 7))
	var topos []*affinity.Topology
	for _, name := range []string{"two-socket-smt", "numa-split-package", "cpuless-nodes"} {
		topos = append(topos, capture(t, name))
	}
	var out []instance
	for i := 0; len(out) < count; i++ {
		topo := topos[i%len(topos)]
		frac := []float64{0, 0, 0.3, 1}[r.IntN(4)]
		wait := []Wait{WaitPoll, WaitAdaptive, WaitBlock}[r.IntN(3)]
		res := synthResults(t, topo, synthMatrix(topo, uint64(i), frac), wait)
		m, err := NewModel(res, wait)
		if err != nil {
			t.Fatal(err)
		}
		cpus := randomSubset(r, topo.Online.CPUs(), 3+r.IntN(6))
		wl := randomWorkload(r, 2+r.IntN(4))
		c := Constraints{CPUs: affinity.NewCPUSet(cpus...), Share: wait == WaitBlock && r.IntN(2) == 0}
		s, err := c.resolve(m, len(wl.Threads))
		if err != nil {
			continue // too many threads for the CPUs drawn
		}
		p, err := newProblem(m, wl, s)
		if err != nil {
			t.Fatal(err)
		}
		p.orders = [][]int{s.positions(compactOrder(topo, s.set)), s.positions(spreadOrder(topo, s.set))}
		out = append(out, instance{fmt.Sprintf("#%d %s %s n=%d cpus=%s share=%v oneSMT=%v frac=%v", i, topo.Summary(), wl.Pattern, p.n, s.set, p.share, p.oneSMT, frac), p})
	}
	return out
}

// randomSubset returns k CPUs of cpus, drawn without replacement.
func randomSubset(r *rand.Rand, cpus []int, k int) []int {
	cpus = append([]int(nil), cpus...)
	r.Shuffle(len(cpus), func(i, j int) { cpus[i], cpus[j] = cpus[j], cpus[i] })
	return cpus[:min(k, len(cpus))]
}

// randomWorkload returns a pattern, or a random graph with weights 1 to 3
// (equal weights often, so that twins occur).
func randomWorkload(r *rand.Rand, n int) *Workload {
	if k := r.IntN(5); k < 4 {
		if w, err := Pattern(Patterns()[k], n); err == nil {
			return w
		}
	}
	w := &Workload{Pattern: PatternGraph}
	for i := range n {
		w.Threads = append(w.Threads, fmt.Sprintf("g%d", i))
	}
	for a := range n {
		for b := range n {
			if a != b && r.IntN(3) == 0 {
				w.Edges = append(w.Edges, Edge{From: a, To: b, Weight: float64(1 + r.IntN(3))})
			}
		}
	}
	if len(w.Edges) == 0 {
		w.Edges = append(w.Edges, Edge{From: 0, To: 1, Weight: 1, Undirected: true})
	}
	return w
}

// bruteForce returns the least cost over every feasible assignment.
func (p *problem) bruteForce() float64 {
	best := math.Inf(1)
	pos := make([]int, p.n)
	var rec func(i int)
	rec = func(i int) {
		if i == p.n {
			if p.feasible(pos) {
				best = min(best, p.cost(pos))
			}
			return
		}
		for x := range p.m {
			pos[i] = x
			rec(i + 1)
		}
	}
	rec(0)
	return best
}

// near reports whether a and b agree to a relative 1e-9.
func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// TestExactMatchesBruteForce checks the exact search, symmetry breaking
// included, against trying every assignment.
func TestExactMatchesBruteForce(t *testing.T) {
	for _, in := range randomInstances(t, 150) {
		want := in.p.bruteForce()
		ex := in.p.exact(math.Inf(1), 1<<30)
		if !ex.complete || ex.pos == nil {
			t.Fatalf("%s: exact search incomplete (%d nodes) or found nothing", in.name, ex.nodes)
		}
		if !near(ex.cost, want) {
			t.Errorf("%s: exact %.6g, brute force %.6g", in.name, ex.cost, want)
		}
		if !in.p.feasible(ex.pos) || !near(in.p.cost(ex.pos), ex.cost) {
			t.Errorf("%s: exact answer %v infeasible or misreported (%.6g against %.6g)", in.name, ex.pos, in.p.cost(ex.pos), ex.cost)
		}
		if loose := in.p.exact(1e300, 1<<30); !near(loose.cost, want) {
			t.Errorf("%s: exact from a loose bound %.6g, brute force %.6g", in.name, loose.cost, want)
		}
		if sol := in.p.solve(); !near(sol.cost, want) {
			t.Errorf("%s: solve %.6g (%s), optimum %.6g", in.name, sol.cost, sol.method, want)
		}
	}
}

// TestLocalSearchNeverWorse checks that every start keeps the rules and
// only improves, that the gain table's running total matches the cost,
// and that the result, kicks included, is feasible and no worse than any
// start.
func TestLocalSearchNeverWorse(t *testing.T) {
	for _, in := range randomInstances(t, 100) {
		p := in.p
		starts := p.starts()
		best := math.Inf(1)
		for _, s := range starts {
			if !p.feasible(s) {
				t.Fatalf("%s: start %v breaks the rules", in.name, s)
			}
			st := p.newState(s)
			st.improve()
			if got := p.cost(st.pos); got > p.cost(s)*(1+1e-12) || !near(got, st.total) || !p.feasible(st.pos) {
				t.Errorf("%s: from %v (%.6g) to %v (%.6g, running total %.6g, feasible %v)", in.name, s, p.cost(s), st.pos, got, st.total, p.feasible(st.pos))
			}
			best = min(best, p.cost(s))
		}
		if ls := p.localSearch(starts); ls.cost > best*(1+1e-12) || !p.feasible(ls.pos) {
			t.Errorf("%s: local search %.6g (feasible %v), worse than its best start %.6g", in.name, ls.cost, p.feasible(ls.pos), best)
		}
	}
}

// TestExactWholeFixtures runs the exact search on every CPU of each
// fixture with no matrix, where the topology's symmetry is complete and
// the symmetry breaking prunes most, against brute force.
func TestExactWholeFixtures(t *testing.T) {
	for _, name := range []string{"two-socket-smt", "numa-split-package", "cpuless-nodes"} {
		topo := capture(t, name)
		for _, wait := range []Wait{WaitPoll, WaitBlock} {
			m, err := NewModel(synthResults(t, topo, nil, wait), wait)
			if err != nil {
				t.Fatal(err)
			}
			for _, pattern := range Patterns() {
				wl, _ := Pattern(pattern, 4)
				s, err := Constraints{}.resolve(m, 4)
				if err != nil {
					t.Fatal(err)
				}
				p, err := newProblem(m, wl, s)
				if err != nil {
					t.Fatal(err)
				}
				ex := p.exact(math.Inf(1), 1<<30)
				if want := p.bruteForce(); !ex.complete || !near(ex.cost, want) {
					t.Errorf("%s wait=%s %s: exact %.6g (complete %v, %d nodes), brute force %.6g", name, wait, pattern, ex.cost, ex.complete, ex.nodes, want)
				}
			}
		}
	}
}
