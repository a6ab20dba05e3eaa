package bench

import (
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"

	"github.com/pinbench/pinbench/affinity"
)

// ConfigLine is one `key: value` line of Go's benchmark format, printed
// before the results so that a results file says where it came from.
type ConfigLine struct {
	Key, Value string
}

// Config returns the configuration lines describing this machine and run:
// machine id, cpu model, topology summary, the CPU pair used for each
// placement class, the node sets of pin=node, hypervisor, frequency governor, SMT, cache line size,
// GOMAXPROCS, the allowed CPU set, and whether software counters work.
// (`go test` itself prints goos, goarch, pkg and cpu.)
func Config(t *affinity.Topology) []ConfigLine {
	lines := []ConfigLine{
		{"machine", MachineID(t)},
		{"model", t.Model},
		{"topology", t.Summary()},
	}
	pairs := t.Placements()
	for _, c := range affinity.Classes() {
		if p, ok := pairs[c]; ok {
			lines = append(lines, ConfigLine{"pair-" + string(c), fmt.Sprintf("%d,%d", p.A, p.B)})
		}
	}
	lines = append(lines, ConfigLine{"pin-node", nodeNote(t)})
	if len(t.Warnings) > 0 {
		lines = append(lines, ConfigLine{"topology-warnings", strings.Join(t.Warnings, "; ")})
	}
	hv := t.Hypervisor()
	if hv == "" {
		hv = "none"
	}
	perf := "software counters available"
	if err := PerfUnavailable(); err != nil {
		perf = "unavailable: " + err.Error()
	} else if err := HardwareCountersUnavailable(); err != nil {
		perf += "; hardware counters unavailable: " + err.Error()
	} else {
		perf += "; hardware counters available"
	}
	lines = append(lines,
		ConfigLine{"hypervisor", hv},
		ConfigLine{"governor", Governor(t)},
		ConfigLine{"smt", SMTState(t)},
		ConfigLine{"cacheline", fmt.Sprint(t.Identity.CacheLine)},
		ConfigLine{"gomaxprocs", fmt.Sprint(runtime.GOMAXPROCS(0))},
		ConfigLine{"allowed", t.Allowed.String()},
		ConfigLine{"online", t.Online.String()},
		ConfigLine{"perf", perf},
	)
	return lines
}

// FormatConfig renders lines in Go's benchmark format. Values are put on
// one line (benchfmt ends a value at the newline).
func FormatConfig(lines []ConfigLine) string {
	var b strings.Builder
	for _, l := range lines {
		v := strings.ReplaceAll(l.Value, "\n", " ")
		fmt.Fprintf(&b, "%s: %s\n", l.Key, v)
	}
	return b.String()
}

// sysRoot is where Governor and SMTState read sysfs; tests point it at a
// fixture.
func sysRoot(t *affinity.Topology) string {
	if t.Root != "" {
		return t.Root
	}
	return "/"
}

// Governor returns the cpufreq scaling governor of the first allowed CPU,
// "unknown" when the kernel has no cpufreq driver (typical in virtual machines).
func Governor(t *affinity.Topology) string {
	cpus := t.Allowed.CPUs()
	if len(cpus) == 0 {
		return "unknown"
	}
	b, err := os.ReadFile(filepath.Join(sysRoot(t), "sys/devices/system/cpu", fmt.Sprintf("cpu%d", cpus[0]), "cpufreq/scaling_governor"))
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
func SMTState(t *affinity.Topology) string {
	for _, c := range t.Cores {
		if c.CPUs.Count() > 1 {
			return "on"
		}
	}
	return "off"
}

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
func MachineID(t *affinity.Topology) string {
	vendor := strings.ToLower(t.Identity.Vendor)
	switch vendor {
	case "genuineintel":
		vendor = "intel"
	case "authenticamd":
		vendor = "amd"
	}
	// cpuid names arm64 vendors in words ("Arm Limited").
	vendor = strings.Trim(nonID.ReplaceAllString(vendor, "-"), "-")
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
	parts := []string{}
	if vendor != "" {
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
	parts = append(parts, model, fmt.Sprintf("%s%dc%dt", shape, len(t.Cores), len(t.CPUs)))
	if t.Hypervisor() != "" {
		parts = append(parts, "vm")
	}
	parts = append(parts, TopologyHash(t))
	return strings.Join(parts, "-")
}

// TopologyHash is six hex digits of an FNV-1a hash of what tells machines
// of one model apart: the vendor and brand strings, the hypervisor, the
// counts of CPUs, cores, packages and NUMA nodes, and each cache's level,
// type, size, line size and number of CPUs sharing it. It ignores the
// allowed CPU set, so a restricted run keeps the machine's id.
func TopologyHash(t *affinity.Topology) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s|%s|%s|%s|cpus %d cores %d packages %d nodes %d|", t.Identity.Vendor, t.Identity.Brand, t.Model, t.Hypervisor(), len(t.CPUs), len(t.Cores), len(t.Packages), len(t.Nodes))
	for _, c := range t.Caches {
		fmt.Fprintf(h, "L%d %s %d %d x%d|", c.Level, c.Type, c.Size, c.LineSize, c.CPUs.Count())
	}
	return fmt.Sprintf("%06x", h.Sum32()&0xffffff)
}
