package bench

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pinbench/pinbench/affinity"
)

// pinMode says how an iothread of a benchmark is pinned: the `pin=` key of
// BenchmarkHandoff/via=aio and BenchmarkSchedule.
type pinMode string

const (
	// pinCPU pins each iothread to one CPU of the placement's pair (or
	// group): the kernel has no choice.
	pinCPU pinMode = "cpu"
	// pinNode pins each iothread to every allowed CPU of a NUMA node, as
	// `numactl --cpunodebind`, a node-wide cpuset or QEMU iothreads in a
	// node's cgroup do: the kernel picks the CPU, and may put both on SMT
	// siblings or on one CPU. place=node puts every iothread in one node,
	// place=remote spreads them over two or more nodes.
	pinNode pinMode = "node"
)

// nodeClasses are the placement classes pin=node runs at.
var nodeClasses = []affinity.Class{affinity.Node, affinity.Remote}

// nodeNote says what pin=node means on this machine, for the configuration
// line "pin-node": which node sets the iothreads get, and, on a machine
// with one node (with allowed CPUs), that pin=node is the whole allowed
// set there.
func nodeNote(t *affinity.Topology) string {
	nodes := allowedNodes(t)
	var parts []string
	for _, n := range nodes {
		parts = append(parts, fmt.Sprintf("node %d = %s", n, t.NodeCPUs(n)))
	}
	s := strings.Join(parts, ", ")
	if len(nodes) == 1 {
		s += " (one node with allowed CPUs: pin=node pins each iothread to the whole allowed set, and place=remote cannot run)"
	}
	return s
}

// allowedNodes returns the nodes that hold allowed CPUs, ascending.
func allowedNodes(t *affinity.Topology) []int {
	var nodes []int
	for _, n := range t.Nodes {
		if !t.NodeCPUs(n.ID).IsEmpty() {
			nodes = append(nodes, n.ID)
		}
	}
	return nodes
}

// nodeSets returns the CPU sets of n iothreads pinned per node at class
// (affinity.Node: all in one node; affinity.Remote: round-robin over the
// nodes, starting with the two of the class's representative pair), or why
// the class cannot run here. spin says the iothreads busy-wait, so each
// node used needs at least as many allowed CPUs as iothreads it holds,
// plus none: the kernel may still time-share them, which the cpus-seen
// figures then show.
func nodeSets(t *affinity.Topology, class affinity.Class, n int, spin bool) ([]affinity.CPUSet, string) {
	order, skip := nodeOrder(t, class)
	if skip != "" {
		return nil, skip
	}
	sets := make([]affinity.CPUSet, n)
	per := map[int]int{}
	for i := range sets {
		node := order[i%len(order)]
		sets[i] = t.NodeCPUs(node)
		per[node]++
	}
	if spin {
		for node, k := range per {
			if c := t.NodeCPUs(node).Count(); c < k {
				return nil, fmt.Sprintf("%d busy-waiting iothreads pinned to node %d, which has %d allowed CPU(s): they would measure the scheduler's time slice", k, node, c)
			}
		}
	}
	return sets, ""
}

// nodeOrder returns the nodes the iothreads of class take in turn, or why
// the class cannot run pinned per node here.
func nodeOrder(t *affinity.Topology, class affinity.Class) ([]int, string) {
	nodes := allowedNodes(t)
	if len(nodes) == 0 {
		return nil, "no NUMA node holds an allowed CPU"
	}
	switch class {
	case affinity.Node:
		// The node of the representative node pair when the class exists
		// (a node with CPUs that share no cache), otherwise the node with
		// the most allowed CPUs: on a one-node machine, the whole set.
		first := nodes[0]
		if p, ok := t.Pair(affinity.Node); ok {
			first = cpuNode(t, p.A)
		} else {
			for _, id := range nodes {
				if t.NodeCPUs(id).Count() > t.NodeCPUs(first).Count() {
					first = id
				}
			}
		}
		return []int{first}, ""
	case affinity.Remote:
		if len(nodes) < 2 {
			return nil, fmt.Sprintf("pin=node at place=remote needs two NUMA nodes with allowed CPUs; this machine has %d (%s)", len(nodes), nodeNote(t))
		}
		if p, ok := t.Pair(affinity.Remote); ok {
			a, b := cpuNode(t, p.A), cpuNode(t, p.B)
			return append([]int{a, b}, slices.DeleteFunc(slices.Clone(nodes), func(x int) bool { return x == a || x == b })...), ""
		}
		return nodes, ""
	}
	return nil, fmt.Sprintf("pin=node runs at place=node and place=remote, not %s", class)
}

// cpuNode returns the NUMA node of CPU cpu (-1 when unknown).
func cpuNode(t *affinity.Topology, cpu int) int {
	if c, ok := t.CPU(cpu); ok {
		return c.Node
	}
	return -1
}

// PlanSkip is the skip message of a benchmark that would run, in the test
// binary's -plan mode (see pinbench tune --plan).
const PlanSkip = "plan: would run"
