package affinity

import (
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// FuzzParseList checks that any list ParseList accepts formats back to a
// list (and a mask) that parse to the same set, and that formatting is
// canonical: parse(format(s)) formats identically.
func FuzzParseList(f *testing.F) {
	fuzzRoundTrip(f, ParseList, "", "0", "0-3,8,10-11", "1,3,5-7\n", "1023-1025", "4095\x00", "3-1", "a", "1,,2")
}

// FuzzParseMask is FuzzParseList for the hex mask form.
func FuzzParseMask(f *testing.F) {
	fuzzRoundTrip(f, ParseMask, "00000000", "0000ffff", "00000000,0000ffff\n", "80000000,00000003\x00", "f,0", "g", "")
}

// fuzzRoundTrip fuzzes parse from seeds, checking each set it accepts
// with roundTrip.
func fuzzRoundTrip(f *testing.F, parse func(string) (CPUSet, error), seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := parse(in)
		if err != nil {
			return
		}
		roundTrip(t, s)
	})
}

func roundTrip(t *testing.T, s CPUSet) {
	t.Helper()
	l, err := ParseList(s.String())
	if err != nil {
		t.Fatalf("ParseList(%q) of a formatted set: %v", s.String(), err)
	}
	m, err := ParseMask(s.Mask())
	if err != nil {
		t.Fatalf("ParseMask(%q) of a formatted set: %v", s.Mask(), err)
	}
	if l != s || m != s {
		t.Fatalf("round trip changed the set: %q -> list %q, mask %q -> %q", s.String(), l.String(), s.Mask(), m.String())
	}
	if l.String() != s.String() || m.Mask() != s.Mask() {
		t.Fatalf("formatting is not canonical: %q %q", s.String(), s.Mask())
	}
	if NewCPUSet(s.CPUs()...) != s || s.Count() != len(s.CPUs()) {
		t.Fatalf("CPUs/NewCPUSet disagree for %q", s.String())
	}
}

// FuzzDiscoverFS reads a two-CPU, two-node tree whose files the fuzzer
// writes, with one file made a link, a FIFO or a folder by kind: discovery
// never panics, an error names the tree, and the placements of a topology
// it returns have the relations they are named by. (A lying tree may give
// a cache that does not hold its core, which checkInvariants refuses.)
func FuzzDiscoverFS(f *testing.F) {
	f.Add("0-1", "0-1", "0-1", "10 20", "model name : x\n", uint8(0), uint8(0))
	f.Add("0-1\n", "1-0", "", "10", "", uint8(1), uint8(1))
	f.Add("0,1", "ffffffff,ffffffff", "0-65535", "10 20 30", "flags : hypervisor\n", uint8(2), uint8(2))
	f.Add("", "0", "1", "\x00", "cpu : POWER9\n", uint8(3), uint8(3))
	f.Add("1", "1", "0", "-1 20", "", uint8(0), uint8(4))
	f.Fuzz(func(t *testing.T, online, siblings, shared, distance, cpuinfo string, kind, which uint8) {
		fsys := fuzzTree(online, siblings, shared, distance, cpuinfo)
		names := slices.Sorted(maps.Keys(fsys))
		name := names[int(which)%len(names)]
		switch kind % 4 {
		case 1:
			fsys[name] = &fstest.MapFile{Data: []byte("../" + path.Base(name)), Mode: fs.ModeSymlink}
		case 2:
			fsys[name] = &fstest.MapFile{Mode: fs.ModeNamedPipe}
		case 3:
			fsys[name] = &fstest.MapFile{Mode: fs.ModeDir | 0o755}
		}
		topo, err := discoverFS(fsys, "/fake")
		if err != nil {
			if !strings.Contains(err.Error(), "/fake") {
				t.Fatalf("error %q names no file", err)
			}
			return
		}
		topo.Allowed = topo.Online // as DiscoverRoot sets it
		for cl, p := range topo.Placements() {
			if got := topo.Relation(p.A, p.B); got != cl {
				t.Fatalf("placement %s pair %v has relation %s", cl, p, got)
			}
		}
		_ = topo.JSON()
		_ = topo.Summary()
	})
}

// fuzzTree is the tree FuzzDiscoverFS reads: CPUs 0 and 1, each with a
// topology folder and an L2, in nodes 0 and 1.
func fuzzTree(online, siblings, shared, distance, cpuinfo string) fstest.MapFS {
	const cpu = "sys/devices/system/cpu/"
	const node = "sys/devices/system/node/"
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	fsys := fstest.MapFS{
		cpu + "cpu1/online":     file(online),
		node + "node0/cpulist":  file("0"),
		node + "node0/distance": file(distance),
		node + "node1/cpulist":  file("1"),
		node + "node1/distance": file("20 10"),
		"proc/cpuinfo":          file(cpuinfo),
	}
	for _, n := range []string{"0", "1"} {
		d := cpu + "cpu" + n + "/"
		fsys[d+"topology/physical_package_id"] = file("0")
		fsys[d+"topology/core_id"] = file(n)
		fsys[d+"topology/thread_siblings_list"] = file(n)
		fsys[d+"cache/index2/level"] = file("2")
		fsys[d+"cache/index2/shared_cpu_list"] = file(n)
	}
	fsys[cpu+"cpu0/topology/thread_siblings_list"] = file(siblings)
	fsys[cpu+"cpu1/cache/index2/shared_cpu_list"] = file(shared)
	return fsys
}
