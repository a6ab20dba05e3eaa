package affinity

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Topology is one machine as discovery found it: its online logical CPUs,
// cores, packages, caches and NUMA nodes, and the CPUs this process may use.
//
// A Topology is immutable once Discover or DiscoverRoot returns it (callers
// must not modify its slices either), so goroutines may share it freely.
type Topology struct {
	// Root is the folder a capture was read from; "" for the live machine.
	Root string
	// CPUs holds every online logical CPU, ascending by ID.
	CPUs []CPU
	// Cores holds the cores (sets of SMT siblings), ordered by lowest CPU;
	// CPU.Core indexes it.
	Cores []Core
	// Packages holds the packages (sockets), ordered by lowest CPU.
	Packages []Package
	// Caches holds each distinct cache domain once (level, type and
	// sharing set), ordered by level, type, then lowest CPU; CPU.Caches
	// indexes it.
	Caches []Cache
	// Nodes holds the NUMA nodes ascending by ID, including nodes without
	// CPUs. A machine whose kernel shows no node folder has one node, 0,
	// holding every CPU.
	Nodes []NUMANode
	// Online is the set of online CPUs (the IDs in CPUs).
	Online CPUSet
	// Allowed is the set of CPUs this process may use: the affinity mask
	// intersected with Online on the live machine, Online for a capture.
	Allowed CPUSet
	// Model is the CPU model name from /proc/cpuinfo ("model name", or
	// the nearest field other architectures print), or from cpuid on the
	// live machine when cpuinfo has none; "" when unknown.
	Model string
	// Identity is what cpuid (live) or /proc/cpuinfo (capture) says about
	// the processor.
	Identity Identity
	// Warnings name sysfs files whose content discovery did not take at
	// its word (sibling lists that disagree between CPUs, an empty list
	// beside a non-empty mask), each with what was done instead. pinbench
	// topology prints them, and the benchmarks' configuration lines carry
	// them into the report.
	Warnings []string

	index map[int]int // CPU ID -> position in CPUs
	rel   []relKey    // per CPU, aligned with CPUs; see Relation

	placeOnce sync.Once      // guards places, computed on first use
	places    map[Class]Pair // never modified after placeOnce
}

// CPU is one online logical CPU (a hardware thread, hwloc's PU).
type CPU struct {
	// ID is the kernel's CPU number.
	ID int
	// Core indexes Topology.Cores.
	Core int
	// CoreID is the kernel's core_id, which is not unique on its own; -1
	// when the kernel gives none.
	CoreID int
	// Package is the kernel's physical_package_id (0 when absent).
	Package int
	// Die is the kernel's die_id, or -1 when the kernel gives none.
	Die int
	// Cluster is the kernel's cluster_id, or -1 when the kernel gives none.
	Cluster int
	// ClusterCPUs is the online CPUs of its cluster (cluster_cpus_list),
	// empty when the kernel gives none.
	ClusterCPUs CPUSet
	// Node is its NUMA node, or -1 when node folders exist but none lists
	// this CPU.
	Node int
	// Caches indexes Topology.Caches, innermost level first.
	Caches []int
}

// Core is a set of SMT siblings: the logical CPUs of one physical core.
type Core struct {
	// ID is the core's index in Topology.Cores.
	ID int
	// CPUs holds its online logical CPUs.
	CPUs CPUSet
	// Package is the physical_package_id of its CPUs.
	Package int
}

// Package is one processor package (socket).
type Package struct {
	// ID is the kernel's physical_package_id.
	ID int
	// CPUs holds its online logical CPUs.
	CPUs CPUSet
}

// Cache is one cache domain: a cache of one level and type and the online
// CPUs sharing it.
type Cache struct {
	// Level is 1 for L1, 2 for L2, and so on.
	Level int
	// Type is "Data", "Instruction" or "Unified" as sysfs writes it.
	Type string
	// Size is in bytes; 0 when unknown.
	Size int64
	// LineSize is coherency_line_size in bytes; 0 when unknown.
	LineSize int
	// CPUs holds the online CPUs sharing it (shared_cpu_list or
	// shared_cpu_map; the CPU's core when the kernel gives neither or an
	// empty set).
	CPUs CPUSet
}

// NUMANode is one NUMA node.
type NUMANode struct {
	// ID is the kernel's node number.
	ID int
	// CPUs holds its online CPUs; empty for a CPU-less (memory-only) node.
	CPUs CPUSet
	// Distances is the node's row of the distance table, one entry per
	// node of Topology.Nodes in the same order; nil when unknown.
	Distances []int
}

// Identity is what the processor says about itself.
type Identity struct {
	// Vendor is the vendor string ("GenuineIntel", "AuthenticAMD"); "" when
	// unknown.
	Vendor string
	// Brand is the brand string (cpuid) or model name (cpuinfo).
	Brand string
	// CacheLine is the cache line size in bytes; 0 when unknown.
	CacheLine int
	// Hypervisor names the hypervisor the machine runs under ("KVM",
	// "VMware", or "unknown" when only the hypervisor flag is set); ""
	// on bare metal or when unknown.
	Hypervisor string
	// Hybrid reports a processor with more than one kind of core (Intel
	// P-cores and E-cores); known on the live machine only.
	Hybrid bool
	// FromCPUID reports that the fields came from the cpuid instruction
	// rather than /proc/cpuinfo.
	FromCPUID bool
}

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

// sysReader reads sysfs files through fsys, naming the file in errors by its
// path under root (fsys is os.DirFS(root) in discovery, an fstest.MapFS in a
// test).
type sysReader struct {
	fsys fs.FS
	root string
}

func (r sysReader) path(rel string) string { return filepath.Join(r.root, rel) }

// rooted names the file of an *fs.PathError by its path under root, as the
// operating system would, rather than by its name in fsys.
func (r sysReader) rooted(err error, rel string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == rel {
		pe.Path = r.path(rel)
	}
	return err
}

// read returns the trimmed content of a file; ok is false when it does not
// exist.
func (r sysReader) read(rel string) (s string, ok bool, err error) {
	b, err := fs.ReadFile(r.fsys, rel)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("affinity: %w", r.rooted(err, rel))
	}
	return trimSysfs(string(b)), true, nil
}

// readInt reads a decimal integer; ok is false when the file does not exist.
func (r sysReader) readInt(rel string) (n int, ok bool, err error) {
	s, ok, err := r.read(rel)
	if !ok || err != nil {
		return 0, ok, err
	}
	n, err = strconv.Atoi(s)
	if err != nil {
		return 0, false, &PathError{r.path(rel), fmt.Errorf("malformed integer %s", quote(s))}
	}
	return n, true, nil
}

// readSet reads a CPU set from list (the *_list file) or, when that is
// missing, mask (the hex file); either name may be "". ok is false when
// neither exists.
func (r sysReader) readSet(list, mask string) (set CPUSet, ok bool, err error) {
	if list != "" {
		s, ok, err := r.read(list)
		if err != nil {
			return CPUSet{}, false, err
		}
		if ok {
			set, err := ParseList(s)
			if err != nil {
				return CPUSet{}, false, &PathError{r.path(list), err}
			}
			return set, true, nil
		}
	}
	if mask != "" {
		s, ok, err := r.read(mask)
		if err != nil {
			return CPUSet{}, false, err
		}
		if ok {
			set, err := ParseMask(s)
			if err != nil {
				return CPUSet{}, false, &PathError{r.path(mask), err}
			}
			return set, true, nil
		}
	}
	return CPUSet{}, false, nil
}

// numbered lists the entries of dir named prefix+N, as sorted numbers.
func (r sysReader) numbered(dir, prefix string) ([]int, bool, error) {
	ents, err := fs.ReadDir(r.fsys, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("affinity: %w", r.rooted(err, dir))
	}
	var ns []int
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || rest == "" {
			continue
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 || strconv.Itoa(n) != rest {
			continue // cpufreq, cpuidle, ...
		}
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns, true, nil
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
	return discoverFS(os.DirFS(root), root)
}

// discoverFS is discover reading through fsys, whose files are named in
// errors by their path under root.
func discoverFS(fsys fs.FS, root string) (*Topology, error) {
	r := sysReader{fsys, root}
	ids, ok, err := r.numbered(cpuDir, "cpu")
	if err != nil {
		return nil, err
	}
	if !ok || len(ids) == 0 {
		return nil, fmt.Errorf("affinity: %s: no CPU folders (is %s a sysfs root?)", r.path(cpuDir), root)
	}

	// Online CPUs: cpuN/online says 0 or 1; CPU 0 often has no such file
	// and is online.
	var online CPUSet
	for _, id := range ids {
		if id >= MaxCPUs {
			return nil, fmt.Errorf("affinity: %s: CPU number beyond the limit of %d CPUs", r.path(fmt.Sprintf("%s/cpu%d", cpuDir, id)), MaxCPUs)
		}
		// An online file that is empty or only whitespace counts as
		// online, as hwloc takes it.
		if s, ok, err := r.read(fmt.Sprintf("%s/cpu%d/online", cpuDir, id)); err == nil && ok && s == "" {
			online.Add(id)
			continue
		}
		n, ok, err := r.readInt(fmt.Sprintf("%s/cpu%d/online", cpuDir, id))
		if err != nil {
			return nil, err
		}
		if ok && n != 0 && n != 1 {
			return nil, fmt.Errorf("affinity: %s: online is %d, want 0 or 1", r.path(fmt.Sprintf("%s/cpu%d/online", cpuDir, id)), n)
		}
		if !ok || n == 1 {
			online.Add(id)
		}
	}
	if online.IsEmpty() {
		return nil, fmt.Errorf("affinity: %s: no online CPU", r.path(cpuDir))
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

	// Cores: union the sibling sets, so one CPU whose file forgets a
	// sibling cannot split a core.
	parent := make([]int, len(raws))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for i, rc := range raws {
		for s := range rc.siblings.All() {
			if j, ok := t.index[s]; ok {
				parent[find(j)] = find(i)
			}
		}
	}
	coreSets := map[int]CPUSet{}
	for i, rc := range raws {
		root := find(i)
		s := coreSets[root]
		s.Add(rc.id)
		coreSets[root] = s
	}
	// Every CPU of a core should list the same siblings; where they
	// disagree the core is their union, and the capture says so.
	for i, rc := range raws {
		if core := coreSets[find(i)]; core != rc.siblings {
			t.Warnings = append(t.Warnings, fmt.Sprintf("%s lists SMT siblings %s, but the CPUs it shares a core with make the core %s (the lists disagree between CPUs; took the union)",
				r.path(fmt.Sprintf("%s/cpu%d/topology/thread_siblings_list", cpuDir, rc.id)), rc.siblings, core))
		}
	}
	sets := make([]CPUSet, 0, len(coreSets))
	for _, s := range coreSets {
		sets = append(sets, s)
	}
	slices.SortFunc(sets, func(a, b CPUSet) int { return cmp.Compare(a.First(), b.First()) })
	coreOf := map[int]int{}
	for i, s := range sets {
		t.Cores = append(t.Cores, Core{ID: i, CPUs: s, Package: raws[t.index[s.First()]].pkg})
		for c := range s.All() {
			coreOf[c] = i
		}
	}

	// Packages.
	pkgIndex := map[int]int{}
	for _, rc := range raws {
		i, ok := pkgIndex[rc.pkg]
		if !ok {
			i = len(t.Packages)
			pkgIndex[rc.pkg] = i
			t.Packages = append(t.Packages, Package{ID: rc.pkg})
		}
		t.Packages[i].CPUs.Add(rc.id)
	}

	// Caches: a cache domain is (level, type, sharing set); a cache with
	// no (or an empty) sharing set is private to its core.
	type cacheKey struct {
		level int
		typ   string
		cpus  CPUSet
	}
	cacheIndex := map[cacheKey]int{}
	perCPU := make([][]cacheKey, len(raws))
	for i, rc := range raws {
		core := t.Cores[coreOf[rc.id]].CPUs
		for _, c := range rc.caches {
			if c.CPUs.IsEmpty() {
				c.CPUs = core
			}
			c.CPUs.Add(rc.id)
			k := cacheKey{c.Level, c.Type, c.CPUs}
			if _, ok := cacheIndex[k]; !ok {
				cacheIndex[k] = len(t.Caches)
				t.Caches = append(t.Caches, c)
			}
			perCPU[i] = append(perCPU[i], k)
		}
	}
	order := make([]int, len(t.Caches))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ca, cb := t.Caches[a], t.Caches[b]
		return cmp.Or(cmp.Compare(ca.Level, cb.Level), cmp.Compare(typeRank(ca.Type), typeRank(cb.Type)),
			cmp.Compare(ca.Type, cb.Type), cmp.Compare(ca.CPUs.First(), cb.CPUs.First()))
	})
	sorted := make([]Cache, len(order))
	newIndex := make([]int, len(order))
	for n, old := range order {
		sorted[n] = t.Caches[old]
		newIndex[old] = n
	}
	t.Caches = sorted

	// NUMA nodes.
	nodeOf, err := readNodes(r, t)
	if err != nil {
		return nil, err
	}

	for i, rc := range raws {
		c := CPU{
			ID: rc.id, Core: coreOf[rc.id], CoreID: rc.coreID, Package: rc.pkg,
			Die: rc.die, Cluster: rc.clusID, Node: nodeOf(rc.id),
		}
		if rc.hasCluster {
			c.ClusterCPUs = rc.cluster
		}
		for _, k := range perCPU[i] {
			c.Caches = append(c.Caches, newIndex[cacheIndex[k]])
		}
		slices.SortFunc(c.Caches, func(a, b int) int { return cmp.Compare(a, b) })
		c.Caches = slices.Compact(c.Caches)
		t.CPUs = append(t.CPUs, c)
	}

	// Clusters given only as cluster_id: group by package and id.
	for i := range t.CPUs {
		c := &t.CPUs[i]
		if c.Cluster < 0 || !c.ClusterCPUs.IsEmpty() {
			continue
		}
		for _, o := range t.CPUs {
			if o.Package == c.Package && o.Cluster == c.Cluster {
				c.ClusterCPUs.Add(o.ID)
			}
		}
	}

	if err := readCPUInfo(r, t); err != nil {
		return nil, err
	}
	t.buildRelations()
	return t, nil
}

// typeRank orders cache types within a level: data, instruction, unified.
func typeRank(typ string) int {
	switch typ {
	case "Data":
		return 0
	case "Instruction":
		return 1
	case "Unified":
		return 2
	}
	return 3
}

// readCPU reads one online CPU's topology and cache folders. known holds
// the CPUs that have a cpuN folder; a sibling list naming any other is an
// error. Files whose content is replaced add a line to warnings.
func readCPU(r sysReader, id int, online, known CPUSet, warnings *[]string) (rawCPU, error) {
	dir := fmt.Sprintf("%s/cpu%d", cpuDir, id)
	rc := rawCPU{id: id, coreID: -1, die: -1, clusID: -1}
	var err error
	var ok bool
	if rc.pkg, ok, err = r.readInt(dir + "/topology/physical_package_id"); err != nil {
		return rc, err
	}
	if !ok || rc.pkg < 0 {
		rc.pkg = 0 // no package information: one package
	}
	if n, ok, err := r.readInt(dir + "/topology/core_id"); err != nil {
		return rc, err
	} else if ok {
		rc.coreID = n
	}
	if n, ok, err := r.readInt(dir + "/topology/die_id"); err != nil {
		return rc, err
	} else if ok && n >= 0 {
		rc.die = n
	}
	if n, ok, err := r.readInt(dir + "/topology/cluster_id"); err != nil {
		return rc, err
	} else if ok && n >= 0 && n != noCluster {
		rc.clusID = n
	}
	// SMT siblings: thread_siblings(_list), or core_cpus(_list) on newer
	// kernels; offline siblings are dropped and the CPU itself is always in.
	sib, ok, err := r.readSet(dir+"/topology/thread_siblings_list", dir+"/topology/thread_siblings")
	if err != nil {
		return rc, err
	}
	sibFile := dir + "/topology/thread_siblings_list"
	if !ok {
		sibFile = dir + "/topology/core_cpus_list"
		if sib, _, err = r.readSet(dir+"/topology/core_cpus_list", dir+"/topology/core_cpus"); err != nil {
			return rc, err
		}
	}
	if extra := sib.Difference(known); !extra.IsEmpty() {
		return rc, fmt.Errorf("affinity: %s: lists CPUs %s, which have no cpuN folder (this machine has CPUs %s)", r.path(sibFile), extra, known)
	}
	rc.siblings = sib.Intersect(online)
	rc.siblings.Add(id)
	if cl, ok, err := r.readSet(dir+"/topology/cluster_cpus_list", dir+"/topology/cluster_cpus"); err != nil {
		return rc, err
	} else if ok {
		rc.cluster = cl.Intersect(online)
		rc.cluster.Add(id)
		rc.hasCluster = true
	}

	idx, _, err := r.numbered(dir+"/cache", "index")
	if err != nil {
		return rc, err
	}
	for _, k := range idx {
		cdir := fmt.Sprintf("%s/cache/index%d", dir, k)
		var c Cache
		level, ok, err := r.readInt(cdir + "/level")
		if err != nil {
			return rc, err
		}
		if !ok {
			continue // not a cache description
		}
		if level < 1 || level > 4 {
			return rc, fmt.Errorf("affinity: %s: cache level %d (want 1 to 4)", r.path(cdir+"/level"), level)
		}
		c.Level = level
		typ, _, err := r.read(cdir + "/type")
		if err != nil {
			return rc, err
		}
		c.Type = typ
		if s, ok, err := r.read(cdir + "/size"); err != nil {
			return rc, err
		} else if ok {
			if c.Size, err = parseSize(s); err != nil {
				return rc, fmt.Errorf("affinity: %s: %v", r.path(cdir+"/size"), err)
			}
		}
		if n, ok, err := r.readInt(cdir + "/coherency_line_size"); err != nil {
			return rc, err
		} else if ok {
			c.LineSize = n
		}
		shared, _, err := r.readSet(cdir+"/shared_cpu_list", cdir+"/shared_cpu_map")
		if err != nil {
			return rc, err
		}
		if shared.IsEmpty() {
			// An empty list beside a non-empty mask: the list was not
			// filled in (seen in captures); the mask says who shares.
			// Taken as private, the cache would become a phantom
			// domain of its own per core.
			if mask, ok, err := r.readSet("", cdir+"/shared_cpu_map"); err == nil && ok && !mask.IsEmpty() {
				shared = mask
				*warnings = append(*warnings, fmt.Sprintf("%s is empty but shared_cpu_map beside it lists %s: took the map", r.path(cdir+"/shared_cpu_list"), mask))
			}
		}
		c.CPUs = shared.Intersect(online) // empty: private to the core, decided later
		rc.caches = append(rc.caches, c)
	}
	return rc, nil
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
		if s, ok, err := r.read(dir + "/distance"); err != nil {
			return nil, err
		} else if ok {
			for f := range strings.FieldsSeq(s) {
				d, err := strconv.Atoi(f)
				if err != nil || d < 0 {
					return nil, fmt.Errorf("affinity: %s: malformed distance %s", r.path(dir+"/distance"), quote(f))
				}
				n.Distances = append(n.Distances, d)
			}
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

// readCPUInfo sets Model and the cpuinfo side of Identity.
func readCPUInfo(r sysReader, t *Topology) error {
	s, ok, err := r.read("proc/cpuinfo")
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

// CPU returns the online CPU with the given ID.
func (t *Topology) CPU(id int) (CPU, bool) {
	i, ok := t.index[id]
	if !ok {
		return CPU{}, false
	}
	return t.CPUs[i], true
}

// L3Groups returns the number of distinct level-3 cache domains (0 when the
// machine has no L3).
func (t *Topology) L3Groups() int {
	n := 0
	for _, c := range t.Caches {
		if c.Level == 3 && c.Type != "Instruction" {
			n++
		}
	}
	return n
}

// NodeCPUs returns the allowed CPUs of NUMA node node (empty for an unknown
// or CPU-less node), for pinning a thread to a whole node.
func (t *Topology) NodeCPUs(node int) CPUSet {
	for _, n := range t.Nodes {
		if n.ID == node {
			return n.CPUs.Intersect(t.Allowed)
		}
	}
	return CPUSet{}
}

// Distance returns the NUMA distance from node a to node b, or -1 when
// unknown.
func (t *Topology) Distance(a, b int) int {
	ia := slices.IndexFunc(t.Nodes, func(n NUMANode) bool { return n.ID == a })
	ib := slices.IndexFunc(t.Nodes, func(n NUMANode) bool { return n.ID == b })
	if ia < 0 || ib < 0 || ib >= len(t.Nodes[ia].Distances) {
		return -1
	}
	return t.Nodes[ia].Distances[ib]
}

// Hypervisor names the hypervisor the machine runs under, "" on bare metal:
// the cpuid hypervisor vendor on the live machine, "unknown" when only
// /proc/cpuinfo's hypervisor flag says there is one.
func (t *Topology) Hypervisor() string { return t.Identity.Hypervisor }

// Summary describes the machine in one line: "1 package, 1 node, 1 L3, 2
// cores, 2 CPUs", with "; allowed LIST" added when the process may not use
// every online CPU.
func (t *Topology) Summary() string {
	plural := func(n int, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.Itoa(n) + " " + one + "s"
	}
	l3 := "no L3"
	if n := t.L3Groups(); n > 0 {
		l3 = strconv.Itoa(n) + " L3"
	}
	s := fmt.Sprintf("%s, %s, %s, %s, %s", plural(len(t.Packages), "package"), plural(len(t.Nodes), "node"),
		l3, plural(len(t.Cores), "core"), plural(len(t.CPUs), "CPU"))
	if t.Allowed != t.Online {
		s += "; allowed " + t.Allowed.String()
	}
	return s
}
