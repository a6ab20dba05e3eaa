package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/tune"
)

// cmdTopology is `pinbench topology`; main.go lists it in commands.
var cmdTopology = &command{
	name:    "topology",
	summary: "print the machine's topology and placement classes",
	args:    "[--root DIR] [--json]",
	about: `Prints this machine (or the one captured under --root) as a tree:
packages, NUMA nodes, caches, cores and CPUs, then the allowed CPUs and the
placement classes with their representative pairs. Warnings about
topology input that looks wrong go to stderr.`,
	run: runTopology,
}

// runTopology implements `pinbench topology [--root DIR] [--json]`.
func runTopology(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("topology", stdout)
	root := fs.String("root", "", "read a machine captured under `DIR` (DIR/sys, DIR/proc) instead of the live one")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the tree")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	t, err := discover(*root)
	if err != nil {
		return err
	}
	for _, w := range t.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(t.JSON())
	}
	printTree(stdout, t)
	return nil
}

// discover reads the machine captured under root, or the live one when
// root is "".
func discover(root string) (*affinity.Topology, error) {
	if root != "" {
		return affinity.DiscoverRoot(root)
	}
	return affinity.Discover()
}

// printTree writes the machine as a tree: package, NUMA node, L3, cluster,
// L2, core, logical CPUs; then CPU-less nodes, distances, the allowed set
// and the placement classes.
func printTree(w io.Writer, t *affinity.Topology) {
	fmt.Fprintf(w, "Machine: %s\n", t.Summary())
	if t.Model != "" {
		fmt.Fprintf(w, "Model: %s\n", t.Model)
	}
	if h := t.Hypervisor(); h != "" {
		fmt.Fprintf(w, "Hypervisor: %s (declared topology may not match the host: measure)\n", h)
	}
	if t.Identity.Hybrid {
		fmt.Fprintln(w, "Hybrid: yes (cores of more than one kind)")
	}
	tr := &tree{w: w, t: t, clusterIDs: map[affinity.CPUSet]int{}}
	tr.levels = []level{tr.nodeLevel(), tr.cacheLevel(3), tr.clusterLevel(), tr.cacheLevel(2), tr.coreLevel()}
	for _, p := range t.Packages {
		fmt.Fprintf(w, "Package %d (CPUs %s)\n", p.ID, p.CPUs)
		tr.walk(p.CPUs, 0, 1)
	}
	for _, n := range t.Nodes {
		if n.CPUs.IsEmpty() {
			fmt.Fprintf(w, "NUMA node %d: no CPUs (memory only)\n", n.ID)
		}
	}
	if len(t.Nodes) > 1 {
		printDistances(w, t)
	}
	fmt.Fprintf(w, "Online CPUs: %s\n", t.Online)
	fmt.Fprintf(w, "Allowed CPUs: %s\n", t.Allowed)
	fmt.Fprintln(w, "Placement classes (representative pair):")
	tune.WritePlacements(w, t, "-  (no such pair among the allowed CPUs)")
}

// tree is printTree's walk down a package's CPUs, level by level.
type tree struct {
	w          io.Writer
	t          *affinity.Topology
	levels     []level
	clusterIDs map[affinity.CPUSet]int // a number for each kernel cluster, in order of appearance
}

// level is one level of the tree: the key that groups a CPU at it, and
// the line that shows a group.
type level struct {
	key   func(c affinity.CPU) int // -1: no such level for this CPU
	label func(key int, cpus affinity.CPUSet) string
}

// walk prints cpus grouped by the key of level depth, in order of each
// group's lowest CPU, each group above its own walk one level down; a
// group of CPUs without that level (below the first) goes one level down
// unprinted.
func (tr *tree) walk(cpus affinity.CPUSet, depth, indent int) {
	if depth == len(tr.levels) {
		return
	}
	lv := tr.levels[depth]
	var keys []int
	groups := map[int]affinity.CPUSet{}
	for id := range cpus.All() {
		k := lv.key(tr.cpu(id))
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		s := groups[k]
		s.Add(id)
		groups[k] = s
	}
	for _, k := range keys {
		if k == -1 && depth != 0 {
			tr.walk(groups[k], depth+1, indent) // level absent: skip it
			continue
		}
		fmt.Fprintf(tr.w, "%s%s\n", strings.Repeat("  ", indent), lv.label(k, groups[k]))
		tr.walk(groups[k], depth+1, indent+1)
	}
}

// cpu returns CPU id of the machine.
func (tr *tree) cpu(id int) affinity.CPU { c, _ := tr.t.CPU(id); return c }

// nodeLevel groups by NUMA node.
func (tr *tree) nodeLevel() level {
	return level{
		key: func(c affinity.CPU) int { return c.Node },
		label: func(key int, cpus affinity.CPUSet) string {
			if key < 0 {
				return "No NUMA node lists CPUs " + cpus.String()
			}
			return fmt.Sprintf("NUMA node %d (CPUs %s)", key, nodeCPUs(tr.t, key))
		},
	}
}

// cacheLevel groups by the data or unified cache of level n.
func (tr *tree) cacheLevel(n int) level {
	return level{
		key: func(c affinity.CPU) int {
			for _, ci := range c.Caches {
				if k := tr.t.Caches[ci]; k.Level == n && k.Type != "Instruction" {
					return ci
				}
			}
			return -1
		},
		label: func(key int, cpus affinity.CPUSet) string {
			k := tr.t.Caches[key]
			return fmt.Sprintf("L%d %s (%s%s)", n, k.CPUs, size(k.Size), lineSize(k.LineSize))
		},
	}
}

// clusterLevel groups by kernel cluster, shown when it groups several
// cores below a package.
func (tr *tree) clusterLevel() level {
	return level{
		key: func(c affinity.CPU) int {
			cl := tr.t.ClusterCPUs(c.ID)
			if cl.IsEmpty() {
				return -1
			}
			id, ok := tr.clusterIDs[cl]
			if !ok {
				id = len(tr.clusterIDs)
				tr.clusterIDs[cl] = id
			}
			return id
		},
		label: func(key int, cpus affinity.CPUSet) string {
			c := tr.cpu(cpus.First())
			return fmt.Sprintf("Cluster %d (CPUs %s)", c.Cluster, c.ClusterCPUs)
		},
	}
}

// coreLevel groups by core, listing its logical CPUs.
func (tr *tree) coreLevel() level {
	return level{
		key: func(c affinity.CPU) int { return c.Core },
		label: func(key int, cpus affinity.CPUSet) string {
			core := tr.t.Cores[key]
			var pus []string
			for id := range core.CPUs.All() {
				pus = append(pus, fmt.Sprintf("PU %d", id))
			}
			id := ""
			if c := tr.cpu(core.CPUs.First()); c.CoreID >= 0 {
				id = fmt.Sprintf(" (core_id %d)", c.CoreID)
			}
			return fmt.Sprintf("Core %d%s: %s", key, id, strings.Join(pus, ", "))
		},
	}
}

// printDistances prints the NUMA distance table.
func printDistances(w io.Writer, t *affinity.Topology) {
	fmt.Fprintln(w, "NUMA distances:")
	fmt.Fprintf(w, "  %6s", "")
	for _, n := range t.Nodes {
		fmt.Fprintf(w, " %5d", n.ID)
	}
	fmt.Fprintln(w)
	for _, a := range t.Nodes {
		fmt.Fprintf(w, "  %6d", a.ID)
		for _, b := range t.Nodes {
			if d := t.Distance(a.ID, b.ID); d >= 0 {
				fmt.Fprintf(w, " %5d", d)
			} else {
				fmt.Fprintf(w, " %5s", "?")
			}
		}
		fmt.Fprintln(w)
	}
}

// nodeCPUs returns all online CPUs of node id (NodeCPUs gives the allowed
// ones only).
func nodeCPUs(t *affinity.Topology, id int) affinity.CPUSet {
	i := slices.IndexFunc(t.Nodes, func(n affinity.NUMANode) bool { return n.ID == id })
	if i < 0 {
		return affinity.CPUSet{}
	}
	return t.Nodes[i].CPUs
}

func size(b int64) string {
	switch {
	case b == 0:
		return "size unknown"
	case b%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", b>>20)
	case b%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", b>>10)
	}
	return fmt.Sprintf("%d B", b)
}

func lineSize(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", line %d B", n)
}
