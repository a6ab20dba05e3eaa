package place

import (
	"math"
	"math/rand/v2"
)

// The local search: from each start, repeatedly apply the best move (one
// thread to another CPU it may use) or swap (two threads exchange CPUs)
// while one lowers the cost; keep the cheapest result over the starts.
// A gain table g makes each candidate O(1) to evaluate:
//
//	g[t][x] = sum over u != t of w[t][u]*c(x, pos[u]) + w[u][t]*c(pos[u], x)
//
// is what thread t's edges cost with t at x and everyone else where they
// are, so moving t from x to y changes the total by g[t][y] - g[t][x].
// Applying a move updates the rows of t's neighbours: O(degree x CPUs).

// randomStarts is the number of seeded pseudo-random starts beside the
// compact and spread ones.
const randomStarts = 4

// startSeed seeds the random starts: fixed, so plans are reproducible.
const startSeed = 0x9e3779b97f4a7c15

// starts returns the start assignments: compact, spread, then the seeded
// random ones, each filled feasibly from its CPU order.
func (p *problem) starts() [][]int {
	var out [][]int
	for _, order := range p.orders {
		out = append(out, p.fill(order))
	}
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

// lsResult is the local search's answer.
type lsResult struct {
	pos    []int
	cost   float64
	starts int
}

// localSearch improves each start and returns the cheapest result; ties
// go to the earlier start.
func (p *problem) localSearch(starts [][]int) lsResult {
	best := lsResult{cost: math.Inf(1), starts: len(starts)}
	for _, s := range starts {
		st := p.newState(s)
		st.improve()
		pos := append([]int(nil), st.pos...)
		if c := p.cost(pos); c < best.cost {
			best.pos, best.cost = pos, c
		}
	}
	return best
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
