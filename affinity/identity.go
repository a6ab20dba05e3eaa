package affinity

import (
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Machine identity: the names a machine's results are filed and compared
// under, and the two settings of the machine (frequency governor, SMT)
// that every results file records beside its topology. Each reads only
// the Topology (Governor also sysfs under its Root), so any goroutine may
// call them.

var nonID = regexp.MustCompile(`[^a-z0-9]+`)

// brandNoise are words of CPU brand strings that say nothing about the part.
var brandNoise = regexp.MustCompile(`(?i)\b(\(r\)|\(tm\)|cpu|processor|@ [0-9.]+ ?ghz|[0-9]+-core)\b|\(r\)|\(tm\)`)

// MachineID names this machine in results/<machine-id>/: vendor, model,
// package and NUMA node counts when above one, core and CPU counts, "vm"
// under a hypervisor, and a short hash of the topology and CPU identity
// (see TopologyHash), in lower case with dashes, for example
// "intel-xeon-platinum-8480-16c16t-vm-3f9a1c" or
// "intel-xeon-gold-2p2n32c64t-07be44". Two machines of one model and
// count with other cache sizes or sharing get different ids. It depends
// only on what discovery reports of the whole machine (not on the CPUs
// this process may use), so every run on one machine gets the same id.
func (t *Topology) MachineID() string {
	parts := []string{}
	if vendor := t.vendorID(); vendor != "" {
		parts = append(parts, vendor)
	}
	// Packages and nodes when there are several: a 2-socket, 2-node
	// machine and a 1-socket one with the same cores and threads are
	// different machines (the lab's numa2 and llc2 guests had one id).
	shape := ""
	if n := len(t.Packages); n > 1 {
		shape += fmt.Sprintf("%dp", n)
	}
	if n := len(t.Nodes); n > 1 {
		shape += fmt.Sprintf("%dn", n)
	}
	parts = append(parts, t.modelID(), fmt.Sprintf("%s%dc%dt", shape, len(t.Cores), len(t.CPUs)))
	if t.Hypervisor() != "" {
		parts = append(parts, "vm")
	}
	parts = append(parts, t.TopologyHash())
	return strings.Join(parts, "-")
}

// vendorID is the machine id's vendor part: intel, amd, or cpuid's words
// for the vendor ("Arm Limited" on arm64) in lower case with dashes.
func (t *Topology) vendorID() string {
	vendor := strings.ToLower(t.Identity.Vendor)
	switch vendor {
	case "genuineintel":
		vendor = "intel"
	case "authenticamd":
		vendor = "amd"
	}
	return strings.Trim(nonID.ReplaceAllString(vendor, "-"), "-")
}

// modelID is the machine id's model part: the model (or the brand
// string) without its noise words and vendor prefix, in lower case with
// dashes; "unknown-cpu" when nothing is left.
func (t *Topology) modelID() string {
	model := t.Model
	if model == "" {
		model = t.Identity.Brand
	}
	model = brandNoise.ReplaceAllString(model, " ")
	model = strings.Trim(nonID.ReplaceAllString(strings.ToLower(model), "-"), "-")
	for _, w := range []string{"intel-", "amd-"} {
		model = strings.TrimPrefix(model, w)
	}
	if model == "" {
		model = "unknown-cpu"
	}
	return model
}

// TopologyHash is six hex digits of an FNV-1a hash of what tells machines
// of one model apart: the vendor and brand strings, the hypervisor, the
// counts of CPUs, cores, packages and NUMA nodes, and each cache's level,
// type, size, line size and number of CPUs sharing it. It ignores the
// allowed CPU set, so a restricted run keeps the machine's id.
func (t *Topology) TopologyHash() string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s|%s|%s|%s|cpus %d cores %d packages %d nodes %d|", t.Identity.Vendor, t.Identity.Brand, t.Model, t.Hypervisor(), len(t.CPUs), len(t.Cores), len(t.Packages), len(t.Nodes))
	for _, c := range t.Caches {
		fmt.Fprintf(h, "L%d %s %d %d x%d|", c.Level, c.Type, c.Size, c.LineSize, c.CPUs.Count())
	}
	return fmt.Sprintf("%06x", h.Sum32()&0xffffff)
}

// Governor returns the cpufreq scaling governor of the first allowed CPU,
// read now from sysfs (under Root for a capture), "unknown" when the
// kernel has no cpufreq driver (typical in virtual machines).
func (t *Topology) Governor() string {
	cpus := t.Allowed.CPUs()
	if len(cpus) == 0 {
		return "unknown"
	}
	root := t.Root
	if root == "" {
		root = "/"
	}
	b, err := os.ReadFile(filepath.Join(root, "sys/devices/system/cpu", fmt.Sprintf("cpu%d", cpus[0]), "cpufreq/scaling_governor"))
	if err != nil {
		return "unknown"
	}
	if g := strings.TrimSpace(strings.TrimRight(string(b), "\x00")); g != "" {
		return g
	}
	return "unknown"
}

// SMTState returns "on" when some core has more than one online logical CPU
// and "off" otherwise (SMT disabled, or a machine without it).
func (t *Topology) SMTState() string {
	for _, c := range t.Cores {
		if c.CPUs.Count() > 1 {
			return "on"
		}
	}
	return "off"
}
