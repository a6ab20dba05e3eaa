//go:build linux

package affinity

import (
	"os"
	"strings"

	"github.com/klauspost/cpuid/v2"
)

// Discover reads the live machine from /sys and /proc, adds what cpuid says
// about the processor (vendor, brand, cache line, hypervisor, hybrid), and
// sets Allowed to the process's affinity mask intersected with the online
// CPUs (see Allowed).
func Discover() (*Topology, error) {
	t, err := discover("/")
	if err != nil {
		return nil, err
	}
	if t.Allowed, err = Allowed(); err != nil {
		return nil, err
	}
	t.Allowed = t.Allowed.Intersect(t.Online)
	applyCPUID(t)
	return t, nil
}

// applyCPUID overlays the cpuid instruction's answers on the cpuinfo ones
// (cpuid knows nothing on non-x86 machines, where cpuinfo's stay).
func applyCPUID(t *Topology) {
	c := &cpuid.CPU
	id := &t.Identity
	if c.VendorString != "" {
		id.Vendor = c.VendorString
		id.FromCPUID = true
	}
	if b := strings.TrimSpace(c.BrandName); b != "" {
		id.Brand = b
		if t.Model == "" {
			t.Model = b
		}
	}
	if c.CacheLine > 0 {
		id.CacheLine = c.CacheLine
	}
	id.Hybrid = c.Supports(cpuid.HYBRID_CPU)
	// Only cpuinfo's flag ("unknown") gives way to cpuid's vendor; a name
	// the device tree gave (arm64, where cpuid knows nothing) stays.
	if c.Supports(cpuid.HYPERVISOR) || id.Hypervisor == "unknown" {
		id.Hypervisor = hypervisorName(c.HypervisorVendorID, c.HypervisorVendorString)
	}
	if id.Hypervisor == "unknown" {
		// Xen PV guests show no cpuid leaf but name themselves here.
		r := sysReader{fsys: os.DirFS("/"), root: "/", dir: "/"}
		if s, ok, err := r.read("sys/hypervisor/type"); err == nil && ok && s != "" {
			id.Hypervisor = s
		}
	}
}

// hypervisorName turns cpuid's hypervisor vendor into a short name.
func hypervisorName(v cpuid.Vendor, raw string) string {
	if v != cpuid.VendorUnknown {
		return v.String()
	}
	if s := strings.Trim(raw, " \x00"); s != "" {
		return s
	}
	return "unknown"
}
