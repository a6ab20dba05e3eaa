package place

import (
	"cmp"
	"math"
	"slices"
)

// The exact search: depth-first branch and bound over the threads in a
// fixed order (the most connected first, then always the thread most
// connected to those placed), each tried on the positions the rules and
// the symmetry breaking (symmetry.go) allow, cheapest first. A branch is
// cut when its lower bound reaches the best cost known (at first the
// local search's):
//
//	bound = cost of the edges among placed threads
//	      + for each unplaced thread u: the least, over the free CPUs x,
//	        of the cost of u's edges to the placed threads with u at x
//	      + the weight among unplaced threads x the cheapest handoff.
//
// The middle term is kept per thread and CPU (part) and updated as
// threads are placed, one copy per depth.

// exactResult is the exact search's answer.
type exactResult struct {
	pos      []int // nil when nothing beat the incumbent
	cost     float64
	nodes    int
	complete bool // the whole tree was searched: cost is optimal
}

// exactSearch is one exact search in progress.
type exactSearch struct {
	p        *problem
	order    []int     // threads in placement order
	twinOf   []int     // twinOf[k]: earlier twin's index in order, or -1
	blocks   *blockSet // interchangeable blocks
	blockOcc [levels][]int
	part     [][]float64 // part[d][u*m+x], per depth
	rest     []float64   // rest[d]: bound on the edges among order[d:]
	pos      []int       // thread -> position, -1 unplaced
	occ      []int       // position -> threads
	coreCnt  []int
	cands    [][]cand // per-depth candidate buffers
	best     float64
	bestPos  []int
	nodes    int
	budget   int
	aborted  bool
}

// cand is a position to try and the cost placing the thread there adds.
type cand struct {
	x    int
	cost float64
}

// exact searches for an assignment cheaper than incCost (the incumbent's
// cost), visiting at most budget nodes.
func (p *problem) exact(incCost float64, budget int) exactResult {
	if p.blocks == nil {
		p.blocks = p.buildBlocks()
	}
	s := &exactSearch{p: p, order: p.placementOrder(), blocks: p.blocks, best: incCost, budget: budget,
		pos: make([]int, p.n), occ: make([]int, p.m), coreCnt: make([]int, p.cores)}
	s.twinOf = p.twins(s.order)
	for L := range levels {
		s.blockOcc[L] = make([]int, p.blocks.count[L])
	}
	for i := range s.pos {
		s.pos[i] = -1
	}
	s.part = make([][]float64, p.n+1)
	s.cands = make([][]cand, p.n)
	for d := range s.part {
		s.part[d] = make([]float64, p.n*p.m)
	}
	s.rest = p.restBounds(s.order)
	s.dfs(0, 0)
	return exactResult{pos: s.bestPos, cost: s.best, nodes: s.nodes, complete: !s.aborted}
}

// placementOrder starts with the thread of most weight, then repeatedly
// takes the unplaced thread with most weight to the placed ones (ties:
// most weight overall, then lowest index).
func (p *problem) placementOrder() []int {
	total := make([]float64, p.n)
	for a := range p.n {
		for b := range p.n {
			total[a] += p.w[a][b] + p.w[b][a]
		}
	}
	toPlaced := make([]float64, p.n)
	placed := make([]bool, p.n)
	order := make([]int, 0, p.n)
	for range p.n {
		next := -1
		for t := range p.n {
			if placed[t] {
				continue
			}
			if next < 0 || toPlaced[t] > toPlaced[next] || toPlaced[t] == toPlaced[next] && total[t] > total[next] {
				next = t
			}
		}
		placed[next] = true
		order = append(order, next)
		for t := range p.n {
			toPlaced[t] += p.w[t][next] + p.w[next][t]
		}
	}
	return order
}

// restBounds returns, per depth d, the weight among order[d:] times the
// cheapest handoff between two usable positions.
func (p *problem) restBounds(order []int) []float64 {
	cheapest := math.Inf(1)
	for x := range p.m {
		for y := range p.m {
			if x != y || p.share {
				cheapest = min(cheapest, p.c[x*p.m+y])
			}
		}
	}
	if math.IsInf(cheapest, 1) {
		cheapest = 0 // one CPU, not shared: no pair exists, no bound needed
	}
	rest := make([]float64, p.n+1)
	for d := p.n - 1; d >= 0; d-- {
		u := order[d]
		rest[d] = rest[d+1]
		for _, v := range order[d+1:] {
			rest[d] += (p.w[u][v] + p.w[v][u]) * cheapest
		}
	}
	return rest
}

// dfs places order[d:] given cur, the cost of the edges among order[:d].
func (s *exactSearch) dfs(d int, cur float64) {
	p := s.p
	if s.nodes++; s.nodes > s.budget {
		s.aborted = true
		return
	}
	if d == p.n {
		if cur < s.best-slack(s.best) {
			s.best, s.bestPos = cur, append([]int(nil), s.pos...)
		}
		return
	}
	if s.bound(d, cur) >= s.best-slack(s.best) {
		return
	}
	t := s.order[d]
	row := s.part[d][t*p.m : (t+1)*p.m]
	cs := s.cands[d][:0]
	for x := range p.m {
		if s.allowed(d, x) {
			cs = append(cs, cand{x, row[x]})
		}
	}
	slices.SortStableFunc(cs, func(a, b cand) int { return cmp.Compare(a.cost, b.cost) })
	s.cands[d] = cs
	for _, c := range cs {
		if s.aborted || cur+c.cost+s.rest[d+1] >= s.best-slack(s.best) {
			break // sorted: no later candidate does better
		}
		s.place(d, t, c.x, 1)
		s.dfs(d+1, cur+c.cost)
		s.place(d, t, c.x, -1)
	}
}

// bound is the lower bound of the branch at depth d with cost cur.
func (s *exactSearch) bound(d int, cur float64) float64 {
	p := s.p
	lb := cur + s.rest[d]
	for _, u := range s.order[d:] {
		row := s.part[d][u*p.m : (u+1)*p.m]
		least := math.Inf(1)
		for x, v := range row {
			if v < least && (s.occ[x] == 0 || p.share) {
				least = v
			}
		}
		if !math.IsInf(least, 1) {
			lb += least
		}
	}
	return lb
}

// allowed reports whether order[d] may go to position x: the CPU and
// SMT rules, twin order and first empty block.
func (s *exactSearch) allowed(d, x int) bool {
	p := s.p
	if s.occ[x] > 0 && !p.share {
		return false
	}
	if k := p.core[x]; p.oneSMT && s.coreCnt[k] != s.occ[x] {
		return false // the core holds threads on another of its CPUs
	}
	if j := s.twinOf[d]; j >= 0 {
		if y := s.pos[s.order[j]]; x < y || x == y && !p.share {
			return false
		}
	}
	for L := range levels {
		b := s.blocks.of[L][x]
		if s.blockOcc[L][b] == 0 {
			if q := s.blocks.prev[L][b]; q >= 0 && s.blockOcc[L][q] == 0 {
				return false
			}
		}
	}
	return true
}

// place puts thread t (order[d]) on x (sign 1) or takes it off (-1),
// keeping the occupancy counts, and on placing fills part[d+1].
func (s *exactSearch) place(d, t, x, sign int) {
	p := s.p
	s.occ[x] += sign
	s.coreCnt[p.core[x]] += sign
	for L := range levels {
		s.blockOcc[L][s.blocks.of[L][x]] += sign
	}
	if sign < 0 {
		s.pos[t] = -1
		return
	}
	s.pos[t] = x
	next, cur := s.part[d+1], s.part[d]
	for _, u := range s.order[d+1:] {
		row := next[u*p.m : (u+1)*p.m]
		copy(row, cur[u*p.m:(u+1)*p.m])
		out, in := p.w[u][t], p.w[t][u]
		if out == 0 && in == 0 {
			continue
		}
		col := p.ct[x*p.m : (x+1)*p.m]
		line := p.c[x*p.m : (x+1)*p.m]
		for z := range row {
			row[z] += out*col[z] + in*line[z]
		}
	}
}

// slack is how much below best a cost must be to count as better: a
// relative 1e-9, so that rounding never passes for an improvement; 0
// while nothing is known (best is +Inf).
func slack(best float64) float64 {
	if math.IsInf(best, 0) {
		return 0
	}
	return 1e-9 * math.Max(1, math.Abs(best))
}
