package place

import (
	"math/rand/v2"
	"slices"
)

// The local search: from each start (solve_starts.go), repeatedly apply
// the best move (one thread to another CPU it may use) or swap (two
// threads exchange CPUs) while one lowers the cost; keep the cheapest
// result over the starts, then perturb it and search again (kick).
// A gain table g makes each candidate O(1) to evaluate:
//
//	g[t][x] = sum over u != t of w[t][u]*c(x, pos[u]) + w[u][t]*c(pos[u], x)
//
// is what thread t's edges cost with t at x and everyone else where they
// are, so moving t from x to y changes the total by g[t][y] - g[t][x].
// Applying a move updates the rows of t's neighbours: O(degree x CPUs).

// lsResult is the local search's answer.
type lsResult struct {
	pos    []int
	cost   float64
	starts int
}

// localSearch improves each start, keeps the cheapest result (ties go
// to the earlier start), then kicks it (kick) and keeps what improves.
func (p *problem) localSearch(starts [][]int) lsResult {
	var best *lsState
	for _, s := range starts {
		st := p.newState(s)
		st.improve()
		if best == nil || st.total < best.total-slack(best.total) {
			best = st
		}
	}
	best = p.kick(best)
	pos := append([]int(nil), best.pos...)
	return lsResult{pos: pos, cost: p.cost(pos), starts: len(starts)}
}

// The number of perturbations kick tries: maxKicks where the instance is
// small, fewer as threads x CPUs (the cost of copying a state, and of a
// step of improve) grows, and at least minKicks. 1000 kicks bring the
// local search to within 3% of the exact optimum on the 256-CPU capture
// with a sparse matrix (8-thread instances, where both can run), and
// keep 64 threads on 256 CPUs well inside the 2 s a plan may take.
const (
	maxKicks = 1000
	minKicks = 100
	kickWork = 100_000_000
)

// kicks returns the number of perturbations for p.
func (p *problem) kicks() int {
	return min(maxKicks, max(minKicks, kickWork/(p.n*p.m)))
}

// kick is an iterated local search: p.kicks() times, perturb a copy of the
// best state (seeded: deterministic), improve the copy, and keep it when
// it is cheaper. The perturbations take turns: one to three threads to
// random CPUs; a thread next to one of its neighbours, onto a CPU
// cheapest to reach from the neighbour's (where a measured cell is low);
// a thread to a random CPU with its neighbours following it, each to its
// best CPU (a cluster moving to another part of the machine, which no
// single move or swap would start).
func (p *problem) kick(best *lsState) *lsState {
	r := rand.New(rand.NewPCG(startSeed, 1<<32))
	near := p.nearest(nearCount)
	for k := range p.kicks() {
		st := best.clone()
		t, y := r.IntN(p.n), r.IntN(p.m)
		switch {
		case k%3 == 0:
			st.perturb(t, y)
			for range r.IntN(3) {
				st.perturb(r.IntN(p.n), r.IntN(p.m))
			}
		case k%3 == 1 && len(p.adj[t]) > 0:
			u := p.adj[t][r.IntN(len(p.adj[t]))]
			st.perturb(t, near[st.pos[u]][r.IntN(len(near[st.pos[u]]))])
		default:
			st.perturb(t, y)
			for _, u := range p.adj[t] {
				st.follow(u)
			}
		}
		st.improve()
		if st.total < best.total-slack(best.total) {
			best = st
		}
	}
	return best
}

// follow moves thread u to the CPU where its edges cost least, among
// those it may move to (it stays when none is cheaper).
func (st *lsState) follow(u int) {
	x := st.pos[u]
	best := x
	for y, v := range st.g[u] {
		if v < st.g[u][best] && st.canMove(u, y) {
			best = y
		}
	}
	if best != x {
		st.move(u, best)
	}
}

// nearCount is how many cheapest partners of each CPU the targeted kicks
// choose from.
const nearCount = 8

// nearest returns, for each position x, the k other positions cheapest
// to hand to and from x (ties: the lower position).
func (p *problem) nearest(k int) [][]int {
	out := make([][]int, p.m)
	for x := range p.m {
		var best []int
		cost := func(y int) float64 { return p.c[x*p.m+y] + p.c[y*p.m+x] }
		for y := range p.m {
			if y == x {
				continue
			}
			i := len(best)
			for i > 0 && cost(best[i-1]) > cost(y) {
				i--
			}
			if i < k {
				best = slices.Insert(best, i, y)
				best = best[:min(len(best), k)]
			}
		}
		out[x] = best
	}
	return out
}

// perturb puts thread t on position y: a move where the rules allow it,
// else a swap with a thread on y (which always keeps them).
func (st *lsState) perturb(t, y int) {
	x := st.pos[t]
	switch {
	case x == y:
	case st.canMove(t, y):
		st.move(t, y)
	default:
		for u, z := range st.pos {
			if z == y {
				st.move(t, y)
				st.move(u, x)
				return
			}
		}
	}
}

// clone returns an independent copy of st.
func (st *lsState) clone() *lsState {
	c := *st
	c.pos = append([]int(nil), st.pos...)
	c.occ = append([]int(nil), st.occ...)
	c.coreCnt = append([]int(nil), st.coreCnt...)
	c.g = make([][]float64, len(st.g))
	flat := make([]float64, 0, len(st.g)*st.p.m)
	for t, row := range st.g {
		flat = append(flat, row...)
		c.g[t] = flat[t*st.p.m : (t+1)*st.p.m]
	}
	return &c
}

// lsState is one local search in progress.
type lsState struct {
	p       *problem
	pos     []int       // thread -> position
	occ     []int       // position -> threads on it
	coreCnt []int       // core -> threads on it
	g       [][]float64 // the gain table
	total   float64
}

// newState sets up a search from the assignment start.
func (p *problem) newState(start []int) *lsState {
	st := &lsState{p: p, pos: append([]int(nil), start...), occ: make([]int, p.m), coreCnt: make([]int, p.cores)}
	for _, x := range st.pos {
		st.occ[x]++
		st.coreCnt[p.core[x]]++
	}
	st.g = make([][]float64, p.n)
	flat := make([]float64, p.n*p.m)
	for t := range p.n {
		st.g[t] = flat[t*p.m : (t+1)*p.m]
		for _, u := range p.adj[t] {
			st.addGain(t, u, st.pos[u], 1)
		}
	}
	st.total = p.cost(st.pos)
	return st
}

// addGain adds sign times the cost of t's edges with u, u at position y,
// to t's row of the gain table.
func (st *lsState) addGain(t, u, y int, sign float64) {
	p := st.p
	out, in := sign*p.w[t][u], sign*p.w[u][t]
	row := st.g[t]
	col := p.ct[y*p.m : (y+1)*p.m] // c(x, y) for every x
	line := p.c[y*p.m : (y+1)*p.m] // c(y, x) for every x
	for x := range row {
		row[x] += out*col[x] + in*line[x]
	}
}

// move puts thread t on position y and updates the tables.
func (st *lsState) move(t, y int) {
	x := st.pos[t]
	st.total += st.g[t][y] - st.g[t][x]
	for _, u := range st.p.adj[t] {
		st.addGain(u, t, x, -1)
		st.addGain(u, t, y, 1)
	}
	st.occ[x]--
	st.coreCnt[st.p.core[x]]--
	st.pos[t] = y
	st.occ[y]++
	st.coreCnt[st.p.core[y]]++
}

// canMove reports whether thread t may go to position y.
func (st *lsState) canMove(t, y int) bool {
	p := st.p
	x := st.pos[t]
	if y == x || st.occ[y] > 0 && !p.share {
		return false
	}
	if !p.oneSMT {
		return true
	}
	k := p.core[y]
	others := st.coreCnt[k]
	if p.core[x] == k {
		others-- // t itself leaves the core's count
	}
	// Threads already on y's core must all sit on y itself (t is not on
	// y, so occ[y] counts only others).
	return others == 0 || others == st.occ[y]
}

// swapDelta is the change in total cost if threads a and b exchange
// positions.
func (st *lsState) swapDelta(a, b int) float64 {
	p := st.p
	x, y := st.pos[a], st.pos[b]
	wab, wba := p.w[a][b], p.w[b][a]
	cxy, cyx := p.c[x*p.m+y], p.c[y*p.m+x]
	before := wab*cxy + wba*cyx
	after := wab*cyx + wba*cxy
	both := (wab + wba) * (p.c[x*p.m+x] + p.c[y*p.m+y])
	return st.g[a][y] - st.g[a][x] + st.g[b][x] - st.g[b][y] + after + before - both
}

// improve applies the best improving move or swap until none is left
// (or a generous step limit is reached: each step lowers the cost, so
// it ends anyway).
func (st *lsState) improve() {
	p := st.p
	for range 100*p.n + 1000 {
		eps := slack(st.total)
		best, kind, a, b := -eps, 0, 0, 0
		for t := range p.n {
			gt, x := st.g[t], st.pos[t]
			for y := range p.m {
				if d := gt[y] - gt[x]; d < best && st.canMove(t, y) {
					best, kind, a, b = d, 1, t, y
				}
			}
		}
		for t := range p.n {
			for u := t + 1; u < p.n; u++ {
				if st.pos[t] == st.pos[u] {
					continue
				}
				if d := st.swapDelta(t, u); d < best {
					best, kind, a, b = d, 2, t, u
				}
			}
		}
		switch kind {
		case 0:
			return
		case 1:
			st.move(a, b)
		case 2:
			x, y := st.pos[a], st.pos[b]
			st.move(a, y)
			st.move(b, x)
		}
	}
}
