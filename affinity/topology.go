package affinity

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
)

// Topology is one machine as discovery found it: its online logical CPUs,
// cores, packages, caches and NUMA nodes, and the CPUs this process may use.
//
// A Topology is immutable once Discover or DiscoverRoot returns it (callers
// must not modify its slices either), so goroutines may share it freely.
type Topology struct {
	// Root is the folder a capture was read from; "" for the live machine.
	Root string
	// CPUs holds every online logical CPU, ascending by ID.
	CPUs []CPU
	// Cores holds the cores (sets of SMT siblings), ordered by lowest CPU;
	// CPU.Core indexes it.
	Cores []Core
	// Packages holds the packages (sockets), ordered by lowest CPU.
	Packages []Package
	// Caches holds each distinct cache domain once (level, type and
	// sharing set), ordered by level, type, then lowest CPU; CPU.Caches
	// indexes it.
	Caches []Cache
	// Nodes holds the NUMA nodes ascending by ID, including nodes without
	// CPUs. A machine whose kernel shows no node folder has one node, 0,
	// holding every CPU.
	Nodes []NUMANode
	// Online is the set of online CPUs (the IDs in CPUs).
	Online CPUSet
	// Allowed is the set of CPUs this process may use: the affinity mask
	// intersected with Online on the live machine, Online for a capture.
	Allowed CPUSet
	// Model is the CPU model name from /proc/cpuinfo ("model name", or
	// the nearest field other architectures print), or from cpuid on the
	// live machine when cpuinfo has none; "" when unknown.
	Model string
	// Identity is what cpuid (live) or /proc/cpuinfo (capture) says about
	// the processor.
	Identity Identity
	// Warnings name sysfs files whose content discovery did not take at
	// its word (sibling lists that disagree between CPUs, an empty list
	// beside a non-empty mask), each with what was done instead. pinbench
	// topology prints them, and the benchmarks' configuration lines carry
	// them into the report.
	Warnings []string

	index map[int]int // CPU ID -> position in CPUs
	rel   []relKey    // per CPU, aligned with CPUs; see Relation

	placeOnce sync.Once      // guards places, computed on first use
	places    map[Class]Pair // never modified after placeOnce
}

// CPU is one online logical CPU (a hardware thread, hwloc's PU).
type CPU struct {
	// ID is the kernel's CPU number.
	ID int
	// Core indexes Topology.Cores.
	Core int
	// CoreID is the kernel's core_id, which is not unique on its own; -1
	// when the kernel gives none.
	CoreID int
	// Package is the kernel's physical_package_id (0 when absent).
	Package int
	// Die is the kernel's die_id, or -1 when the kernel gives none.
	Die int
	// Cluster is the kernel's cluster_id, or -1 when the kernel gives none.
	Cluster int
	// ClusterCPUs is the online CPUs of its cluster (cluster_cpus_list),
	// empty when the kernel gives none.
	ClusterCPUs CPUSet
	// Node is its NUMA node, or -1 when node folders exist but none lists
	// this CPU.
	Node int
	// Caches indexes Topology.Caches, innermost level first.
	Caches []int
}

// Core is a set of SMT siblings: the logical CPUs of one physical core.
type Core struct {
	// ID is the core's index in Topology.Cores.
	ID int
	// CPUs holds its online logical CPUs.
	CPUs CPUSet
	// Package is the physical_package_id of its CPUs.
	Package int
}

// Package is one processor package (socket).
type Package struct {
	// ID is the kernel's physical_package_id.
	ID int
	// CPUs holds its online logical CPUs.
	CPUs CPUSet
}

// Cache is one cache domain: a cache of one level and type and the online
// CPUs sharing it.
type Cache struct {
	// Level is 1 for L1, 2 for L2, and so on.
	Level int
	// Type is "Data", "Instruction" or "Unified" as sysfs writes it.
	Type string
	// Size is in bytes; 0 when unknown.
	Size int64
	// LineSize is coherency_line_size in bytes; 0 when unknown.
	LineSize int
	// CPUs holds the online CPUs sharing it (shared_cpu_list or
	// shared_cpu_map; the CPU's core when the kernel gives neither or an
	// empty set).
	CPUs CPUSet
}

// NUMANode is one NUMA node.
type NUMANode struct {
	// ID is the kernel's node number.
	ID int
	// CPUs holds its online CPUs; empty for a CPU-less (memory-only) node.
	CPUs CPUSet
	// Distances is the node's row of the distance table, one entry per
	// node of Topology.Nodes in the same order; nil when unknown.
	Distances []int
}

// Identity is what the processor says about itself.
type Identity struct {
	// Vendor is the vendor string ("GenuineIntel", "AuthenticAMD"); "" when
	// unknown.
	Vendor string
	// Brand is the brand string (cpuid) or model name (cpuinfo).
	Brand string
	// CacheLine is the cache line size in bytes; 0 when unknown.
	CacheLine int
	// Hypervisor names the hypervisor the machine runs under ("KVM",
	// "VMware", or "unknown" when only the hypervisor flag is set); ""
	// on bare metal or when unknown.
	Hypervisor string
	// Hybrid reports a processor with more than one kind of core (Intel
	// P-cores and E-cores); known on the live machine only.
	Hybrid bool
	// FromCPUID reports that the fields came from the cpuid instruction
	// rather than /proc/cpuinfo.
	FromCPUID bool
}

// CPU returns the online CPU with the given ID.
func (t *Topology) CPU(id int) (CPU, bool) {
	i, ok := t.index[id]
	if !ok {
		return CPU{}, false
	}
	return t.CPUs[i], true
}

// L3Groups returns the number of distinct level-3 cache domains (0 when the
// machine has no L3).
func (t *Topology) L3Groups() int {
	n := 0
	for _, c := range t.Caches {
		if c.Level == 3 && c.Type != "Instruction" {
			n++
		}
	}
	return n
}

// NodeCPUs returns the allowed CPUs of NUMA node node (empty for an unknown
// or CPU-less node), for pinning a thread to a whole node.
func (t *Topology) NodeCPUs(node int) CPUSet {
	for _, n := range t.Nodes {
		if n.ID == node {
			return n.CPUs.Intersect(t.Allowed)
		}
	}
	return CPUSet{}
}

// Distance returns the NUMA distance from node a to node b, or -1 when
// unknown.
func (t *Topology) Distance(a, b int) int {
	ia := slices.IndexFunc(t.Nodes, func(n NUMANode) bool { return n.ID == a })
	ib := slices.IndexFunc(t.Nodes, func(n NUMANode) bool { return n.ID == b })
	if ia < 0 || ib < 0 || ib >= len(t.Nodes[ia].Distances) {
		return -1
	}
	return t.Nodes[ia].Distances[ib]
}

// Hypervisor names the hypervisor the machine runs under, "" on bare metal:
// the cpuid hypervisor vendor on the live machine, "unknown" when only
// /proc/cpuinfo's hypervisor flag says there is one; on a device-tree
// machine (arm64) "QEMU" for QEMU's virt board (see readDeviceTree).
func (t *Topology) Hypervisor() string { return t.Identity.Hypervisor }

// Summary describes the machine in one line: "1 package, 1 node, 1 L3, 2
// cores, 2 CPUs", with "; allowed LIST" added when the process may not use
// every online CPU.
func (t *Topology) Summary() string {
	plural := func(n int, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.Itoa(n) + " " + one + "s"
	}
	l3 := "no L3"
	if n := t.L3Groups(); n > 0 {
		l3 = strconv.Itoa(n) + " L3"
	}
	s := fmt.Sprintf("%s, %s, %s, %s, %s", plural(len(t.Packages), "package"), plural(len(t.Nodes), "node"),
		l3, plural(len(t.Cores), "core"), plural(len(t.CPUs), "CPU"))
	if t.Allowed != t.Online {
		s += "; allowed " + t.Allowed.String()
	}
	return s
}
