package place

import (
	"cmp"
	"math/rand/v2"
	"slices"
)

// The local search's starts: the CPU orders placement tools use, a
// greedy placement from the costs, and seeded pseudo-random orders, each
// filled so that it keeps the rules.

// randomStarts is the number of seeded pseudo-random starts beside the
// compact and spread ones.
const randomStarts = 4

// startSeed seeds the random starts: fixed, so plans are reproducible.
const startSeed = 0x9e3779b97f4a7c15

// starts returns the start assignments: compact and spread (p.orders),
// the greedy one, then the seeded random ones.
func (p *problem) starts() [][]int {
	var out [][]int
	for _, order := range p.orders {
		out = append(out, p.fill(order))
	}
	out = append(out, p.greedyStarts()...)
	for k := range randomStarts {
		order := make([]int, p.m)
		for i := range order {
			order[i] = i
		}
		r := rand.New(rand.NewPCG(startSeed, uint64(k)))
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		out = append(out, p.fill(order))
	}
	return out
}

// fill places threads 0..n-1 in turn on the positions of order that keep
// the rules, one per CPU; with shared CPUs, the threads left over go
// round-robin onto the CPUs already used.
func (p *problem) fill(order []int) []int {
	pos := make([]int, 0, p.n)
	used := make([]bool, p.m)
	coreUsed := make([]bool, p.cores)
	for _, x := range order {
		if len(pos) == p.n {
			break
		}
		if used[x] || p.oneSMT && coreUsed[p.core[x]] {
			continue
		}
		used[x], coreUsed[p.core[x]] = true, true
		pos = append(pos, x)
	}
	for i := 0; len(pos) < p.n; i++ {
		pos = append(pos, pos[i])
	}
	return pos
}

// greedyTries bounds how many first positions greedyStarts tries, and
// greedyKeep how many of its placements become starts.
const (
	greedyTries = 32
	greedyKeep  = 3
)

// greedyStarts runs greedy from up to greedyTries first positions spread
// evenly over the canonical order (so over the machine's subtrees: a
// cheap region anywhere is tried) and returns the greedyKeep cheapest
// placements (ties: the earlier first position).
func (p *problem) greedyStarts() [][]int {
	step := max(1, p.m/greedyTries)
	type cand struct {
		pos  []int
		cost float64
	}
	var cands []cand
	for first := 0; first < p.m; first += step {
		pos := p.greedy(first)
		cands = append(cands, cand{pos, p.cost(pos)})
	}
	slices.SortStableFunc(cands, func(a, b cand) int { return cmp.Compare(a.cost, b.cost) })
	var out [][]int
	for _, c := range cands[:min(greedyKeep, len(cands))] {
		out = append(out, c.pos)
	}
	return out
}

// greedy places the threads in the exact search's order (most connected
// first), the first on position first, each other on the position that
// adds least cost to the threads already placed and keeps the rules
// (ties: the lowest position).
func (p *problem) greedy(first int) []int {
	pos := make([]int, p.n)
	placed := make([]bool, p.n)
	occ := make([]int, p.m)
	coreAt := make([]int, p.cores) // the position a core's threads sit on, -1 for none
	for i := range coreAt {
		coreAt[i] = -1
	}
	for i, t := range p.placementOrder() {
		best, bestCost := -1, 0.0
		for x := range p.m {
			if i == 0 && x != first {
				continue
			}
			if occ[x] > 0 && !p.share || p.oneSMT && coreAt[p.core[x]] >= 0 && coreAt[p.core[x]] != x {
				continue
			}
			cost := 0.0
			for _, u := range p.adj[t] {
				if placed[u] {
					cost += p.w[t][u]*p.c[x*p.m+pos[u]] + p.w[u][t]*p.c[pos[u]*p.m+x]
				}
			}
			if best < 0 || cost < bestCost {
				best, bestCost = x, cost
			}
		}
		pos[t], placed[t] = best, true
		occ[best]++
		coreAt[p.core[best]] = best
	}
	return pos
}
