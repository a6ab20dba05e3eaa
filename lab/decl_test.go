package lab

import (
	"slices"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/affinity"
)

func mustDecl(t *testing.T, args ...string) Decl {
	t.Helper()
	d, err := ParseDecl(args)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDeclBig16(t *testing.T) {
	p, err := LookupPreset("big16")
	if err != nil {
		t.Fatal(err)
	}
	d := mustDecl(t, p.Args()...)
	if got, want := d.Counts(), (Counts{PUs: 16, Cores: 8, Packages: 2, L3Groups: 4, NUMANodes: 2}); got != want {
		t.Errorf("counts %+v, want %+v", got, want)
	}
	for _, tc := range []struct {
		a, b int
		want affinity.Class
	}{{3, 3, affinity.SameCPU}, {0, 1, affinity.SMT}, {0, 2, affinity.LLC}, {0, 4, affinity.Node}, {3, 4, affinity.Node}, {5, 6, affinity.LLC}, {0, 8, affinity.Remote}, {9, 11, affinity.LLC}, {14, 15, affinity.SMT}} {
		if got := d.Relation(tc.a, tc.b); got != tc.want {
			t.Errorf("Relation(%d, %d) = %s, want %s", tc.a, tc.b, got, tc.want)
		}
	}
	want := []affinity.Class{affinity.SameCPU, affinity.SMT, affinity.LLC, affinity.Node, affinity.Remote}
	if got := d.Classes(); !slices.Equal(got, want) {
		t.Errorf("classes %v, want %v", got, want)
	}
	if d.Model != DefaultCPU {
		t.Errorf("model %q, want %s", d.Model, DefaultCPU)
	}
}

// Every class is some preset's, and each 2-CPU preset implies exactly the
// class it is named for (besides samecpu); between l2's two clusters (an
// arm64 guest, no shared cache) the class is node.
func TestPresetsCoverEveryClass(t *testing.T) {
	covered := map[affinity.Class]bool{}
	for _, p := range Presets() {
		d, err := ParseDecl(p.Args())
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		for _, c := range d.Classes() {
			covered[c] = true
		}
		if got := d.Counts().PUs; got != d.CPUs || got < 2 {
			t.Errorf("%s: %d CPUs", p.Name, got)
		}
		if !strings.Contains(p.What, ":") {
			t.Errorf("%s: What %q does not say which classes it covers", p.Name, p.What)
		}
	}
	for _, c := range affinity.Classes() {
		if !covered[c] {
			t.Errorf("no preset declares a %s pair", c)
		}
	}
	for name, want := range map[string][]affinity.Class{
		"numa2": {affinity.SameCPU, affinity.Remote}, "smt2": {affinity.SameCPU, affinity.SMT},
		"llc2": {affinity.SameCPU, affinity.LLC}, "node2": {affinity.SameCPU, affinity.Node},
		"l2": {affinity.SameCPU, affinity.L2, affinity.Node},
	} {
		p, err := LookupPreset(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := mustDecl(t, p.Args()...).Classes(); !slices.Equal(got, want) {
			t.Errorf("%s: classes %v, want %v", name, got, want)
		}
	}
	if _, err := LookupPreset("nope"); err == nil || !strings.Contains(err.Error(), "numa2") {
		t.Errorf("unknown preset: %v, want the list of presets", err)
	}
}

// The l2 preset is an arm64 virt guest: kernel clusters of two cores make
// l2 pairs, and since the board declares no cache beyond each CPU's L1,
// the guest has no L3 group and CPUs of different clusters share only
// their node (or nothing, in two nodes).
func TestDeclARMVirt(t *testing.T) {
	p, err := LookupPreset("l2")
	if err != nil {
		t.Fatal(err)
	}
	if p.Arch != "arm64" {
		t.Fatalf("l2 is an %s preset, want arm64", p.Arch)
	}
	d := mustDecl(t, p.Args()...)
	if d.Arch != "arm64" || d.Model != DefaultARMCPU {
		t.Errorf("arch %q model %q, want arm64 and %s", d.Arch, d.Model, DefaultARMCPU)
	}
	if got, want := d.Counts(), (Counts{PUs: 4, Cores: 4, Packages: 1, L3Groups: 0, NUMANodes: 1}); got != want {
		t.Errorf("counts %+v, want %+v", got, want)
	}
	for _, tc := range []struct {
		a, b int
		want affinity.Class
	}{{0, 1, affinity.L2}, {2, 3, affinity.L2}, {1, 2, affinity.Node}, {0, 3, affinity.Node}} {
		if got := d.Relation(tc.a, tc.b); got != tc.want {
			t.Errorf("Relation(%d, %d) = %s, want %s", tc.a, tc.b, got, tc.want)
		}
	}
	if !strings.Contains(d.String(), "arm64") {
		t.Errorf("String() = %q does not say arm64", d.String())
	}

	// Two sockets of two clusters with SMT, a node per socket: every
	// class but llc; the same shape on x86 (no clusters) has llc.
	d = mustDecl(t, "-machine", "virt,gic-version=3", "-smp", "16,sockets=2,clusters=2,cores=2,threads=2",
		"-numa", "node,nodeid=0,cpus=0-7", "-numa", "node,nodeid=1,cpus=8-15")
	if got, want := d.Counts(), (Counts{PUs: 16, Cores: 8, Packages: 2, L3Groups: 0, NUMANodes: 2}); got != want {
		t.Errorf("16 CPUs: counts %+v, want %+v", got, want)
	}
	want := []affinity.Class{affinity.SameCPU, affinity.SMT, affinity.L2, affinity.Node, affinity.Remote}
	if got := d.Classes(); !slices.Equal(got, want) {
		t.Errorf("16 CPUs: classes %v, want %v", got, want)
	}
	if got := mustDecl(t, "-M", "pc", "-smp", "4,sockets=1,cores=4").Classes(); !slices.Equal(got, []affinity.Class{affinity.SameCPU, affinity.LLC}) {
		t.Errorf("-M pc, 4 cores: classes %v, want samecpu llc", got)
	}
}

// The machine decides the architecture: virt is arm64, QEMU's PCs and no
// -M amd64; another board is an error.
func TestArgsArch(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "amd64"}, {[]string{"-smp", "2"}, "amd64"}, {[]string{"-M", "q35"}, "amd64"}, {[]string{"-M", "pc-i440fx-7.2"}, "amd64"},
		{[]string{"-M", "virt"}, "arm64"}, {[]string{"-machine", "virt-7.2,gic-version=3"}, "arm64"}, {[]string{"--machine", "type=virt"}, "arm64"},
	} {
		got, err := ArgsArch(tc.args)
		if err != nil || got != tc.want {
			t.Errorf("%q: %q, %v; want %s", tc.args, got, err, tc.want)
		}
	}
	for _, args := range [][]string{{"-M", "raspi3b"}, {"-M"}} {
		if _, err := ArgsArch(args); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
	for _, arch := range []string{"amd64", "arm64"} {
		g, err := GuestFor(arch)
		if err != nil || g.Arch != arch || g.QEMU == "" || g.ResultsDev == "" || g.CPU == "" {
			t.Errorf("GuestFor(%s) = %+v, %v", arch, g, err)
		}
	}
	if g, _ := GuestFor("arm64"); g.Machine != "virt" || len(g.Modules) == 0 {
		t.Errorf("arm64 guest %+v: want -M virt and the virtio console's modules", g)
	}
	if _, err := GuestFor("riscv64"); err == nil || !strings.Contains(err.Error(), "riscv64") {
		t.Errorf("GuestFor(riscv64): %v, want an error naming it", err)
	}
}

// -smp parts left out are filled as QEMU fills them (cores preferred).
func TestDeclFillsSMP(t *testing.T) {
	for _, tc := range []struct {
		smp  string
		want Counts
	}{
		{"4", Counts{4, 4, 1, 1, 1}},
		{"8,threads=2", Counts{8, 4, 1, 1, 1}},
		{"8,sockets=2,threads=2", Counts{8, 4, 2, 2, 1}},
		{"sockets=2,dies=2,cores=3", Counts{12, 12, 2, 4, 1}},
		{"6,cores=3", Counts{6, 6, 2, 2, 1}},
	} {
		if got := mustDecl(t, "-smp", tc.smp).Counts(); got != tc.want {
			t.Errorf("-smp %s: %+v, want %+v", tc.smp, got, tc.want)
		}
	}
}

func TestDeclErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-m", "1G"}, "no -smp"},
		{[]string{"-smp"}, "needs a value"},
		{[]string{"-smp", "6,sockets=4"}, "not the 6 CPUs"},
		{[]string{"-smp", "4,bogus=1"}, "unknown part"},
		{[]string{"-smp", "4,maxcpus=8"}, "hot-pluggable"},
		{[]string{"-smp", "2", "-numa", "node,nodeid=0"}, "no cpus="},
		{[]string{"-smp", "2", "-numa", "node,nodeid=0,cpus=0-1", "-numa", "node,nodeid=1,cpus=1"}, "CPU 1 is in NUMA nodes 0 and 1"},
		{[]string{"-smp", "2", "-numa", "node,nodeid=0,cpus=0"}, "CPU 1 is in no NUMA node"},
		{[]string{"-smp", "2", "-numa", "node,nodeid=0,cpus=0-2"}, "lists CPU 2"},
		{[]string{"-smp", "2", "-numa", "node,nodeid=1,cpus=0-1"}, "skip 0"},
		{[]string{"-smp", "2", "-numa", "node,cpus=1-0"}, "bad cpus"},
		{[]string{"-smp", "4,clusters=2"}, "x86 machines reject clusters"},
		{[]string{"-M", "virt", "-smp", "4,dies=2"}, "virt machine rejects dies"},
		{[]string{"-M", "microvm", "-smp", "2"}, "the lab knows"},
	} {
		_, err := ParseDecl(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one mentioning %q", tc.args, err, tc.want)
		}
	}
}
