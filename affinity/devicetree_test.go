package affinity

import (
	"fmt"
	"testing"
	"testing/fstest"
)

// armVirt is the sysfs of an arm64 guest on QEMU's virt board booted from
// its device tree with -smp 4,sockets=1,clusters=2,cores=2 (as the
// topology lab's l2 preset saw it): core_id restarts in each cluster, the
// clusters are cluster_cpus_list 0-1 and 2-3, each CPU has only its own L1
// caches, and cpuinfo has no hypervisor flag.
func armVirt(compatible string, fwCfg bool) fstest.MapFS {
	const cpu = "sys/devices/system/cpu/"
	fsys := fstest.MapFS{
		cpu + "online":          {Data: []byte("0-3\n")},
		"proc/cpuinfo":          {Data: []byte("processor\t: 0\nBogoMIPS\t: 125.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid\nCPU implementer\t: 0x41\nCPU part\t: 0xd07\n")},
		devTree + "/compatible": {Data: []byte(compatible + "\x00")},
	}
	if fwCfg {
		fsys[devTree+"/fw-cfg@9020000/compatible"] = &fstest.MapFile{Data: []byte("qemu,fw-cfg-mmio\x00")}
	}
	for c := range 4 {
		d := fmt.Sprintf("%scpu%d/", cpu, c)
		put := func(name, v string) { fsys[d+name] = &fstest.MapFile{Data: []byte(v + "\n")} }
		put("topology/physical_package_id", "0")
		put("topology/core_id", fmt.Sprint(c%2))
		put("topology/thread_siblings_list", fmt.Sprint(c))
		put("topology/cluster_id", fmt.Sprint(c/2))
		put("topology/cluster_cpus_list", fmt.Sprintf("%d-%d", c/2*2, c/2*2+1))
		put("topology/package_cpus_list", "0-3")
		for i, typ := range []string{"Data", "Instruction"} {
			put(fmt.Sprintf("cache/index%d/level", i), "1")
			put(fmt.Sprintf("cache/index%d/type", i), typ)
			put(fmt.Sprintf("cache/index%d/shared_cpu_list", i), fmt.Sprint(c))
		}
	}
	return fsys
}

// QEMU's arm64 virt board is a virtual machine, named QEMU by its fw-cfg
// node; the model is the MIDR's implementer and part; its clusters make l2
// pairs, and between clusters no cache is shared (node).
func TestDiscoverARMVirt(t *testing.T) {
	top, err := discoverFS(armVirt("linux,dummy-virt", true), "/fake")
	if err != nil {
		t.Fatal(err)
	}
	if h := top.Hypervisor(); h != "QEMU" {
		t.Errorf("hypervisor %q, want QEMU", h)
	}
	if m := "implementer 0x41 part 0xd07"; top.Model != m || top.Identity.Brand != m {
		t.Errorf("model %q brand %q, want %q (arm64's cpuinfo names no model)", top.Model, top.Identity.Brand, m)
	}
	if n := len(top.Cores); n != 4 {
		t.Errorf("%d cores, want 4 (core_id restarts in each cluster)", n)
	}
	if n := top.L3Groups(); n != 0 {
		t.Errorf("%d L3 groups, want 0", n)
	}
	for _, tc := range []struct {
		a, b int
		want Class
	}{{0, 1, L2}, {2, 3, L2}, {1, 2, Node}, {0, 3, Node}} {
		if got := top.Relation(tc.a, tc.b); got != tc.want {
			t.Errorf("Relation(%d, %d) = %s, want %s", tc.a, tc.b, got, tc.want)
		}
	}

	for _, tc := range []struct {
		compatible string
		fwCfg      bool
		want       string
	}{
		{"linux,dummy-virt", false, "unknown"}, // kvmtool: a virtual board without QEMU's fw-cfg
		{"raspberrypi,4-model-b\x00brcm,bcm2711", true, ""},
	} {
		top, err := discoverFS(armVirt(tc.compatible, tc.fwCfg), "/fake")
		if err != nil {
			t.Fatal(err)
		}
		if h := top.Hypervisor(); h != tc.want {
			t.Errorf("compatible %q, fw-cfg %v: hypervisor %q, want %q", tc.compatible, tc.fwCfg, h, tc.want)
		}
	}
}
