package lab

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pinbench/pinbench/affinity"
)

// Decl is the topology a QEMU command line declares: the machine's
// architecture, the -smp shape, the NUMA nodes with their CPUs, and the CPU
// model. It says what the guest kernel should show under TCG: on x86 with
// an Intel CPU model such as Skylake-Server, an L2 per core, an L3 per die
// and SMT siblings per core; on arm64's virt board (device tree), the
// sockets, clusters, cores and threads of its cpu-map and only each CPU's
// own L1 caches, so that no two cores share a cache and a cluster of
// several cores (fewer than the package) is what makes them l2.
type Decl struct {
	// Arch is the guest's architecture as GOARCH spells it: "arm64" for
	// QEMU's virt board (-M virt), "amd64" for its PCs (no -M, pc, q35).
	Arch     string
	CPUs     int // logical CPUs (-smp N)
	Sockets  int // packages
	Dies     int // dies per socket (each with its own L3)
	Clusters int // clusters per die
	Cores    int // cores per cluster
	Threads  int // threads per core
	// Nodes holds each NUMA node's CPU indexes, by node id; nil when the
	// command line declares no node (the guest then has one node 0).
	Nodes [][]int
	// Model is the -cpu model ("" when the command line gives none).
	Model string
}

// ParseDecl reads the topology from QEMU arguments: -M (or -machine),
// -smp, -numa node (with cpus= and nodeid=) and -cpu; other arguments are
// ignored. Values -smp leaves out are filled as QEMU 7.2 fills them (cores
// are preferred over sockets). A node without cpus=, a CPU in two nodes or
// in none, an -smp whose parts do not multiply to its CPU count, a machine
// the lab does not know, and a part of -smp the machine rejects (clusters
// on x86, dies on arm64's virt) are errors: the lab needs an unambiguous
// declaration to check the guest against.
func ParseDecl(args []string) (Decl, error) {
	arch, err := ArgsArch(args)
	if err != nil {
		return Decl{}, err
	}
	d := Decl{Arch: arch}
	var smp string
	var nodes []declNode
	for i := 0; i < len(args); i++ {
		a := args[i]
		opt := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if opt == a || !slices.Contains([]string{"smp", "numa", "cpu"}, opt) {
			continue
		}
		if i+1 >= len(args) {
			return Decl{}, fmt.Errorf("lab: %s needs a value", a)
		}
		i++
		v := args[i]
		switch opt {
		case "smp":
			smp = v
		case "cpu":
			d.Model, _, _ = strings.Cut(v, ",")
		case "numa":
			n, isNode, err := parseNumaNode(v, len(nodes))
			if err != nil {
				return Decl{}, err
			}
			if isNode {
				nodes = append(nodes, n)
			}
		}
	}
	if err := d.setSMP(smp); err != nil {
		return Decl{}, err
	}
	if len(nodes) > 0 {
		if err := d.setNodes(nodes); err != nil {
			return Decl{}, err
		}
	}
	return d, nil
}

// declNode is one -numa node argument: its node id and CPU indexes.
type declNode struct {
	id   int
	cpus []int
}

// parseNumaNode reads the value of one -numa argument, the index'th node
// declared so far (its id when nodeid= is absent). It reports false for a
// -numa other than node (dist, cpu, hmat: not part of what is checked).
func parseNumaNode(v string, index int) (declNode, bool, error) {
	kind, rest, _ := strings.Cut(v, ",")
	if kind != "node" {
		return declNode{}, false, nil
	}
	n := declNode{id: index}
	haveCPUs := false
	for _, kv := range strings.Split(rest, ",") {
		k, val, _ := strings.Cut(kv, "=")
		switch k {
		case "nodeid":
			id, err := strconv.Atoi(val)
			if err != nil || id < 0 {
				return n, false, fmt.Errorf("lab: -numa %s: bad nodeid %q", v, val)
			}
			n.id = id
		case "cpus":
			lo, hi, isRange := strings.Cut(val, "-")
			a, err1 := strconv.Atoi(lo)
			b := a
			var err2 error
			if isRange {
				b, err2 = strconv.Atoi(hi)
			}
			if err1 != nil || err2 != nil || a < 0 || b < a {
				return n, false, fmt.Errorf("lab: -numa %s: bad cpus %q (want N or A-B)", v, val)
			}
			for c := a; c <= b; c++ {
				n.cpus = append(n.cpus, c)
			}
			haveCPUs = true
		}
	}
	if !haveCPUs {
		return n, false, fmt.Errorf("lab: -numa %s: no cpus= (the lab needs every node's CPUs declared)", v)
	}
	return n, true, nil
}

// setSMP fills d's counts from the -smp value and checks them against the
// machine, which rejects some parts.
func (d *Decl) setSMP(smp string) error {
	if smp == "" {
		return fmt.Errorf("lab: no -smp argument (the lab needs the topology declared)")
	}
	if err := d.parseSMP(smp); err != nil {
		return err
	}
	switch {
	case d.Arch == "amd64" && d.Clusters > 1:
		return fmt.Errorf("lab: -smp %s: QEMU's x86 machines reject clusters= (clusters need -M virt, an arm64 guest)", smp)
	case d.Arch == "arm64" && d.Dies > 1:
		return fmt.Errorf("lab: -smp %s: QEMU's virt machine rejects dies= (it has sockets, clusters, cores and threads)", smp)
	}
	return nil
}

// setNodes fills d.Nodes from the declared nodes, after d's CPU count is
// known: every CPU in exactly one node, and node ids 0 to n-1 each once.
func (d *Decl) setNodes(nodes []declNode) error {
	seen := map[int]int{}
	maxID := 0
	for _, n := range nodes {
		maxID = max(maxID, n.id)
	}
	d.Nodes = make([][]int, maxID+1)
	for _, n := range nodes {
		if d.Nodes[n.id] != nil {
			return fmt.Errorf("lab: NUMA node %d declared twice", n.id)
		}
		for _, c := range n.cpus {
			if c >= d.CPUs {
				return fmt.Errorf("lab: NUMA node %d lists CPU %d, but -smp has %d CPUs", n.id, c, d.CPUs)
			}
			if o, ok := seen[c]; ok {
				return fmt.Errorf("lab: CPU %d is in NUMA nodes %d and %d", c, o, n.id)
			}
			seen[c] = n.id
		}
		d.Nodes[n.id] = slices.Clone(n.cpus)
	}
	for id, n := range d.Nodes {
		if n == nil {
			return fmt.Errorf("lab: NUMA node ids skip %d (declare nodes 0 to %d)", id, len(d.Nodes)-1)
		}
	}
	for c := range d.CPUs {
		if _, ok := seen[c]; !ok {
			return fmt.Errorf("lab: CPU %d is in no NUMA node", c)
		}
	}
	return nil
}

// machineArch returns the architecture of a -M value: the board's name is
// its first comma-separated part (or its type= part).
func machineArch(v string) (string, error) {
	name := ""
	for i, kv := range strings.Split(v, ",") {
		if t, ok := strings.CutPrefix(kv, "type="); ok {
			name = t
		} else if i == 0 && !strings.Contains(kv, "=") {
			name = kv
		}
	}
	switch {
	case name == "virt" || strings.HasPrefix(name, "virt-"):
		return "arm64", nil
	case name == "pc" || name == "q35" || strings.HasPrefix(name, "pc-"):
		return "amd64", nil
	}
	return "", fmt.Errorf("lab: -M %s: the lab knows QEMU's PCs (pc, q35: an amd64 guest) and its virt board (virt: an arm64 guest)", v)
}

// parseSMP fills the shape from an -smp value.
func (d *Decl) parseSMP(v string) error {
	parts := map[string]int{}
	for i, kv := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(kv, "=")
		if !ok && i == 0 {
			k, val = "cpus", kv
		}
		n, err := strconv.Atoi(val)
		if err != nil || n < 1 {
			return fmt.Errorf("lab: -smp %s: bad %s %q", v, k, val)
		}
		switch k {
		case "cpus", "sockets", "dies", "clusters", "cores", "threads", "maxcpus":
			parts[k] = n
		default:
			return fmt.Errorf("lab: -smp %s: unknown part %q", v, k)
		}
	}
	get := func(k string, def int) int {
		if n, ok := parts[k]; ok {
			return n
		}
		return def
	}
	d.Dies, d.Clusters, d.Threads = get("dies", 1), get("clusters", 1), get("threads", 1)
	cpus, sockets, cores := get("cpus", 0), get("sockets", 0), get("cores", 0)
	switch {
	case cpus == 0:
		sockets, cores = max(sockets, 1), max(cores, 1)
		cpus = sockets * d.Dies * d.Clusters * cores * d.Threads
	case sockets == 0 && cores == 0:
		sockets = 1
		cores = cpus / (d.Dies * d.Clusters * d.Threads)
	case sockets == 0:
		sockets = cpus / (d.Dies * d.Clusters * cores * d.Threads)
	case cores == 0:
		cores = cpus / (sockets * d.Dies * d.Clusters * d.Threads)
	}
	d.CPUs, d.Sockets, d.Cores = cpus, sockets, cores
	if prod := sockets * d.Dies * d.Clusters * cores * d.Threads; prod != cpus || cores < 1 || sockets < 1 {
		return fmt.Errorf("lab: -smp %s: sockets x dies x clusters x cores x threads = %d, not the %d CPUs", v, prod, cpus)
	}
	if m, ok := parts["maxcpus"]; ok && m != cpus {
		return fmt.Errorf("lab: -smp %s: maxcpus differs from cpus (hot-pluggable CPUs are not part of the lab)", v)
	}
	return nil
}

// Place is where one CPU index sits in the declared shape.
type Place struct {
	Socket, Die, Cluster, Core, Thread int
	Node                               int // 0 when no node is declared
}

// Place returns where CPU index cpu sits: QEMU numbers CPUs thread first,
// then core, cluster, die and socket.
func (d Decl) Place(cpu int) Place {
	p := Place{}
	for id, n := range d.Nodes {
		if slices.Contains(n, cpu) {
			p.Node = id
		}
	}
	p.Thread = cpu % d.Threads
	cpu /= d.Threads
	p.Core = cpu % d.Cores
	cpu /= d.Cores
	p.Cluster = cpu % d.Clusters
	cpu /= d.Clusters
	p.Die = cpu % d.Dies
	p.Socket = cpu / d.Dies
	return p
}

// dieL3 reports whether each die has an L3 its cores share: on x86 under
// an Intel model it does; arm64's virt board declares no cache beyond L1.
func (d Decl) dieL3() bool { return d.Arch != "arm64" }

// Relation returns the placement class of CPUs a and b as the declaration
// implies it: the same core is smt, the same cluster (when dies have
// several) l2, the same die llc when dies have an L3 (x86), the same node
// node, else remote.
func (d Decl) Relation(a, b int) affinity.Class {
	pa, pb := d.Place(a), d.Place(b)
	sameDie := pa.Socket == pb.Socket && pa.Die == pb.Die
	switch {
	case a == b:
		return affinity.SameCPU
	case sameDie && pa.Cluster == pb.Cluster && pa.Core == pb.Core:
		return affinity.SMT
	case sameDie && pa.Cluster == pb.Cluster && d.Clusters > 1:
		return affinity.L2
	case sameDie && d.dieL3():
		return affinity.LLC
	case pa.Node == pb.Node:
		return affinity.Node
	}
	return affinity.Remote
}

// Classes returns the placement classes the declaration implies, innermost
// first: every class some pair of its CPUs has.
func (d Decl) Classes() []affinity.Class {
	has := map[affinity.Class]bool{}
	for a := range d.CPUs {
		for b := a; b < d.CPUs; b++ {
			has[d.Relation(a, b)] = true
		}
	}
	var out []affinity.Class
	for _, c := range affinity.Classes() {
		if has[c] {
			out = append(out, c)
		}
	}
	return out
}

// Counts is what the guest's topology.json should count.
type Counts struct {
	PUs, Cores, Packages, L3Groups, NUMANodes int
}

// Counts returns the counts the declaration implies.
func (d Decl) Counts() Counts {
	c := Counts{
		PUs:       d.CPUs,
		Cores:     d.Sockets * d.Dies * d.Clusters * d.Cores,
		Packages:  d.Sockets,
		L3Groups:  d.Sockets * d.Dies,
		NUMANodes: max(len(d.Nodes), 1),
	}
	if !d.dieL3() {
		c.L3Groups = 0
	}
	return c
}

// String describes the shape in one line.
func (d Decl) String() string {
	s := fmt.Sprintf("%d CPUs: %d sockets x %d dies x %d clusters x %d cores x %d threads, %d nodes",
		d.CPUs, d.Sockets, d.Dies, d.Clusters, d.Cores, d.Threads, max(len(d.Nodes), 1))
	if d.Arch != "amd64" {
		s += ", " + d.Arch + " (-M virt)"
	}
	if d.Model != "" {
		s += ", -cpu " + d.Model
	}
	return s
}
