package lab

import (
	"fmt"
	"slices"
	"strings"
)

// DefaultCPU is the CPU model the lab gives guests: an Intel model, under
// which the guest kernel sees SMT siblings, dies and an L3 per die (under
// -cpu max, which is AMD under TCG, it saw neither SMT nor dies).
const DefaultCPU = "Skylake-Server"

// Preset is a named guest topology.
type Preset struct {
	// Name is what scripts/lab.sh takes ("numa2").
	Name string
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
	// Unsupported, when set, says why this QEMU cannot build the preset;
	// lab.sh refuses it with that reason.
	Unsupported string
}

// Presets returns the lab's presets. Together they cover every placement
// class at least once.
func Presets() []Preset {
	return []Preset{
		{Name: "numa2", What: "2 sockets of 1 core, one NUMA node each: remote", SMP: "2,sockets=2,dies=1,cores=1,threads=1", Nodes: []string{"0", "1"}, MemMiB: 1024, Small: true},
		{Name: "smt2", What: "1 core with 2 threads: smt", SMP: "2,sockets=1,dies=1,cores=1,threads=2", MemMiB: 1024, Small: true},
		{Name: "llc2", What: "2 cores of one die sharing its L3: llc", SMP: "2,sockets=1,dies=1,cores=2,threads=1", MemMiB: 1024, Small: true},
		{Name: "node2", What: "1 socket of 2 dies (an L3 each) in one NUMA node: node", SMP: "2,sockets=1,dies=2,cores=1,threads=1", MemMiB: 1024, Small: true},
		{Name: "l2", What: "2 clusters of 2 cores, each cluster sharing an L2: l2",
			SMP: "4,sockets=1,dies=1,clusters=2,cores=2,threads=1", MemMiB: 1024, Small: true,
			Unsupported: "QEMU's x86 machines reject -smp clusters= (\"clusters not supported by this machine's CPU topology\"), and QEMU 7.2's CPUID gives the L2 to the threads of one core only, so no two x86 cores can share an L2 or a kernel cluster in a guest; the l2 class runs on captures and fixtures only"},
		{Name: "big16", What: "2 sockets x 2 dies x 2 cores x 2 threads, one node per socket: every class but l2, 16 vCPUs oversubscribed on the host",
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

// Args returns the preset's QEMU arguments: -cpu, -smp, -m and, with
// nodes, one memory backend and -numa node per node.
func (p Preset) Args() []string {
	args := []string{"-cpu", DefaultCPU, "-smp", p.SMP, "-m", fmt.Sprintf("%dM", p.MemMiB)}
	for i, cpus := range p.Nodes {
		args = append(args,
			"-object", fmt.Sprintf("memory-backend-ram,id=m%d,size=%dM", i, p.MemMiB/len(p.Nodes)),
			"-numa", fmt.Sprintf("node,nodeid=%d,cpus=%s,memdev=m%d", i, cpus, i))
	}
	return args
}
