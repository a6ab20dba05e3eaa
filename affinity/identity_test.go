package affinity

import (
	"regexp"
	"strings"
	"testing"
)

// The machine id tells machines of one model apart by packages and nodes
// when there are several, and keeps the short form for one of each.
func TestMachineIDShape(t *testing.T) {
	for fix, want := range map[string]string{
		"two-socket-smt":     "-2p2n8c15t",
		"numa-split-package": "-2n8c8t",
		"cpuless-nodes":      "-2p3n4c8t",
	} {
		id := loadFixture(t, fix).MachineID()
		if !strings.Contains(id, want) {
			t.Errorf("%s: machine id %q, want it to contain %q", fix, id, want)
		}
	}
	// A vendor in words (cpuid's on arm64) still makes a folder name.
	arm := loadFixture(t, "two-socket-smt")
	arm.Identity.Vendor, arm.Model = "Arm Limited", "implementer 0x41 part 0xd07"
	if id := arm.MachineID(); !regexp.MustCompile(`^arm-limited-implementer-0x41-part-0xd07-[a-z0-9-]+$`).MatchString(id) {
		t.Errorf("vendor Arm Limited: machine id %q, want only lower-case letters, digits and dashes", id)
	}
	live, err := Discover()
	if err != nil {
		t.Skipf("live discovery: %v", err)
	}
	id := live.MachineID()
	m := regexp.MustCompile(`-([0-9]+p)?([0-9]+n)?[0-9]+c[0-9]+t(-vm)?-[0-9a-f]{6}$`).FindStringSubmatch(id)
	if m == nil || (m[1] != "") != (len(live.Packages) > 1) || (m[2] != "") != (len(live.Nodes) > 1) {
		t.Errorf("live machine (%d packages, %d nodes): id %q", len(live.Packages), len(live.Nodes), id)
	}
}

// Two machines that differ only in a cache size (two EPYC VMs with other
// L2 sizes) get different ids; one machine keeps its id when a run may
// use only some of its CPUs.
func TestMachineIDTellsCachesApart(t *testing.T) {
	a := loadFixture(t, "two-socket-smt")
	b := loadFixture(t, "two-socket-smt")
	if a.MachineID() != b.MachineID() {
		t.Fatalf("one fixture, two ids: %s, %s", a.MachineID(), b.MachineID())
	}
	for i := range b.Caches {
		if b.Caches[i].Level == 2 {
			b.Caches[i].Size *= 2
		}
	}
	if a.MachineID() == b.MachineID() {
		t.Errorf("an L2 twice as large kept the id %s", a.MachineID())
	}
	c := loadFixture(t, "two-socket-smt")
	c.Allowed = NewCPUSet(c.Allowed.CPUs()[0])
	if c.MachineID() != a.MachineID() {
		t.Errorf("a restricted CPU set changed the id: %s, %s", c.MachineID(), a.MachineID())
	}
}

// SMT is on where a core has two online CPUs; a capture without cpufreq
// has an unknown governor.
func TestGovernorAndSMT(t *testing.T) {
	two := loadFixture(t, "two-socket-smt")
	if got := two.SMTState(); got != "on" {
		t.Errorf("two-socket-smt: SMT %q, want on", got)
	}
	if got := loadFixture(t, "numa-split-package").SMTState(); got != "off" {
		t.Errorf("numa-split-package (8 cores, 8 CPUs): SMT %q, want off", got)
	}
	if got := (&Topology{}).Governor(); got != "unknown" {
		t.Errorf("no allowed CPU: governor %q, want unknown", got)
	}
}
