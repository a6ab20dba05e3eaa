package place

import (
	"fmt"
	"math"
)

// The solver minimises the workload's cost: the sum over edges of weight
// times the modelled handoff between the two threads' CPUs (both ways for
// an undirected edge). Up to ExactThreads threads it searches exactly
// (branch and bound, solve_exact.go), starting from the local search's
// answer so that only better placements are explored; beyond, or when
// the exact search reaches its node budget, the local search's answer
// stands (solve_local.go). Everything is deterministic: the same inputs
// give the same plan.

// ExactThreads is the largest thread count the exact search takes on.
const ExactThreads = 10

// exactWork bounds the exact search: a node costs about threads x CPUs
// operations (its bound and its children's tables), and the search stops
// after exactWork / (threads x CPUs) nodes (at least minExactNodes): under a
// second on a 256-CPU machine, saying that the answer is the best found, not proved
// optimal. Where the topology's symmetry holds (no matrix, or one that
// measured few pairs) the search ends in far fewer nodes; a full matrix
// of a large machine makes every CPU distinct and the search
// exponential, and there the budget ends it.
const (
	exactWork     = 200_000_000
	minExactNodes = 20_000
)

// exactBudget is the node budget for the exact search of p.
func (p *problem) exactBudget() int {
	return max(minExactNodes, exactWork/(p.n*p.m))
}

// problem is one instance: threads with directed weights, usable CPUs
// (positions 0..m-1 in canonical order) with directed handoff costs.
type problem struct {
	n, m int
	// w[a][b] is how often thread a hands to thread b per round.
	w [][]float64
	// c[x*m+y] is the one-way handoff cost from position x to y in ns;
	// c[x*m+x] is the samecpu cost when CPUs may be shared, else 0.
	c []float64
	// ct is c transposed: ct[y*m+x] = c[x*m+y].
	ct []float64
	// paths[x] is position x's path through the topology (order.go).
	paths [][levels]int
	// core[x] is a dense core number of position x.
	core []int
	// cores is the number of distinct cores.
	cores int
	// share and oneSMT are the space's rules.
	share, oneSMT bool
	// adj[a] lists the threads a exchanges work with, ascending.
	adj [][]int
	// orders are the CPU orders (as positions) the local search fills
	// its first starts from: compact, then spread.
	orders [][]int
	// blocks describes the interchangeable subtrees (symmetry.go); nil
	// until the exact search needs it.
	blocks *blockSet
}

// newProblem builds the instance of wl on s, costed by m.
func newProblem(m *Model, wl *Workload, s *space) (*problem, error) {
	p := &problem{n: len(wl.Threads), m: len(s.cpus), w: wl.weights(), share: s.share, oneSMT: s.oneSMT, paths: s.paths}
	p.c = make([]float64, p.m*p.m)
	p.ct = make([]float64, p.m*p.m)
	for x, a := range s.cpus {
		for y, b := range s.cpus {
			if x == y && !s.share {
				continue
			}
			v := m.Cost(a, b)
			if math.IsNaN(v) || v < 0 {
				return nil, fmt.Errorf("place: no cost for a handoff from CPU %d to CPU %d: %s has no via=aio figure for wait=%s at class %s, nor at any class it could borrow from",
					a, b, m.Results().Dir, m.Wait(), m.Topology().Relation(a, b))
			}
			p.c[x*p.m+y], p.ct[y*p.m+x] = v, v
		}
	}
	dense := map[int]int{}
	for _, k := range s.core {
		if _, ok := dense[k]; !ok {
			dense[k] = len(dense)
		}
		p.core = append(p.core, dense[k])
	}
	p.cores = len(dense)
	p.adj = make([][]int, p.n)
	for a := range p.n {
		for b := range p.n {
			if a != b && p.w[a][b]+p.w[b][a] > 0 {
				p.adj[a] = append(p.adj[a], b)
			}
		}
	}
	return p, nil
}

// cost is the total cost of an assignment (thread -> position).
func (p *problem) cost(pos []int) float64 {
	total := 0.0
	for a := range p.n {
		for b := range p.n {
			if w := p.w[a][b]; w != 0 {
				total += w * p.c[pos[a]*p.m+pos[b]]
			}
		}
	}
	return total
}

// feasible reports whether an assignment keeps the space's rules.
func (p *problem) feasible(pos []int) bool {
	perCPU := make([]int, p.m)
	coreAt := make([]int, p.cores)
	for i := range coreAt {
		coreAt[i] = -1
	}
	for _, x := range pos {
		if x < 0 || x >= p.m {
			return false
		}
		perCPU[x]++
		if perCPU[x] > 1 && !p.share {
			return false
		}
		k := p.core[x]
		if p.oneSMT && coreAt[k] >= 0 && coreAt[k] != x {
			return false
		}
		coreAt[k] = x
	}
	return true
}

// solution is the solver's answer.
type solution struct {
	pos  []int
	cost float64
	// method says how it was found: "exact", or "local search" with why.
	method string
}

// solve finds the cheapest assignment the solver can.
func (p *problem) solve() solution {
	best := p.localSearch(p.starts())
	sol := solution{pos: best.pos, cost: best.cost, method: fmt.Sprintf("local search (best of %d starts, then %d kicks)", best.starts, p.kicks())}
	if p.n > ExactThreads {
		return sol
	}
	budget := p.exactBudget()
	ex := p.exact(best.cost, budget)
	if ex.pos != nil && ex.cost < sol.cost {
		sol.pos, sol.cost = ex.pos, ex.cost
	}
	if ex.complete {
		sol.method = fmt.Sprintf("exact (branch and bound, %d nodes: proved optimal)", ex.nodes)
	} else {
		sol.method += fmt.Sprintf("; exact search stopped at its budget of %d nodes: best found, not proved optimal", budget)
	}
	return sol
}
