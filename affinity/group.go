package affinity

import (
	"cmp"
	"fmt"
	"slices"
)

// This file groups the CPUs that discovery read into the Topology's
// records: cores (union of sibling lists), packages, cache domains, and
// the per-CPU records with their clusters.

// groupCores fills t.Cores from the CPUs' sibling lists and returns the
// CPU -> core index mapping. The sibling sets are unioned, so one CPU whose
// file forgets a sibling cannot split a core; where the lists disagree
// between CPUs, a warning names the file.
func groupCores(r sysReader, t *Topology, raws []rawCPU) map[int]int {
	parent := make([]int, len(raws))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for i, rc := range raws {
		for s := range rc.siblings.All() {
			if j, ok := t.index[s]; ok {
				parent[find(j)] = find(i)
			}
		}
	}
	coreSets := map[int]CPUSet{}
	for i, rc := range raws {
		root := find(i)
		s := coreSets[root]
		s.Add(rc.id)
		coreSets[root] = s
	}
	// Every CPU of a core should list the same siblings; where they
	// disagree the core is their union, and the capture says so.
	for i, rc := range raws {
		if core := coreSets[find(i)]; core != rc.siblings {
			t.Warnings = append(t.Warnings, fmt.Sprintf("%s lists SMT siblings %s, but the CPUs it shares a core with make the core %s (the lists disagree between CPUs; took the union)",
				r.path(fmt.Sprintf("%s/cpu%d/topology/thread_siblings_list", cpuDir, rc.id)), rc.siblings, core))
		}
	}
	sets := make([]CPUSet, 0, len(coreSets))
	for _, s := range coreSets {
		sets = append(sets, s)
	}
	slices.SortFunc(sets, func(a, b CPUSet) int { return cmp.Compare(a.First(), b.First()) })
	coreOf := map[int]int{}
	for i, s := range sets {
		t.Cores = append(t.Cores, Core{ID: i, CPUs: s, Package: raws[t.index[s.First()]].pkg})
		for c := range s.All() {
			coreOf[c] = i
		}
	}
	return coreOf
}

// groupPackages fills t.Packages, in order of each package's first CPU.
func groupPackages(t *Topology, raws []rawCPU) {
	pkgIndex := map[int]int{}
	for _, rc := range raws {
		i, ok := pkgIndex[rc.pkg]
		if !ok {
			i = len(t.Packages)
			pkgIndex[rc.pkg] = i
			t.Packages = append(t.Packages, Package{ID: rc.pkg})
		}
		t.Packages[i].CPUs.Add(rc.id)
	}
}

// groupCaches fills t.Caches with each distinct cache domain once, sorted
// by level, type and lowest CPU, and returns, per CPU (aligned with raws),
// the indexes in t.Caches of its caches (unsorted, possibly repeated). A
// cache domain is (level, type, sharing set); a cache with no (or an empty)
// sharing set is private to its core.
func groupCaches(t *Topology, raws []rawCPU, coreOf map[int]int) [][]int {
	type cacheKey struct {
		level int
		typ   string
		cpus  CPUSet
	}
	cacheIndex := map[cacheKey]int{}
	perCPU := make([][]cacheKey, len(raws))
	for i, rc := range raws {
		core := t.Cores[coreOf[rc.id]].CPUs
		for _, c := range rc.caches {
			if c.CPUs.IsEmpty() {
				c.CPUs = core
			}
			c.CPUs.Add(rc.id)
			k := cacheKey{c.Level, c.Type, c.CPUs}
			if _, ok := cacheIndex[k]; !ok {
				cacheIndex[k] = len(t.Caches)
				t.Caches = append(t.Caches, c)
			}
			perCPU[i] = append(perCPU[i], k)
		}
	}
	order := make([]int, len(t.Caches))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ca, cb := t.Caches[a], t.Caches[b]
		return cmp.Or(cmp.Compare(ca.Level, cb.Level), cmp.Compare(typeRank(ca.Type), typeRank(cb.Type)),
			cmp.Compare(ca.Type, cb.Type), cmp.Compare(ca.CPUs.First(), cb.CPUs.First()))
	})
	sorted := make([]Cache, len(order))
	newIndex := make([]int, len(order))
	for n, old := range order {
		sorted[n] = t.Caches[old]
		newIndex[old] = n
	}
	t.Caches = sorted
	cachesOf := make([][]int, len(raws))
	for i, keys := range perCPU {
		for _, k := range keys {
			cachesOf[i] = append(cachesOf[i], newIndex[cacheIndex[k]])
		}
	}
	return cachesOf
}

// typeRank orders cache types within a level: data, instruction, unified.
func typeRank(typ string) int {
	switch typ {
	case "Data":
		return 0
	case "Instruction":
		return 1
	case "Unified":
		return 2
	}
	return 3
}

// buildCPUs fills t.CPUs from the CPUs read, with the groupings found, and
// completes clusters given only as cluster_id by grouping CPUs by package
// and id.
func buildCPUs(t *Topology, raws []rawCPU, coreOf map[int]int, nodeOf func(int) int, cachesOf [][]int) {
	for i, rc := range raws {
		c := CPU{
			ID: rc.id, Core: coreOf[rc.id], CoreID: rc.coreID, Package: rc.pkg,
			Die: rc.die, Cluster: rc.clusID, Node: nodeOf(rc.id),
		}
		if rc.hasCluster {
			c.ClusterCPUs = rc.cluster
		}
		c.Caches = append(c.Caches, cachesOf[i]...)
		slices.SortFunc(c.Caches, func(a, b int) int { return cmp.Compare(a, b) })
		c.Caches = slices.Compact(c.Caches)
		t.CPUs = append(t.CPUs, c)
	}

	// Clusters given only as cluster_id: group by package and id.
	for i := range t.CPUs {
		c := &t.CPUs[i]
		if c.Cluster < 0 || !c.ClusterCPUs.IsEmpty() {
			continue
		}
		for _, o := range t.CPUs {
			if o.Package == c.Package && o.Cluster == c.Cluster {
				c.ClusterCPUs.Add(o.ID)
			}
		}
	}
}
