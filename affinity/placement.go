package affinity

import (
	"fmt"
	"slices"
)

// Class names the innermost domain two logical CPUs share; benchmarks use it
// as their place= key.
type Class string

// The placement classes, innermost first, plus Unpinned.
const (
	// SameCPU: one logical CPU, time-shared by both threads.
	SameCPU Class = "samecpu"
	// SMT: two hardware threads of one core.
	SMT Class = "smt"
	// L2: different cores sharing an L2 cache (or L1), or in the same
	// kernel cluster (cluster_cpus, a group of cores smaller than the
	// package, typically sharing L2 or a bus).
	L2 Class = "l2"
	// LLC: sharing a cache of level 3 or beyond, but no L2.
	LLC Class = "llc"
	// Node: the same NUMA node, no shared cache (for example two packages
	// in one node).
	Node Class = "node"
	// Remote: different NUMA nodes (even within one package, when nodes
	// split it).
	Remote Class = "remote"
	// Unpinned: the OS decides; a baseline, not a relation.
	Unpinned Class = "unpinned"
)

// Classes returns the relations innermost to outermost: samecpu, smt, l2,
// llc, node, remote (not unpinned, which is no relation).
func Classes() []Class {
	return []Class{SameCPU, SMT, L2, LLC, Node, Remote}
}

// ParseClass returns the class named s (any of Classes or "unpinned").
func ParseClass(s string) (Class, error) {
	c := Class(s)
	if c == Unpinned || slices.Contains(Classes(), c) {
		return c, nil
	}
	return "", fmt.Errorf("affinity: unknown placement class %q (want samecpu, smt, l2, llc, node, remote or unpinned)", s)
}

// Pair is two logical CPUs, A < B except for samecpu, where A == B.
type Pair struct {
	A, B int // logical CPU numbers
}

// String formats the pair as "A,B".
func (p Pair) String() string { return fmt.Sprintf("%d,%d", p.A, p.B) }

// relKey is what Relation compares for one CPU, precomputed by
// buildRelations so that a relation costs a few integer comparisons.
type relKey struct {
	core    int
	near    []int  // caches of level <= 2 (not instruction caches)
	far     []int  // caches of level >= 3 (not instruction caches)
	cluster CPUSet // the kernel cluster when it is a proper group; else empty
	node    int
}

// buildRelations fills t.rel; called once at the end of discovery.
func (t *Topology) buildRelations() {
	pkgSet := map[int]CPUSet{}
	for _, p := range t.Packages {
		pkgSet[p.ID] = p.CPUs
	}
	t.rel = make([]relKey, len(t.CPUs))
	for i, c := range t.CPUs {
		k := relKey{core: c.Core, node: c.Node}
		for _, ci := range c.Caches {
			cache := t.Caches[ci]
			switch {
			case cache.Type == "Instruction":
			case cache.Level <= 2:
				k.near = append(k.near, ci)
			default:
				k.far = append(k.far, ci)
			}
		}
		// A cluster counts when it groups several cores and not the whole
		// package (kernels without cluster information report the core or
		// the package).
		core := t.Cores[c.Core].CPUs
		if cl := c.ClusterCPUs; core.IsSubset(cl) && cl != core && cl.IsSubset(pkgSet[c.Package]) && cl != pkgSet[c.Package] {
			k.cluster = cl
		}
		t.rel[i] = k
	}
}

func shareAny(a, b []int) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// Relation returns the innermost domain online CPUs a and b share, or ""
// when either is not an online CPU. CPUs that no NUMA node lists count as
// one node of their own.
func (t *Topology) Relation(a, b int) Class {
	ia, ok1 := t.index[a]
	ib, ok2 := t.index[b]
	if !ok1 || !ok2 {
		return ""
	}
	return t.relation(ia, ib)
}

func (t *Topology) relation(ia, ib int) Class {
	ka, kb := &t.rel[ia], &t.rel[ib]
	switch {
	case ia == ib:
		return SameCPU
	case ka.core == kb.core:
		return SMT
	case shareAny(ka.near, kb.near) || !ka.cluster.IsEmpty() && ka.cluster == kb.cluster:
		return L2
	case shareAny(ka.far, kb.far):
		return LLC
	case ka.node == kb.node:
		return Node
	}
	return Remote
}

// housekeepingTier ranks how much CPU c shares with CPU 0, where the
// kernel and its interrupts do most of their housekeeping: 2 for CPU 0
// itself, 1 for its SMT siblings (they share its core's execution units),
// 0 for the rest.
func (t *Topology) housekeepingTier(i int) int {
	c := t.CPUs[i]
	if c.ID == 0 {
		return 2
	}
	if z, ok := t.index[0]; ok && t.CPUs[z].Core == c.Core {
		return 1
	}
	return 0
}

// allowedIdx returns the indexes into t.CPUs of the allowed CPUs: first
// those away from CPU 0's core, then CPU 0's SMT siblings, then CPU 0,
// each part ascending, so that searches in this order avoid CPU 0's core
// where they can.
func (t *Topology) allowedIdx() []int {
	var tiers [3][]int
	for i, c := range t.CPUs {
		if t.Allowed.Has(c.ID) {
			k := t.housekeepingTier(i)
			tiers[k] = append(tiers[k], i)
		}
	}
	return slices.Concat(tiers[0], tiers[1], tiers[2])
}

// Placements returns one representative pair per class present among the
// allowed CPUs. The pair is deterministic: the first pair (A, B), A < B,
// in ascending order of A then B, that has the class, looking first at
// pairs away from CPU 0's core, then at pairs with one of CPU 0's SMT
// siblings, then at pairs with CPU 0 itself: the kernel's housekeeping
// runs on CPU 0, and its siblings share that core. Where siblings are
// numbered apart (n and n+cores, as Linux does on most Intel machines)
// this is what a person reading the tree would pick ("CPU 1 and its SMT
// sibling"); where they are adjacent (QEMU guests, many other machines)
// it keeps off CPU 1, CPU 0's sibling. samecpu is {c, c} for the first
// CPU in that order. The map is computed once per Topology (every pair of
// allowed CPUs is examined, so the first call costs O(allowed²)) and a new
// copy is returned each call.
func (t *Topology) Placements() map[Class]Pair {
	t.placeOnce.Do(func() {
		t.places = map[Class]Pair{}
		idx := t.allowedIdx()
		if len(idx) == 0 {
			return
		}
		c0 := t.CPUs[idx[0]].ID
		t.places[SameCPU] = Pair{c0, c0}
		add := func(i, j int) {
			cl := t.relation(i, j)
			if _, ok := t.places[cl]; !ok {
				a, b := t.CPUs[i].ID, t.CPUs[j].ID
				t.places[cl] = Pair{min(a, b), max(a, b)}
			}
		}
		// Pairs by the higher tier of their two CPUs, each tier in
		// ascending order of A then B (t.CPUs is ascending by ID).
		for tier := 0; tier <= 2 && len(t.places) < len(Classes()); tier++ {
			for x := 0; x < len(idx) && len(t.places) < len(Classes()); x++ {
				for y := 0; y < len(idx); y++ {
					i, j := idx[x], idx[y]
					if i < j && max(t.housekeepingTier(i), t.housekeepingTier(j)) == tier {
						add(i, j)
					}
				}
			}
		}
	})
	out := make(map[Class]Pair, len(t.places))
	for k, v := range t.places {
		out[k] = v
	}
	return out
}

// Pair returns the representative pair of class c, and false when the
// allowed CPUs have no such pair (or c is unpinned).
func (t *Topology) Pair(c Class) (Pair, bool) {
	p, ok := t.Placements()[c]
	return p, ok
}

// Present returns the classes that have a pair among the allowed CPUs,
// innermost first.
func (t *Topology) Present() []Class {
	pl := t.Placements()
	var out []Class
	for _, c := range Classes() {
		if _, ok := pl[c]; ok {
			out = append(out, c)
		}
	}
	return out
}

// AllPairs returns every unordered pair {A, B}, A < B, of allowed CPUs,
// ascending (for a latency matrix). It allocates n(n-1)/2 pairs: about 8
// million for 4096 CPUs.
func (t *Topology) AllPairs() []Pair {
	cpus := t.Allowed.CPUs()
	out := make([]Pair, 0, len(cpus)*(len(cpus)-1)/2)
	for i, a := range cpus {
		for _, b := range cpus[i+1:] {
			out = append(out, Pair{a, b})
		}
	}
	return out
}

// Group returns up to n allowed CPUs placed as class c says, for n threads
// that should all be c apart: it starts from the representative pair of c
// and adds, in the Placements order (CPU 0 last), each CPU whose relation
// to every CPU already chosen is c. It returns fewer than n CPUs when no
// more exist (remote: one CPU per node; smt: the threads of one core). For
// samecpu it returns the representative CPU n times (n threads sharing one
// CPU). It is an error when c is absent, is unpinned, or n < 1.
func (t *Topology) Group(c Class, n int) ([]int, error) {
	if n < 1 {
		return nil, fmt.Errorf("affinity: group of %d CPUs", n)
	}
	if c == Unpinned {
		return nil, fmt.Errorf("affinity: unpinned is not a placement: the OS places unpinned threads")
	}
	p, ok := t.Pair(c)
	if !ok {
		if _, err := ParseClass(string(c)); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("affinity: no %s pair among the allowed CPUs %s (%s)", c, t.Allowed, t.Summary())
	}
	if c == SameCPU {
		out := make([]int, n)
		for i := range out {
			out[i] = p.A
		}
		return out, nil
	}
	out := []int{p.A, p.B}[:min(n, 2)]
	for _, i := range t.allowedIdx() {
		if len(out) >= n {
			break
		}
		id := t.CPUs[i].ID
		fits := true
		for _, o := range out {
			if id == o || t.relation(i, t.index[o]) != c {
				fits = false
				break
			}
		}
		if fits {
			out = append(out, id)
		}
	}
	return out, nil
}

// ClusterCPUs returns the kernel cluster of online CPU cpu when it counts
// for the l2 class (it groups several cores and is smaller than the
// package), and the empty set otherwise.
func (t *Topology) ClusterCPUs(cpu int) CPUSet {
	i, ok := t.index[cpu]
	if !ok {
		return CPUSet{}
	}
	return t.rel[i].cluster
}
