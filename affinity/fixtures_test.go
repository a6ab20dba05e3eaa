package affinity

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fixtures is the project's own sysfs trees, seen from this package.
const fixtures = "../testdata/topologies"

func loadFixture(t *testing.T, name string) *Topology {
	t.Helper()
	topo, err := DiscoverRoot(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, topo)
	return topo
}

// place builds an expected placement map from "class a b" triples.
func place(pairs ...any) map[Class]Pair {
	m := map[Class]Pair{}
	for i := 0; i < len(pairs); i += 3 {
		m[pairs[i].(Class)] = Pair{pairs[i+1].(int), pairs[i+2].(int)}
	}
	return m
}

func TestFixtures(t *testing.T) {
	cases := []struct {
		name   string
		counts string
		place  map[Class]Pair
	}{
		// Two sockets, each one node and one L3, four cores of two
		// threads (siblings n and n+8); CPU 15 is offline. A reader
		// picks CPU 1, its sibling 9, its socket neighbour 2 and the
		// first CPU of the other socket, 4.
		{"two-socket-smt", counts(15, 8, 2, 2, 2), place(SameCPU, 1, 1, SMT, 1, 9, LLC, 1, 2, Remote, 1, 4)},
		// One package, two nodes (0-3, 4-7), an L3 per two cores: 2 and
		// 3 share an L3 (0-1 would use CPU 0), 1 and 2 share only the
		// node, 1 and 4 are on different nodes of the same package.
		{"numa-split-package", counts(8, 8, 1, 4, 2), place(SameCPU, 1, 1, LLC, 2, 3, Node, 1, 2, Remote, 1, 4)},
		// Two packages in node 0, nodes 1 and 2 without CPUs; per
		// package an L2 shared by two 2-thread cores, no L3: 2 and 3
		// are one core; CPU 1 is CPU 0's sibling, so the L2 pair is the
		// other package's 4 and 6, and 2 and 4 share only the node.
		{"cpuless-nodes", counts(8, 4, 2, 0, 3), place(SameCPU, 2, 2, SMT, 2, 3, L2, 4, 6, Node, 2, 4)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			topo := loadFixture(t, c.name)
			if got := counts(len(topo.CPUs), len(topo.Cores), len(topo.Packages), topo.L3Groups(), len(topo.Nodes)); got != c.counts {
				t.Errorf("got  %s\nwant %s", got, c.counts)
			}
			if got := topo.Placements(); !maps.Equal(got, c.place) {
				t.Errorf("placements %v, want %v", got, c.place)
			}
			for _, cl := range Classes() {
				p, ok := topo.Pair(cl)
				if want, wok := c.place[cl]; ok != wok || p != want {
					t.Errorf("Pair(%s) = %v, %v", cl, p, ok)
				}
				if _, err := topo.Group(cl, 2); (err == nil) != ok {
					t.Errorf("Group(%s) error %v, class present %v", cl, err, ok)
				}
			}
		})
	}
}

func TestTwoSocketDetails(t *testing.T) {
	topo := loadFixture(t, "two-socket-smt")
	if topo.Online.String() != "0-14" || topo.Allowed != topo.Online {
		t.Errorf("online %s allowed %s", topo.Online, topo.Allowed)
	}
	if _, ok := topo.CPU(15); ok {
		t.Errorf("offline CPU 15 is listed")
	}
	c9, _ := topo.CPU(9)
	if c9.Package != 0 || c9.Node != 0 || c9.CoreID != 1 || topo.Cores[c9.Core].CPUs.String() != "1,9" {
		t.Errorf("CPU 9 = %+v", c9)
	}
	c7, _ := topo.CPU(7)
	if topo.Cores[c7.Core].CPUs.String() != "7" {
		t.Errorf("core of CPU 7 (sibling 15 offline) = %s", topo.Cores[c7.Core].CPUs)
	}
	var levels []string
	for _, ci := range c9.Caches {
		k := topo.Caches[ci]
		levels = append(levels, k.Type+":"+k.CPUs.String())
		if k.LineSize != 64 {
			t.Errorf("line size %d", k.LineSize)
		}
	}
	if got := strings.Join(levels, " "); got != "Data:1,9 Instruction:1,9 Unified:1,9 Unified:0-3,8-11" {
		t.Errorf("CPU 9 caches %s", got)
	}
	if topo.Caches[c9.Caches[3]].Size != 16<<20 || topo.Caches[c9.Caches[2]].Size != 1<<20 {
		t.Errorf("cache sizes wrong")
	}
	// The kernel cluster equals the core here: it must not make l2.
	if !topo.ClusterCPUs(1).IsEmpty() {
		t.Errorf("cluster of CPU 1 counted: %s", topo.ClusterCPUs(1))
	}
	if topo.Distance(0, 1) != 21 || topo.Distance(1, 1) != 10 || topo.Distance(0, 5) != -1 {
		t.Errorf("distances wrong: %v", topo.Nodes)
	}
	if got := topo.NodeCPUs(1).String(); got != "4-7,12-14" {
		t.Errorf("NodeCPUs(1) = %s", got)
	}
	if got := topo.Summary(); got != "2 packages, 2 nodes, 2 L3, 8 cores, 15 CPUs" {
		t.Errorf("Summary = %q", got)
	}
	if topo.Model != "Intel(R) Xeon(R) CPU Fixture 2S" || topo.Hypervisor() != "" || topo.Identity.Vendor != "GenuineIntel" || topo.Identity.CacheLine != 64 {
		t.Errorf("model %q hypervisor %q identity %+v", topo.Model, topo.Hypervisor(), topo.Identity)
	}
	rel := map[[2]int]Class{{3, 3}: SameCPU, {3, 11}: SMT, {11, 3}: SMT, {0, 11}: LLC, {8, 12}: Remote, {0, 15}: "", {-1, 2}: ""}
	for p, want := range rel {
		if got := topo.Relation(p[0], p[1]); got != want {
			t.Errorf("Relation(%d, %d) = %q, want %q", p[0], p[1], got, want)
		}
	}
	// Groups: remote gives one CPU per node; smt the threads of a core;
	// llc one CPU per core of a socket.
	groups := []struct {
		c    Class
		n    int
		want []int
	}{
		{Remote, 4, []int{1, 4}},
		{SMT, 4, []int{1, 9}},
		{LLC, 3, []int{1, 2, 3}},
		{LLC, 8, []int{1, 2, 3, 8}}, // 8 (core 0) rather than CPU 0
		{LLC, 1, []int{1}},
		{SameCPU, 3, []int{1, 1, 1}},
	}
	for _, g := range groups {
		got, err := topo.Group(g.c, g.n)
		if err != nil || !slices.Equal(got, g.want) {
			t.Errorf("Group(%s, %d) = %v, %v; want %v", g.c, g.n, got, err, g.want)
		}
	}
	for _, bad := range []struct {
		c Class
		n int
	}{{L2, 2}, {Node, 2}, {Unpinned, 2}, {"bogus", 2}, {SMT, 0}} {
		if _, err := topo.Group(bad.c, bad.n); err == nil {
			t.Errorf("Group(%s, %d) succeeded", bad.c, bad.n)
		}
	}
	if n := len(topo.AllPairs()); n != 15*14/2 {
		t.Errorf("AllPairs: %d pairs", n)
	}
	if p := topo.AllPairs(); p[0] != (Pair{0, 1}) || p[len(p)-1] != (Pair{13, 14}) {
		t.Errorf("AllPairs order: first %v last %v", p[0], p[len(p)-1])
	}
}

func TestCPULessNodes(t *testing.T) {
	topo := loadFixture(t, "cpuless-nodes")
	var ids []int
	for _, n := range topo.Nodes {
		ids = append(ids, n.ID)
		if n.ID > 0 && !n.CPUs.IsEmpty() {
			t.Errorf("node %d has CPUs %s", n.ID, n.CPUs)
		}
	}
	if !slices.Equal(ids, []int{0, 1, 2}) || topo.NodeCPUs(0).String() != "0-7" || !topo.NodeCPUs(2).IsEmpty() {
		t.Errorf("nodes %v", topo.Nodes)
	}
	if topo.Distance(2, 0) != 30 {
		t.Errorf("Distance(2, 0) = %d", topo.Distance(2, 0))
	}
	if got, err := topo.Group(Node, 4); err != nil || !slices.Equal(got, []int{2, 4}) {
		t.Errorf("Group(node, 4) = %v, %v", got, err)
	}
	if got := topo.Summary(); got != "2 packages, 3 nodes, no L3, 4 cores, 8 CPUs" {
		t.Errorf("Summary = %q", got)
	}
}

func TestNUMASplitPackage(t *testing.T) {
	topo := loadFixture(t, "numa-split-package")
	if topo.Hypervisor() != "unknown" {
		t.Errorf("Hypervisor = %q (cpuinfo has the hypervisor flag)", topo.Hypervisor())
	}
	if got, err := topo.Group(Node, 4); err != nil || !slices.Equal(got, []int{1, 2}) {
		t.Errorf("Group(node, 4) = %v, %v", got, err)
	}
	if got, err := topo.Group(Remote, 4); err != nil || !slices.Equal(got, []int{1, 4}) {
		t.Errorf("Group(remote, 4) = %v, %v", got, err)
	}
}

// copyTree copies a fixture so a test can corrupt one file of it.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestMalformed(t *testing.T) {
	_, err := DiscoverRoot(filepath.Join(fixtures, "malformed"))
	want := filepath.Join(fixtures, "malformed", "sys/devices/system/cpu/cpu1/topology/thread_siblings_list")
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `"1-x"`) {
		t.Fatalf("DiscoverRoot(malformed) error %v, want one naming %s and quoting the content", err, want)
	}

	// More ways a file can be malformed, each written into a copy of a
	// good fixture: the error must name the file.
	bad := map[string]string{
		"sys/devices/system/cpu/cpu2/online":                           "2\n",
		"sys/devices/system/cpu/cpu3/topology/core_id":                 "three\n",
		"sys/devices/system/cpu/cpu1/topology/physical_package_id":     "\x00\x00",
		"sys/devices/system/cpu/cpu4/topology/thread_siblings":         "zz\n",
		"sys/devices/system/cpu/cpu5/cache/index2/shared_cpu_map":      "1,,2\n",
		"sys/devices/system/cpu/cpu6/cache/index0/size":                "32Q\n",
		"sys/devices/system/cpu/cpu7/cache/index1/level":               "0\n",
		"sys/devices/system/node/node1/distance":                       "20 ten 30\n",
		"sys/devices/system/node/node2/cpumap":                         "00000000,,\n",
		"sys/devices/system/cpu/cpu0/cache/index1/coherency_line_size": "64B\n",
	}
	for file, content := range bad {
		root := copyTree(t, filepath.Join(fixtures, "cpuless-nodes"))
		if err := os.WriteFile(filepath.Join(root, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := DiscoverRoot(root)
		if err == nil || !strings.Contains(err.Error(), filepath.Join(root, file)) {
			t.Errorf("%s = %q: error %v, want one naming the file", file, content, err)
		}
	}
}

func TestCPUFolderBeyondLimit(t *testing.T) {
	root := copyTree(t, filepath.Join(fixtures, "malformed"))
	dir := filepath.Join(root, "sys/devices/system/cpu/cpu99999999999")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := DiscoverRoot(root); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("error %v, want one naming %s", err, dir)
	}
}

func TestBadRoot(t *testing.T) {
	empty := t.TempDir()
	file := filepath.Join(empty, "file")
	os.WriteFile(file, nil, 0o644)
	for _, root := range []string{filepath.Join(empty, "missing"), empty, file} {
		if _, err := DiscoverRoot(root); err == nil || !strings.Contains(err.Error(), root) {
			t.Errorf("DiscoverRoot(%s) error %v, want one naming the root", root, err)
		}
	}
}
