package affinity

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyFixture copies testdata fixture name into a temporary folder (see
// copyTree) and returns its root, for tests that then make one file lie.
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	return copyTree(t, filepath.Join("..", "testdata", "topologies", name))
}

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(root, rel), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Topology input that lies (issue 13): each gives an error naming the
// file, or a warning that says what discovery did instead; none is taken
// silently.
func TestTopologyInputThatLies(t *testing.T) {
	cpu := "sys/devices/system/cpu/"
	// lie makes file rel of the cpu folder say content in a copy of
	// two-socket-smt, and discovers the copy.
	lie := func(t *testing.T, rel, content string) (*Topology, error) {
		t.Helper()
		root := copyFixture(t, "two-socket-smt")
		write(t, root, cpu+rel, content)
		return DiscoverRoot(root)
	}
	// taken is lie for a lie that discovery must take, saying so in a
	// warning or reading the file as hwloc does.
	taken := func(t *testing.T, rel, content string) *Topology {
		t.Helper()
		topo, err := lie(t, rel, content)
		if err != nil {
			t.Fatal(err)
		}
		return topo
	}
	// The lies discovery refuses, with an error naming the file.
	for _, c := range []struct{ name, rel, content, want string }{
		{"thread_siblings_list beyond the CPUs", "cpu2/topology/thread_siblings_list", "0-63\n", "no cpuN folder"},
		{"cache level outside 1-4", "cpu0/cache/index3/level", "7\n", "level 7"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := lie(t, c.rel, c.content)
			if err == nil || !strings.Contains(err.Error(), c.rel) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v; want one naming %s and saying %q", err, c.rel, c.want)
			}
		})
	}
	t.Run("empty shared_cpu_list beside a shared_cpu_map", func(t *testing.T) {
		base := loadFixture(t, "two-socket-smt")
		topo := taken(t, "cpu1/cache/index3/shared_cpu_list", "\n")
		if topo.L3Groups() != base.L3Groups() {
			t.Errorf("%d L3 domains, want %d: the empty list made a phantom L3", topo.L3Groups(), base.L3Groups())
		}
		if len(topo.Warnings) != 1 || !strings.Contains(topo.Warnings[0], "cpu1/cache/index3/shared_cpu_list is empty") {
			t.Errorf("warnings %q; want one naming cpu1's shared_cpu_list", topo.Warnings)
		}
	})
	t.Run("siblings that disagree between CPUs", func(t *testing.T) {
		topo := taken(t, "cpu2/topology/thread_siblings_list", "2,3\n") // 3 says 3,11
		if len(topo.Warnings) == 0 || !strings.Contains(strings.Join(topo.Warnings, "\n"), "disagree") {
			t.Errorf("warnings %q; want one saying the sibling lists disagree", topo.Warnings)
		}
	})
	t.Run("online file empty or blank", func(t *testing.T) {
		base := loadFixture(t, "two-socket-smt")
		topo := taken(t, "cpu3/online", " \n")
		if !topo.Online.Has(3) || topo.Online.Count() != base.Online.Count() {
			t.Errorf("online %s; want CPU 3 counted online (as hwloc does), %s", topo.Online, base.Online)
		}
	})
	t.Run("no-cluster id 65535", func(t *testing.T) {
		root := copyFixture(t, "numa-split-package")
		for c := range 8 {
			write(t, root, cpu+"cpu"+itoa(c)+"/topology/cluster_id", "65535\n")
		}
		topo, err := DiscoverRoot(root)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range topo.JSON().CPUs {
			if c.Cluster == 65535 {
				t.Fatalf("CPU %d has cluster 65535 in --json; want -1 (no cluster)", c.ID)
			}
		}
	})
}

// A node's distance row has one entry per node; a row of another length
// is dropped with a warning naming the file, not taken as is.
func TestDistanceRowLength(t *testing.T) {
	const rel = "sys/devices/system/node/node1/distance"
	for _, row := range []string{"21\n", "21 10 31\n", "\n"} {
		root := copyFixture(t, "two-socket-smt")
		write(t, root, rel, row)
		topo, err := DiscoverRoot(root)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(root, rel)
		if len(topo.Warnings) != 1 || !strings.Contains(topo.Warnings[0], path+" lists") || !strings.Contains(topo.Warnings[0], "want 2") {
			t.Errorf("distance row %q: warnings %q; want one naming %s and the 2 nodes", row, topo.Warnings, path)
		}
		if d := topo.Distance(1, 0); d != -1 {
			t.Errorf("distance row %q: Distance(1, 0) = %d, want -1 (unknown)", row, d)
		}
		if d := topo.Distance(0, 1); d != 21 {
			t.Errorf("Distance(0, 1) = %d, want node0's 21", d)
		}
	}
}
