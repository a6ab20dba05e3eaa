package place

import (
	"cmp"
	"slices"

	"github.com/pinbench/pinbench/affinity"
)

// CPU orders. Each CPU gets a path through the topology tree: package,
// NUMA node, last-level cache, L2, core, CPU. Sorting by the path lists
// the CPUs of every subtree together (the canonical order, which the
// exact solver's symmetry breaking needs: a subtree is a range of it);
// the baselines and the local search's starts walk the tree in the ways
// placement tools do.

// Path levels: each CPU's path has one entry per level.
const (
	levelPackage = iota
	levelNode
	levelLLC
	levelL2
	levelCore
	levelCPU
	levels
)

// path returns cpu's path: package, node, outermost cache of level 3 or
// more, L2 (or kernel cluster), core and the CPU itself. A level the CPU
// lacks is -1.
func path(topo *affinity.Topology, cpu int) [levels]int {
	c, _ := topo.CPU(cpu)
	p := [levels]int{c.Package, c.Node, -1, -1, c.Core, c.ID}
	for _, ci := range c.Caches {
		k := topo.Caches[ci]
		switch {
		case k.Type == "Instruction":
		case k.Level >= 3:
			p[levelLLC] = ci
		case k.Level == 2:
			p[levelL2] = ci
		}
	}
	if p[levelL2] < 0 && !c.ClusterCPUs.IsEmpty() {
		p[levelL2] = len(topo.Caches) + c.ClusterCPUs.First()
	}
	return p
}

// paths returns the path of each CPU of cpus.
func paths(topo *affinity.Topology, cpus []int) map[int][levels]int {
	out := make(map[int][levels]int, len(cpus))
	for _, c := range cpus {
		out[c] = path(topo, c)
	}
	return out
}

// canonicalOrder returns the CPUs of set sorted by path.
func canonicalOrder(topo *affinity.Topology, set affinity.CPUSet) []int {
	return sortedBy(topo, set, func(a, b [levels]int) int { return slices.Compare(a[:], b[:]) })
}

// compactOrder returns the CPUs of set in topology order: package, node,
// core, then the core's hardware threads, filling each core before the
// next (as taskset ranges over adjacent numbering and hwloc-distrib
// --single for few threads tend to).
func compactOrder(topo *affinity.Topology, set affinity.CPUSet) []int {
	return sortedBy(topo, set, func(a, b [levels]int) int {
		return cmp.Or(cmp.Compare(a[levelPackage], b[levelPackage]), cmp.Compare(a[levelNode], b[levelNode]),
			cmp.Compare(a[levelCore], b[levelCore]), cmp.Compare(a[levelCPU], b[levelCPU]))
	})
}

// sortedBy returns the CPUs of set sorted by their paths with compare.
func sortedBy(topo *affinity.Topology, set affinity.CPUSet, compare func(a, b [levels]int) int) []int {
	cpus := set.CPUs()
	p := paths(topo, cpus)
	slices.SortFunc(cpus, func(a, b int) int { return compare(p[a], p[b]) })
	return cpus
}

// spreadOrder returns the CPUs of set round-robin over the topology tree,
// as hwloc-distrib spreads: one CPU of each package in turn, within a
// package one of each node in turn, then of each last-level cache, then
// of each core, the cores' second hardware threads last.
func spreadOrder(topo *affinity.Topology, set affinity.CPUSet) []int {
	cpus := canonicalOrder(topo, set)
	p := paths(topo, cpus)
	tree := []int{levelPackage, levelNode, levelLLC, levelCore}
	return roundRobin(cpus, func(cpu, depth int) int { return p[cpu][tree[depth]] }, 0, len(tree))
}

// roundRobin splits cpus by key at depth (keeping order), orders each
// part the same way one level down, and interleaves the parts: the first
// of each part, then the second of each, and so on.
func roundRobin(cpus []int, key func(cpu, depth int) int, depth, depths int) []int {
	if depth == depths || len(cpus) <= 1 {
		return cpus
	}
	var parts [][]int
	index := map[int]int{}
	for _, c := range cpus {
		k := key(c, depth)
		i, ok := index[k]
		if !ok {
			i = len(parts)
			index[k] = i
			parts = append(parts, nil)
		}
		parts[i] = append(parts[i], c)
	}
	for i := range parts {
		parts[i] = roundRobin(parts[i], key, depth+1, depths)
	}
	out := make([]int, 0, len(cpus))
	for k := 0; len(out) < len(cpus); k++ {
		for _, part := range parts {
			if k < len(part) {
				out = append(out, part[k])
			}
		}
	}
	return out
}
