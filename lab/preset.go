package lab

import (
	"fmt"
	"slices"
	"strings"
)

// DefaultCPU is the CPU model the lab gives x86 guests: an Intel model,
// under which the guest kernel sees SMT siblings, dies and an L3 per die
// (under -cpu max, which is AMD under TCG, it saw neither SMT nor dies).
const DefaultCPU = "Skylake-Server"

// DefaultARMCPU is the CPU model the lab gives arm64 guests (QEMU's virt
// board): their kernel reads sockets, clusters, cores and threads from the
// device tree's cpu-map, and sees only each CPU's own L1 caches.
const DefaultARMCPU = "cortex-a57"

// Preset is a named guest topology.
type Preset struct {
	// Name is what scripts/lab.sh takes ("numa2").
	Name string
	// Arch is the guest's architecture as GOARCH spells it: "amd64" (a
	// PC under -cpu Skylake-Server) or "arm64" (QEMU's virt board under
	// -cpu cortex-a57).
	Arch string
	// What says which classes it covers and how.
	What string
	// SMP is the -smp value.
	SMP string
	// Nodes holds each NUMA node's CPUs as QEMU's cpus= writes them
	// ("0-3"); nil for a guest without declared nodes.
	Nodes []string
	// MemMiB is the guest's memory, split evenly between the nodes.
	MemMiB int
	// Small presets get a tune run in the committed results and in the
	// default --tune limits; big ones only topology and smoke by default.
	Small bool
}

// Presets returns the lab's presets. Together they cover every placement
// class at least once.
func Presets() []Preset {
	return []Preset{
		{Name: "numa2", Arch: "amd64", What: "2 sockets of 1 core, one NUMA node each: remote", SMP: "2,sockets=2,dies=1,cores=1,threads=1", Nodes: []string{"0", "1"}, MemMiB: 1024, Small: true},
		{Name: "smt2", Arch: "amd64", What: "1 core with 2 threads: smt", SMP: "2,sockets=1,dies=1,cores=1,threads=2", MemMiB: 1024, Small: true},
		{Name: "llc2", Arch: "amd64", What: "2 cores of one die sharing its L3: llc", SMP: "2,sockets=1,dies=1,cores=2,threads=1", MemMiB: 1024, Small: true},
		{Name: "node2", Arch: "amd64", What: "1 socket of 2 dies (an L3 each) in one NUMA node: node", SMP: "2,sockets=1,dies=2,cores=1,threads=1", MemMiB: 1024, Small: true},
		// QEMU 7.2's x86 machines reject -smp clusters= and give the L2
		// to one core's threads only, so l2 needs the arm64 virt board,
		// whose device tree declares clusters.
		{Name: "l2", Arch: "arm64", What: "an arm64 guest of 2 clusters of 2 cores (kernel clusters, no shared cache): l2, and node between the clusters",
			SMP: "4,sockets=1,clusters=2,cores=2,threads=1", MemMiB: 1024, Small: true},
		{Name: "big16", Arch: "amd64", What: "2 sockets x 2 dies x 2 cores x 2 threads, one node per socket: every class but l2, 16 vCPUs oversubscribed on the host",
			SMP: "16,sockets=2,dies=2,cores=2,threads=2", Nodes: []string{"0-7", "8-15"}, MemMiB: 2048},
	}
}

// LookupPreset returns the preset called name.
func LookupPreset(name string) (Preset, error) {
	ps := Presets()
	i := slices.IndexFunc(ps, func(p Preset) bool { return p.Name == name })
	if i < 0 {
		var names []string
		for _, p := range ps {
			names = append(names, p.Name)
		}
		return Preset{}, fmt.Errorf("lab: no preset %q (presets: %s, or custom)", name, strings.Join(names, ", "))
	}
	return ps[i], nil
}

// Args returns the preset's QEMU arguments: the guest's -M (virt for
// arm64), its -cpu, -smp, -m and, with nodes, one memory backend and -numa
// node per node.
func (p Preset) Args() []string {
	g, err := GuestFor(p.Arch)
	if err != nil {
		panic("lab: preset " + p.Name + ": " + err.Error())
	}
	var args []string
	if g.Machine != "" {
		args = append(args, "-M", g.Machine)
	}
	args = append(args, "-cpu", g.CPU, "-smp", p.SMP, "-m", fmt.Sprintf("%dM", p.MemMiB))
	for i, cpus := range p.Nodes {
		args = append(args,
			"-object", fmt.Sprintf("memory-backend-ram,id=m%d,size=%dM", i, p.MemMiB/len(p.Nodes)),
			"-numa", fmt.Sprintf("node,nodeid=%d,cpus=%s,memdev=m%d", i, cpus, i))
	}
	return args
}
