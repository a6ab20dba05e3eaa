package affinity

import (
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
)

// DiscoverRoot reads the machine captured under root: root/sys/devices/system
// (cpu and node) and root/proc/cpuinfo, as sysfs and procfs lay them out.
// Allowed is every online CPU. A root without a CPU folder, or a file with
// malformed content, is an error naming the file; files the kernel does not
// always provide (online, die and cluster files, caches, node folders,
// cpuinfo) may be missing. It reads through os.DirFS(root); a file's
// malformed content is a *PathError.
func DiscoverRoot(root string) (*Topology, error) {
	t, err := discover(root)
	if err != nil {
		return nil, err
	}
	t.Root = root
	t.Allowed = t.Online
	return t, nil
}

// DiscoverFS is DiscoverRoot reading the tree from fsys, whose root holds
// sys/ (and proc/): a capture held in memory. root names the capture in
// errors and becomes the topology's Root; Governor, which reads under Root
// on disk when asked, says "unknown" unless a folder lies there.
func DiscoverFS(fsys fs.FS, root string) (*Topology, error) {
	t, err := discoverFS(fsys, root)
	if err != nil {
		return nil, err
	}
	t.Root = root
	t.Allowed = t.Online
	return t, nil
}

// rawCPU is what sysfs says about one online CPU before cross-checking.
type rawCPU struct {
	id                       int
	coreID, pkg, die, clusID int
	siblings, cluster        CPUSet
	hasCluster               bool
	caches                   []Cache
}

const cpuDir = "sys/devices/system/cpu"
const nodeDir = "sys/devices/system/node"

func discover(root string) (*Topology, error) {
	if fi, err := os.Stat(root); err != nil {
		return nil, fmt.Errorf("affinity: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("affinity: %s is not a folder", root)
	}
	return discoverWith(sysReader{fsys: os.DirFS(root), root: root, dir: root})
}

// discoverFS is discover reading through fsys, whose files are named in
// errors by their path under root.
func discoverFS(fsys fs.FS, root string) (*Topology, error) {
	return discoverWith(sysReader{fsys: fsys, root: root})
}

// discoverWith reads every online CPU through r (readCPU), groups them into
// cores, packages and cache domains (group.go), reads the NUMA nodes and
// cpuinfo, and derives the placement relations.
func discoverWith(r sysReader) (*Topology, error) {
	root := r.root
	ids, online, err := readOnline(r, root)
	if err != nil {
		return nil, err
	}

	t := &Topology{Online: online}
	known := NewCPUSet(ids...)
	raws := make([]rawCPU, 0, online.Count())
	for id := range online.All() {
		rc, err := readCPU(r, id, online, known, &t.Warnings)
		if err != nil {
			return nil, err
		}
		raws = append(raws, rc)
	}
	t.index = make(map[int]int, len(raws))
	for i, rc := range raws {
		t.index[rc.id] = i
	}

	coreOf := groupCores(r, t, raws)
	groupPackages(t, raws)
	cachesOf := groupCaches(t, raws, coreOf)

	// NUMA nodes.
	nodeOf, err := readNodes(r, t)
	if err != nil {
		return nil, err
	}

	buildCPUs(t, raws, coreOf, nodeOf, cachesOf)

	if err := readCPUInfo(r, t); err != nil {
		return nil, err
	}
	if err := readDeviceTree(r, t); err != nil {
		return nil, err
	}
	t.buildRelations()
	return t, nil
}

// readOnline lists the CPU folders under root and returns their numbers
// and the set of those online.
func readOnline(r sysReader, root string) (ids []int, online CPUSet, err error) {
	ids, ok, err := r.numbered(cpuDir, "cpu")
	if err != nil {
		return nil, CPUSet{}, err
	}
	if !ok || len(ids) == 0 {
		return nil, CPUSet{}, fmt.Errorf("affinity: %s: no CPU folders (is %s a sysfs root?)", r.path(cpuDir), root)
	}

	// Online CPUs: cpuN/online says 0 or 1; CPU 0 often has no such file
	// and is online.
	for _, id := range ids {
		if id >= MaxCPUs {
			return nil, CPUSet{}, fmt.Errorf("affinity: %s: CPU number beyond the limit of %d CPUs", r.path(fmt.Sprintf("%s/cpu%d", cpuDir, id)), MaxCPUs)
		}
		// An online file that is empty or only whitespace counts as
		// online, as hwloc takes it.
		if s, ok, err := r.read(fmt.Sprintf("%s/cpu%d/online", cpuDir, id)); err == nil && ok && s == "" {
			online.Add(id)
			continue
		}
		n, ok, err := r.readInt(fmt.Sprintf("%s/cpu%d/online", cpuDir, id))
		if err != nil {
			return nil, CPUSet{}, err
		}
		if ok && n != 0 && n != 1 {
			return nil, CPUSet{}, fmt.Errorf("affinity: %s: online is %d, want 0 or 1", r.path(fmt.Sprintf("%s/cpu%d/online", cpuDir, id)), n)
		}
		if !ok || n == 1 {
			online.Add(id)
		}
	}
	if online.IsEmpty() {
		return nil, CPUSet{}, fmt.Errorf("affinity: %s: no online CPU", r.path(cpuDir))
	}
	return ids, online, nil
}

// readCPU reads one online CPU's topology and cache folders. known holds
// the CPUs that have a cpuN folder; a sibling list naming any other is an
// error. Files whose content is replaced add a line to warnings.
func readCPU(r sysReader, id int, online, known CPUSet, warnings *[]string) (rawCPU, error) {
	dir := fmt.Sprintf("%s/cpu%d", cpuDir, id)
	rc := rawCPU{id: id, coreID: -1, die: -1, clusID: -1}
	if err := readTopologyIDs(r, dir, &rc); err != nil {
		return rc, err
	}
	if err := readSiblings(r, dir, online, known, &rc); err != nil {
		return rc, err
	}
	idx, _, err := r.numbered(dir+"/cache", "index")
	if err != nil {
		return rc, err
	}
	for _, k := range idx {
		c, ok, err := readCache(r, fmt.Sprintf("%s/cache/index%d", dir, k), online, warnings)
		if err != nil {
			return rc, err
		}
		if ok {
			rc.caches = append(rc.caches, c)
		}
	}
	return rc, nil
}

// readTopologyIDs reads the CPU's package, core, die and cluster numbers
// from its topology folder; a missing or negative one keeps rc's default.
func readTopologyIDs(r sysReader, dir string, rc *rawCPU) error {
	var err error
	var ok bool
	if rc.pkg, ok, err = r.readInt(dir + "/topology/physical_package_id"); err != nil {
		return err
	}
	if !ok || rc.pkg < 0 {
		rc.pkg = 0 // no package information: one package
	}
	if n, ok, err := r.readInt(dir + "/topology/core_id"); err != nil {
		return err
	} else if ok {
		rc.coreID = n
	}
	if n, ok, err := r.readInt(dir + "/topology/die_id"); err != nil {
		return err
	} else if ok && n >= 0 {
		rc.die = n
	}
	if n, ok, err := r.readInt(dir + "/topology/cluster_id"); err != nil {
		return err
	} else if ok && n >= 0 && n != noCluster {
		rc.clusID = n
	}
	return nil
}

// readSiblings reads the CPU's SMT siblings (thread_siblings(_list), or
// core_cpus(_list) on newer kernels) and its cluster: offline CPUs are
// dropped and the CPU itself is always in.
func readSiblings(r sysReader, dir string, online, known CPUSet, rc *rawCPU) error {
	sib, ok, err := r.readSet(dir+"/topology/thread_siblings_list", dir+"/topology/thread_siblings")
	if err != nil {
		return err
	}
	sibFile := dir + "/topology/thread_siblings_list"
	if !ok {
		sibFile = dir + "/topology/core_cpus_list"
		if sib, _, err = r.readSet(dir+"/topology/core_cpus_list", dir+"/topology/core_cpus"); err != nil {
			return err
		}
	}
	if extra := sib.Difference(known); !extra.IsEmpty() {
		return fmt.Errorf("affinity: %s: lists CPUs %s, which have no cpuN folder (this machine has CPUs %s)", r.path(sibFile), extra, known)
	}
	rc.siblings = sib.Intersect(online)
	rc.siblings.Add(rc.id)
	if cl, ok, err := r.readSet(dir+"/topology/cluster_cpus_list", dir+"/topology/cluster_cpus"); err != nil {
		return err
	} else if ok {
		rc.cluster = cl.Intersect(online)
		rc.cluster.Add(rc.id)
		rc.hasCluster = true
	}
	return nil
}

// readCache reads one cache/indexN folder, cdir. It reports false for a
// folder without a level, which describes no cache. Its CPUs are the
// online ones sharing it; empty means private to the core, decided later.
func readCache(r sysReader, cdir string, online CPUSet, warnings *[]string) (Cache, bool, error) {
	var c Cache
	level, ok, err := r.readInt(cdir + "/level")
	if err != nil || !ok {
		return c, false, err
	}
	if level < 1 || level > 4 {
		return c, false, fmt.Errorf("affinity: %s: cache level %d (want 1 to 4)", r.path(cdir+"/level"), level)
	}
	c.Level = level
	if c.Type, _, err = r.read(cdir + "/type"); err != nil {
		return c, false, err
	}
	if s, ok, err := r.read(cdir + "/size"); err != nil {
		return c, false, err
	} else if ok {
		if c.Size, err = parseSize(s); err != nil {
			return c, false, fmt.Errorf("affinity: %s: %v", r.path(cdir+"/size"), err)
		}
	}
	if n, ok, err := r.readInt(cdir + "/coherency_line_size"); err != nil {
		return c, false, err
	} else if ok {
		c.LineSize = n
	}
	shared, _, err := r.readSet(cdir+"/shared_cpu_list", cdir+"/shared_cpu_map")
	if err != nil {
		return c, false, err
	}
	if shared.IsEmpty() {
		// An empty list beside a non-empty mask: the list was not filled
		// in (seen in captures); the mask says who shares. Taken as
		// private, the cache would become a phantom domain of its own
		// per core.
		if mask, ok, err := r.readSet("", cdir+"/shared_cpu_map"); err == nil && ok && !mask.IsEmpty() {
			shared = mask
			*warnings = append(*warnings, fmt.Sprintf("%s is empty but shared_cpu_map beside it lists %s: took the map", r.path(cdir+"/shared_cpu_list"), mask))
		}
	}
	c.CPUs = shared.Intersect(online)
	return c, true, nil
}

// noCluster is the cluster_id the kernel writes when it knows no cluster
// (an unsigned 16-bit -1): no cluster, not cluster 65535.
const noCluster = 65535

// parseSize parses a sysfs cache size: "32K", "1024K", "8M", "512".
func parseSize(s string) (int64, error) {
	mult := int64(1)
	num := s
	switch {
	case strings.HasSuffix(s, "K"):
		mult, num = 1<<10, s[:len(s)-1]
	case strings.HasSuffix(s, "M"):
		mult, num = 1<<20, s[:len(s)-1]
	case strings.HasSuffix(s, "G"):
		mult, num = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > 1<<40 {
		return 0, fmt.Errorf("malformed cache size %s", quote(s))
	}
	return n * mult, nil
}

// readNodes fills t.Nodes and returns the CPU -> node mapping.
func readNodes(r sysReader, t *Topology) (func(int) int, error) {
	ids, _, err := r.numbered(nodeDir, "node")
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		t.Nodes = []NUMANode{{ID: 0, CPUs: t.Online}}
		return func(int) int { return 0 }, nil
	}
	owner := map[int]int{}
	for _, id := range ids {
		dir := fmt.Sprintf("%s/node%d", nodeDir, id)
		set, ok, err := r.readSet(dir+"/cpulist", dir+"/cpumap")
		if err != nil {
			return nil, err
		}
		if !ok {
			// Some captures hold only cpuN links inside the node folder.
			cpus, _, err := r.numbered(dir, "cpu")
			if err != nil {
				return nil, err
			}
			set = NewCPUSet(cpus...)
		}
		n := NUMANode{ID: id, CPUs: set.Intersect(t.Online)}
		if n.Distances, err = readDistances(r, dir+"/distance", len(ids), &t.Warnings); err != nil {
			return nil, err
		}
		for c := range n.CPUs.All() {
			if prev, dup := owner[c]; dup {
				return nil, fmt.Errorf("affinity: %s: CPU %d is also in node %d", r.path(dir+"/cpulist"), c, prev)
			}
			owner[c] = id
		}
		t.Nodes = append(t.Nodes, n)
	}
	return func(cpu int) int {
		if n, ok := owner[cpu]; ok {
			return n
		}
		return -1
	}, nil
}

// readDistances reads a node's row of the distance table, which holds one
// distance per node. A row of another length is dropped (nil: unknown)
// with a warning: the kernel writes one per online node, and a capture
// whose node folders were edited may keep the old row (hwloc's
// offline-cpu0-node0), which taken in order would give wrong distances.
func readDistances(r sysReader, rel string, nodes int, warnings *[]string) ([]int, error) {
	s, ok, err := r.read(rel)
	if err != nil || !ok {
		return nil, err
	}
	var row []int
	for f := range strings.FieldsSeq(s) {
		d, err := strconv.Atoi(f)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("affinity: %s: malformed distance %s", r.path(rel), quote(f))
		}
		row = append(row, d)
	}
	if len(row) != nodes {
		*warnings = append(*warnings, fmt.Sprintf("%s lists %d distances, want %d (one per NUMA node): took this node's distances as unknown", r.path(rel), len(row), nodes))
		return nil, nil
	}
	return row, nil
}

// readCPUInfo sets Model and the cpuinfo side of Identity.
func readCPUInfo(r sysReader, t *Topology) error {
	s, ok, err := r.readMax("proc/cpuinfo", maxCPUInfo)
	if err != nil || !ok {
		return err
	}
	fields := map[string]string{}
	for line := range strings.Lines(s) {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if _, seen := fields[k]; !seen {
			fields[k] = strings.TrimSpace(v)
		}
	}
	// x86 "model name"; old ARM "Processor"; ia64 "model name"/"family";
	// POWER "cpu"; s390 "machine"; RISC-V "uarch".
	for _, k := range []string{"model name", "Processor", "cpu model", "cpu", "uarch", "family", "machine"} {
		if v := fields[k]; v != "" {
			t.Model = v
			break
		}
	}
	if p := fields["CPU part"]; t.Model == "" && p != "" {
		// arm64 names no model, only the MIDR's implementer and part.
		t.Model = "implementer " + fields["CPU implementer"] + " part " + p
	}
	t.Identity.Vendor = fields["vendor_id"]
	if t.Identity.Vendor == "" {
		t.Identity.Vendor = fields["vendor"]
	}
	t.Identity.Brand = t.Model
	if n, err := strconv.Atoi(fields["cache_alignment"]); err == nil {
		t.Identity.CacheLine = n
	}
	for f := range strings.FieldsSeq(fields["flags"]) {
		if f == "hypervisor" {
			t.Identity.Hypervisor = "unknown"
		}
	}
	return nil
}

// devTree is the device tree the kernel booted with, where it had one.
const devTree = "sys/firmware/devicetree/base"

// readDeviceTree names the hypervisor of a machine the kernel booted from a
// device tree, whose cpuinfo has no hypervisor flag (arm64 and others):
// the board "linux,dummy-virt" is a virtual machine (QEMU's virt board,
// kvmtool), and one with a fw-cfg node is QEMU's. QEMU's virt board looks
// the same from inside under TCG and under KVM, so both are "QEMU".
func readDeviceTree(r sysReader, t *Topology) error {
	if t.Identity.Hypervisor != "" {
		return nil
	}
	s, ok, err := r.read(devTree + "/compatible")
	if err != nil || !ok || !slices.Contains(strings.Split(s, "\x00"), "linux,dummy-virt") {
		return err
	}
	t.Identity.Hypervisor = "unknown"
	ents, err := fs.ReadDir(r.fsys, devTree)
	if err != nil {
		return fmt.Errorf("affinity: %w", r.rooted(err, devTree))
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "fw-cfg@") {
			t.Identity.Hypervisor = "QEMU"
		}
	}
	return nil
}
