package place

// Symmetry breaking for the exact search.
//
// Positions are in canonical order (order.go), so every subtree of the
// topology (a package, a node, a last-level cache, an L2, a core, a CPU)
// is a range of positions: a block. Two sibling blocks A and B (same
// parent, same size) are interchangeable when mapping the k-th position
// of A to the k-th of B and back, fixing every other position, preserves
// every handoff cost (both directions, inside, across and to the outside)
// and the cores (which positions share one). Such a swap maps any
// assignment to one of equal cost that keeps every rule.
//
// The search assigns threads in a fixed order and keeps only assignments
// that are lexicographically least (as position vectors in that order)
// among those the swaps and the twin-thread exchanges reach. Two
// necessary conditions of being least prune the tree:
//
//   - first empty block: a thread may go into an empty block only if no
//     earlier interchangeable sibling is empty as well (else swapping the
//     two gives a smaller vector: earlier threads are unmoved, this one
//     lands on a smaller position, as B's range lies after A's);
//   - twin order: threads u and v are twins when exchanging them
//     preserves the weights (same edges to every other thread, the same
//     weight both ways between them); a twin assigned later gets a larger
//     position (or the same, when CPUs are shared).
//
// Each condition alone holds for the least vector of every orbit of the
// group both kinds of exchange generate, so together they keep at least
// one optimal assignment.

// blockSet holds the blocks of every level.
type blockSet struct {
	// of[L][x] is the block of position x at level L.
	of [levels][]int
	// prev[L][b] is the nearest earlier sibling of block b that is
	// interchangeable with it, -1 for none.
	prev [levels][]int
	// count[L] is the number of blocks at level L.
	count [levels]int
}

// buildBlocks finds the blocks and their interchangeable siblings.
func (p *problem) buildBlocks() *blockSet {
	bs := &blockSet{}
	for L := range levels {
		bs.of[L] = make([]int, p.m)
		var starts []int
		for x := range p.m {
			if x == 0 || !samePrefix(p.paths[x], p.paths[x-1], L) {
				starts = append(starts, x)
			}
			bs.of[L][x] = len(starts) - 1
		}
		bs.count[L] = len(starts)
		bs.prev[L] = p.siblingLinks(starts, L)
	}
	return bs
}

// samePrefix reports whether paths a and b agree on levels 0..L.
func samePrefix(a, b [levels]int, L int) bool {
	for i := 0; i <= L; i++ {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// siblingLinks returns, for each block at level L (given by its first
// position), the nearest earlier interchangeable sibling, -1 for none.
func (p *problem) siblingLinks(starts []int, L int) []int {
	prev := make([]int, len(starts))
	end := func(b int) int {
		if b+1 < len(starts) {
			return starts[b+1]
		}
		return p.m
	}
	type group struct{ leader, last int }
	var groups []group
	for b, s := range starts {
		prev[b] = -1
		if b == 0 || L > 0 && !samePrefix(p.paths[s], p.paths[starts[b-1]], L-1) {
			groups = groups[:0] // a new parent: siblings start afresh
		}
		joined := false
		for i, g := range groups {
			if p.interchangeable(starts[g.leader], end(g.leader), s, end(b)) {
				prev[b], groups[i].last = g.last, b
				joined = true
				break
			}
		}
		if !joined {
			groups = append(groups, group{b, b})
		}
	}
	return prev
}

// interchangeable reports whether the blocks [a0, a1) and [b0, b1) may be
// swapped position by position without changing any cost or core.
func (p *problem) interchangeable(a0, a1, b0, b1 int) bool {
	size := a1 - a0
	if size != b1-b0 {
		return false
	}
	m := p.m
	for i := range size {
		ai, bi := a0+i, b0+i
		for j := range size {
			aj, bj := a0+j, b0+j
			if (p.core[ai] == p.core[aj]) != (p.core[bi] == p.core[bj]) ||
				p.c[ai*m+aj] != p.c[bi*m+bj] || p.c[ai*m+bj] != p.c[bi*m+aj] {
				return false
			}
		}
		for x := range m {
			if x >= a0 && x < a1 || x >= b0 && x < b1 {
				continue
			}
			if p.c[ai*m+x] != p.c[bi*m+x] || p.c[x*m+ai] != p.c[x*m+bi] ||
				(p.core[ai] == p.core[x]) != (p.core[bi] == p.core[x]) {
				return false
			}
		}
	}
	return true
}

// twins returns, for each index k of order, the index of the nearest
// earlier thread in order that is a twin of order[k], -1 for none.
func (p *problem) twins(order []int) []int {
	out := make([]int, len(order))
	for k, v := range order {
		out[k] = -1
		for j := k - 1; j >= 0; j-- {
			if p.twin(order[j], v) {
				out[k] = j
				break
			}
		}
	}
	return out
}

// twin reports whether exchanging threads u and v preserves the weights.
func (p *problem) twin(u, v int) bool {
	if p.w[u][v] != p.w[v][u] {
		return false
	}
	for x := range p.n {
		if x == u || x == v {
			continue
		}
		if p.w[u][x] != p.w[v][x] || p.w[x][u] != p.w[x][v] {
			return false
		}
	}
	return true
}
