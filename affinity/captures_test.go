package affinity

import (
	"archive/tar"
	"bufio"
	"compress/bzip2"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// sharedTopologies is the shared capture folder seen from this package's
// folder (tests run in affinity/; the folder sits next to the repository).
const sharedTopologies = "../../shared/topologies"

// extract unpacks a .tar.gz or .tar.bz2 into dir and returns the path of
// its single top folder.
func extract(t *testing.T, archive, dir string) string {
	return extractFiltered(t, archive, dir, needed)
}

// extractFiltered is extract keeping only the entries keep accepts.
func extractFiltered(t *testing.T, archive, dir string, keep func(path []string) bool) string {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader
	switch {
	case strings.HasSuffix(archive, ".tar.bz2"):
		r = bzip2.NewReader(f)
	case strings.HasSuffix(archive, ".tar.gz"):
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", archive, err)
		}
		defer gz.Close()
		r = gz
	default:
		t.Fatalf("%s: not a .tar.gz or .tar.bz2", archive)
	}
	tops := map[string]bool{}
	made := map[string]bool{}
	mkdir := func(d string) {
		if !made[d] {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			made[d] = true
		}
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", archive, err)
		}
		name := filepath.Clean(h.Name)
		if !filepath.IsLocal(name) {
			t.Fatalf("%s: entry %q escapes the folder", archive, h.Name)
		}
		parts := strings.Split(filepath.ToSlash(name), "/")
		tops[parts[0]] = true
		if !keep(parts[1:]) {
			continue
		}
		path := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			mkdir(path)
		case tar.TypeReg:
			mkdir(filepath.Dir(path))
			out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(out, tr); err != nil {
				t.Fatal(err)
			}
			out.Close()
		case tar.TypeSymlink:
			// sysfs links (cpuN/nodeM, ...) point at folders read by
			// their real path; dangling ones must not break the walk.
			mkdir(filepath.Dir(path))
			os.Symlink(h.Linkname, path)
		}
	}
	if len(tops) != 1 {
		t.Fatalf("%s: want one top folder, found %d", archive, len(tops))
	}
	for top := range tops {
		return filepath.Join(dir, top)
	}
	return ""
}

// needed reports whether discovery may read the capture entry at path
// (below the top folder). Extracting only these keeps the test fast: the
// captures hold thousands of files discovery never opens (cpufreq, dmi,
// hugepages, package_cpus, cache ways, ...), and creating files is the slow
// part on some disks (about 1 ms each). Every cpuN and nodeN folder is kept.
// TestFilteredExtraction checks that the filter changes nothing.
func needed(path []string) bool {
	p := strings.Join(path, "/")
	switch p {
	case "", "proc", "proc/cpuinfo", "sys", "sys/devices", "sys/devices/system":
		return true
	}
	rest, ok := strings.CutPrefix(p, "sys/devices/system/")
	if !ok {
		return false
	}
	parts := strings.Split(rest, "/")
	if parts[0] != "cpu" && parts[0] != "node" {
		return false
	}
	if len(parts) <= 2 {
		return true // cpu, node, cpuN, nodeN and files beside them
	}
	if parts[0] == "node" {
		return len(parts) == 3 && (neededNodeFiles[parts[2]] || strings.HasPrefix(parts[2], "cpu"))
	}
	switch {
	case parts[2] == "online":
		return len(parts) == 3
	case parts[2] == "topology":
		return len(parts) == 3 || len(parts) == 4 && neededTopologyFiles[parts[3]]
	case parts[2] == "cache":
		return len(parts) <= 4 || len(parts) == 5 && neededCacheFiles[parts[4]]
	}
	return false
}

var (
	neededNodeFiles     = setOf("cpulist", "cpumap", "distance")
	neededTopologyFiles = setOf("physical_package_id", "core_id", "die_id", "cluster_id", "thread_siblings", "thread_siblings_list", "core_cpus", "core_cpus_list", "cluster_cpus", "cluster_cpus_list")
	neededCacheFiles    = setOf("level", "type", "size", "coherency_line_size", "shared_cpu_list", "shared_cpu_map")
)

func setOf(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

type expectedCounts struct {
	archive                                   string
	pus, cores, packages, l3Groups, numaNodes int
}

func readExpected(t *testing.T) []expectedCounts {
	t.Helper()
	f, err := os.Open(filepath.Join(sharedTopologies, "expected.tsv"))
	if err != nil {
		t.Skipf("shared topology captures not available (%v); skipping", err)
	}
	defer f.Close()
	var out []expectedCounts
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 6 {
			t.Fatalf("expected.tsv: malformed line %q", line)
		}
		var n [5]int
		for i := range n {
			if n[i], err = strconv.Atoi(fields[i+1]); err != nil {
				t.Fatalf("expected.tsv: malformed line %q", line)
			}
		}
		out = append(out, expectedCounts{fields[0], n[0], n[1], n[2], n[3], n[4]})
	}
	return out
}

// counts formats what expected.tsv checks, for one-line comparisons.
func counts(pus, cores, packages, l3, nodes int) string {
	return fmt.Sprintf("pus=%d cores=%d packages=%d l3_groups=%d numa_nodes=%d", pus, cores, packages, l3, nodes)
}

// captureRoot extracts one shared capture and returns its root.
func captureRoot(t *testing.T, archive string) string {
	t.Helper()
	path := filepath.Join(sharedTopologies, archive)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("shared capture %s not available (%v); skipping", archive, err)
	}
	return extract(t, path, t.TempDir())
}

func TestSharedCaptures(t *testing.T) {
	exp := readExpected(t)
	if len(exp) == 0 {
		t.Fatal("expected.tsv lists no capture")
	}
	for _, e := range exp {
		t.Run(filepath.Base(e.archive), func(t *testing.T) {
			t.Parallel()
			root := captureRoot(t, e.archive)
			topo, err := DiscoverRoot(root)
			if err != nil {
				t.Fatal(err)
			}
			got := counts(len(topo.CPUs), len(topo.Cores), len(topo.Packages), topo.L3Groups(), len(topo.Nodes))
			want := counts(e.pus, e.cores, e.packages, e.l3Groups, e.numaNodes)
			if got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
			j := topo.JSON()
			if got := counts(j.PUs, j.Cores, j.Packages, j.L3Groups, j.NUMANodes); got != want {
				t.Errorf("JSON got %s\nwant     %s", got, want)
			}
			checkInvariants(t, topo)
			if want, ok := capturePlacements[filepath.Base(e.archive)]; ok {
				if got := topo.Placements(); !maps.Equal(got, want) {
					t.Errorf("placements %v\nwant       %v", got, want)
				}
			}
		})
	}
}

// capturePlacements holds the pairs a reader of the .console trees picks,
// for captures that exercise a rule.
var capturePlacements = map[string]map[Class]Pair{
	// Kernel clusters of 4 cores (0-3, ...), no SMT, an L3 per 32 cores,
	// and two nodes per package: 32 shares package 36 with 1 but not
	// its node, so the pair is remote.
	"128arm-2pa2n8cluster4co.tar.bz2": place(SameCPU, 1, 1, L2, 1, 2, LLC, 1, 4, Remote, 1, 32),
	// Four packages and no node folder: one node holding them all, so
	// CPUs 1 and 2 (different packages) share the node.
	"16em64t-4s2c2t.tar.bz2": place(SameCPU, 1, 1, SMT, 1, 9, LLC, 1, 5, Node, 1, 2),
	// Hybrid: P-cores with 2 threads (0-1, 2-3, ...), E-cores in clusters
	// of four sharing an L2 (12-15, 16-19). CPU 1 is CPU 0's sibling, so
	// the llc pair is the next two P-cores, 2 and 4.
	"20em64t-hybrid-1p6c2t+2ca4co1t.tar.bz2": place(SameCPU, 2, 2, SMT, 2, 3, L2, 12, 13, LLC, 2, 4),
	// Two CPUs, no caches, no node folder: the only pair uses CPU 0.
	"2arm-2c.tar.bz2": place(SameCPU, 1, 1, Node, 0, 1),
	// CPUs 0-3 offline; node0 has no folder, so its CPUs (4, 6, ...)
	// are in no node and remote from node 1's.
	"offline-cpu0-node0.tar.bz2": place(SameCPU, 4, 4, LLC, 4, 6, Remote, 4, 5),
	// Private L3 per core (the L3 shared_cpu_map is all zeros); siblings
	// adjacent (0-1, 2-3, ...), so CPU 1, CPU 0's sibling, is avoided.
	"8ia64-2s2c2t.tar.bz2": place(SameCPU, 2, 2, SMT, 2, 3, Node, 2, 4),
	"xeon16-vm.tar.gz":     place(SameCPU, 1, 1, LLC, 1, 2),
}

// checkInvariants checks what must hold on any topology.
func checkInvariants(t *testing.T, topo *Topology) {
	t.Helper()
	var union CPUSet
	for _, c := range topo.Cores {
		if !c.CPUs.Intersect(union).IsEmpty() {
			t.Errorf("core %d (%s) overlaps another core", c.ID, c.CPUs)
		}
		union = union.Union(c.CPUs)
	}
	if union != topo.Online {
		t.Errorf("cores cover %s, online is %s", union, topo.Online)
	}
	for _, c := range topo.CPUs {
		if !topo.Cores[c.Core].CPUs.Has(c.ID) {
			t.Errorf("CPU %d not in its core %s", c.ID, topo.Cores[c.Core].CPUs)
		}
		for _, ci := range c.Caches {
			if !topo.Caches[ci].CPUs.Has(c.ID) || !topo.Cores[c.Core].CPUs.IsSubset(topo.Caches[ci].CPUs) && topo.Caches[ci].Level > 1 {
				t.Errorf("CPU %d: cache L%d %s does not hold its core", c.ID, topo.Caches[ci].Level, topo.Caches[ci].CPUs)
			}
		}
	}
	pl := topo.Placements()
	for cl, p := range pl {
		if got := topo.Relation(p.A, p.B); got != cl {
			t.Errorf("placement %s pair %v has relation %s", cl, p, got)
		}
		// CPU 0, and then CPU 0's SMT siblings, only when no pair of
		// this class avoids them.
		tier := func(q Pair) int {
			return max(topo.housekeepingTier(topo.index[q.A]), topo.housekeepingTier(topo.index[q.B]))
		}
		if cl != SameCPU && tier(p) > 0 {
			for _, q := range topo.AllPairs() {
				if tier(q) < tier(p) && topo.Relation(q.A, q.B) == cl {
					t.Errorf("placement %s pair %v shares CPU 0's core (tier %d), yet %v (tier %d) does not", cl, p, tier(p), q, tier(q))
					break
				}
			}
		}
	}
	if _, ok := pl[SameCPU]; !ok {
		t.Errorf("no samecpu placement")
	}
}

// TestFilteredExtraction checks, on two small captures, that extracting only
// the files needed finds the same machine as extracting everything.
func TestFilteredExtraction(t *testing.T) {
	for _, archive := range []string{"hwloc/16em64t-4s2c2t-offlines.tar.bz2", "hwloc/offline-cpu0-node0.tar.bz2"} {
		path := filepath.Join(sharedTopologies, archive)
		if _, err := os.Stat(path); err != nil {
			t.Skipf("shared capture %s not available (%v); skipping", archive, err)
		}
		fullRoot := extractFiltered(t, path, t.TempDir(), func([]string) bool { return true })
		full, err := DiscoverRoot(fullRoot)
		if err != nil {
			t.Fatal(err)
		}
		partRoot := extract(t, path, t.TempDir())
		part, err := DiscoverRoot(partRoot)
		if err != nil {
			t.Fatal(err)
		}
		a, b := full.JSON(), part.JSON()
		a.Source, b.Source = "", ""
		for i := range a.Warnings { // they name files under their roots
			a.Warnings[i] = strings.ReplaceAll(a.Warnings[i], fullRoot, "ROOT")
		}
		for i := range b.Warnings {
			b.Warnings[i] = strings.ReplaceAll(b.Warnings[i], partRoot, "ROOT")
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Errorf("%s: filtered extraction changes discovery:\nfull %s\npart %s", archive, ja, jb)
		}
	}
}
