package affinity

// TopologyJSON is the JSON form of a Topology, as `pinbench topology --json`
// prints it and the tuning run writes it to topology.json. The counts match
// the columns of shared/topologies/expected.tsv. CPU sets are in the Linux
// list form ("0-3,8").
type TopologyJSON struct {
	// Source is "live" or the capture's root folder.
	Source string `json:"source"`
	// Summary is Topology.Summary.
	Summary string `json:"summary"`
	// Model is the CPU model name.
	Model string `json:"model"`
	// Identity is what the processor says about itself.
	Identity IdentityJSON `json:"identity"`
	// PUs counts online logical CPUs.
	PUs int `json:"pus"`
	// Cores counts cores (sets of SMT siblings).
	Cores int `json:"cores"`
	// Packages counts packages.
	Packages int `json:"packages"`
	// L3Groups counts distinct L3 domains (0 without L3).
	L3Groups int `json:"l3_groups"`
	// NUMANodes counts NUMA nodes, CPU-less ones included.
	NUMANodes int `json:"numa_nodes"`
	// Online is the online CPU set.
	Online string `json:"online"`
	// Allowed is the set of CPUs the process may use.
	Allowed string `json:"allowed"`
	// CPUs has one entry per online logical CPU, ascending.
	CPUs []CPUJSON `json:"cpus"`
	// Nodes has one entry per NUMA node, ascending.
	Nodes []NodeJSON `json:"nodes"`
	// Placements maps each class present to its representative pair.
	Placements map[Class][2]int `json:"placements"`
	// Warnings are Topology.Warnings: sysfs files not taken at their word.
	Warnings []string `json:"warnings,omitempty"`
}

// IdentityJSON is the JSON form of Identity.
type IdentityJSON struct {
	Vendor     string `json:"vendor,omitempty"`     // Identity.Vendor
	Brand      string `json:"brand,omitempty"`      // Identity.Brand
	CacheLine  int    `json:"cache_line,omitempty"` // Identity.CacheLine, bytes
	Hypervisor string `json:"hypervisor,omitempty"` // Identity.Hypervisor; absent on bare metal
	Hybrid     bool   `json:"hybrid,omitempty"`     // Identity.Hybrid
	FromCPUID  bool   `json:"from_cpuid,omitempty"` // Identity.FromCPUID
}

// CPUJSON is one logical CPU in TopologyJSON.
type CPUJSON struct {
	ID int `json:"id"` // the kernel's CPU number
	// Core indexes the cores (ordered by lowest CPU), not the kernel's
	// core_id.
	Core int `json:"core"`
	// Package is the kernel's physical_package_id.
	Package int `json:"package"`
	// Die is the kernel's die_id, -1 when the kernel gives none.
	Die int `json:"die"`
	// Cluster is the kernel's cluster_id, -1 when the kernel gives none.
	Cluster int `json:"cluster"`
	// Node is -1 when no NUMA node lists the CPU.
	Node int `json:"node"`
	// Caches lists the CPU's caches, innermost first.
	Caches []CacheJSON `json:"caches"`
}

// CacheJSON is one cache of a CPU in TopologyJSON.
type CacheJSON struct {
	Level    int    `json:"level"`               // 1, 2, 3, ...
	Type     string `json:"type"`                // Data, Instruction or Unified
	Size     int64  `json:"size,omitempty"`      // bytes; absent when unknown
	LineSize int    `json:"line_size,omitempty"` // bytes; absent when unknown
	CPUs     string `json:"cpus"`                // online CPUs sharing it, list form
}

// NodeJSON is one NUMA node in TopologyJSON.
type NodeJSON struct {
	ID        int    `json:"id"`                  // the kernel's node number
	CPUs      string `json:"cpus"`                // online CPUs, list form; "" for a CPU-less node
	Distances []int  `json:"distances,omitempty"` // the distance row, in the order of nodes
}

// JSON returns the JSON form of t, ready for encoding/json.
func (t *Topology) JSON() TopologyJSON {
	j := TopologyJSON{
		Source:  "live",
		Summary: t.Summary(),
		Model:   t.Model,
		Identity: IdentityJSON{
			Vendor: t.Identity.Vendor, Brand: t.Identity.Brand, CacheLine: t.Identity.CacheLine,
			Hypervisor: t.Identity.Hypervisor, Hybrid: t.Identity.Hybrid, FromCPUID: t.Identity.FromCPUID,
		},
		PUs:        len(t.CPUs),
		Cores:      len(t.Cores),
		Packages:   len(t.Packages),
		L3Groups:   t.L3Groups(),
		NUMANodes:  len(t.Nodes),
		Online:     t.Online.String(),
		Allowed:    t.Allowed.String(),
		CPUs:       make([]CPUJSON, 0, len(t.CPUs)),
		Nodes:      make([]NodeJSON, 0, len(t.Nodes)),
		Placements: map[Class][2]int{},
		Warnings:   t.Warnings,
	}
	if t.Root != "" {
		j.Source = t.Root
	}
	for _, c := range t.CPUs {
		cj := CPUJSON{ID: c.ID, Core: c.Core, Package: c.Package, Die: c.Die, Cluster: c.Cluster, Node: c.Node, Caches: []CacheJSON{}}
		for _, ci := range c.Caches {
			k := t.Caches[ci]
			cj.Caches = append(cj.Caches, CacheJSON{Level: k.Level, Type: k.Type, Size: k.Size, LineSize: k.LineSize, CPUs: k.CPUs.String()})
		}
		j.CPUs = append(j.CPUs, cj)
	}
	for _, n := range t.Nodes {
		j.Nodes = append(j.Nodes, NodeJSON{ID: n.ID, CPUs: n.CPUs.String(), Distances: n.Distances})
	}
	for c, p := range t.Placements() {
		j.Placements[c] = [2]int{p.A, p.B}
	}
	return j
}
