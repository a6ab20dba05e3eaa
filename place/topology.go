package place

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pinbench/pinbench/affinity"
)

// A results folder may come from another machine, so its topology is read
// from the folder's topology.json (affinity.TopologyJSON, what the tuning
// run writes), not from this machine. affinity discovers topologies from
// sysfs trees only, so ReadTopologyJSON writes the JSON back out as the
// sysfs files discovery reads (a private temporary folder, removed before
// it returns) and discovers that: the placement classes then come from
// the same code that classified the run's own benchmarks.

// maxTopologyBytes bounds topology.json: a 4096-CPU machine writes about
// 2 MB.
const maxTopologyBytes = 64 << 20

// ReadTopologyJSON reads a topology written as affinity.TopologyJSON
// (a results folder's topology.json) and rebuilds the Topology: CPUs,
// cores, packages, dies, clusters, caches, NUMA nodes with distances,
// and the model name. Allowed is every online CPU, as for a capture (the
// run's own allowed set is in its bench.txt; see Results.Allowed); Root
// is path. Errors name the file and what is wrong.
func ReadTopologyJSON(path string) (*affinity.Topology, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("place: topology: %w", err)
	}
	if len(data) > maxTopologyBytes {
		return nil, fmt.Errorf("place: topology %s: larger than %d bytes", path, maxTopologyBytes)
	}
	var j affinity.TopologyJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("place: topology %s: %s", path, jsonError(data, err))
	}
	if len(j.CPUs) == 0 {
		return nil, fmt.Errorf("place: topology %s: no CPUs", path)
	}
	tmp, err := scratchDir("pinbench-place-topology")
	if err != nil {
		return nil, fmt.Errorf("place: topology %s: %w", path, err)
	}
	defer os.RemoveAll(tmp)
	if err := writeSysfs(tmp, j); err != nil {
		return nil, fmt.Errorf("place: topology %s: %w", path, err)
	}
	t, err := affinity.DiscoverRoot(tmp)
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), tmp+string(filepath.Separator), "")
		return nil, fmt.Errorf("place: topology %s: %s", path, msg)
	}
	t.Root = path
	return t, nil
}

// scratchDir makes a temporary folder for a sysfs tree: in /dev/shm where
// that works (memory-backed on Linux: a 256-CPU tree is 6000 small files,
// which a slow disk takes seconds to create), else in the default
// temporary folder.
func scratchDir(prefix string) (string, error) {
	if dir, err := os.MkdirTemp("/dev/shm", prefix); err == nil {
		return dir, nil
	}
	return os.MkdirTemp("", prefix)
}

// sysfsWriter collects the files of a sysfs tree, then writes them.
type sysfsWriter struct {
	files map[string]string
}

func (w *sysfsWriter) put(path, content string) { w.files[path] = content + "\n" }

// writeSysfs writes the sysfs and procfs files that affinity discovery
// reads for the machine j describes.
func writeSysfs(root string, j affinity.TopologyJSON) error {
	w := &sysfsWriter{files: map[string]string{}}
	core := map[int]affinity.CPUSet{}
	for _, c := range j.CPUs {
		if c.ID < 0 || c.ID >= affinity.MaxCPUs {
			return fmt.Errorf("CPU id %d outside 0-%d", c.ID, affinity.MaxCPUs-1)
		}
		s := core[c.Core]
		s.Add(c.ID)
		core[c.Core] = s
	}
	for _, c := range j.CPUs {
		if err := w.cpu(c, core[c.Core]); err != nil {
			return fmt.Errorf("CPU %d: %w", c.ID, err)
		}
	}
	for _, n := range j.Nodes {
		if err := w.node(n); err != nil {
			return fmt.Errorf("node %d: %w", n.ID, err)
		}
	}
	w.cpuinfo(j)
	made := map[string]bool{}
	for p, content := range w.files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if dir := filepath.Dir(full); !made[dir] {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			made[dir] = true
		}
		if err := os.WriteFile(full, []byte(content), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// cpu adds one CPU's topology and cache files.
func (w *sysfsWriter) cpu(c affinity.CPUJSON, siblings affinity.CPUSet) error {
	dir := fmt.Sprintf("sys/devices/system/cpu/cpu%d", c.ID)
	w.put(dir+"/topology/physical_package_id", strconv.Itoa(c.Package))
	w.put(dir+"/topology/core_id", strconv.Itoa(c.Core))
	w.put(dir+"/topology/thread_siblings_list", siblings.String())
	if c.Die >= 0 {
		w.put(dir+"/topology/die_id", strconv.Itoa(c.Die))
	}
	if c.Cluster >= 0 {
		w.put(dir+"/topology/cluster_id", strconv.Itoa(c.Cluster))
	}
	for k, cache := range c.Caches {
		if _, err := affinity.ParseList(cache.CPUs); err != nil {
			return fmt.Errorf("cache %d: %w", k, err)
		}
		cdir := fmt.Sprintf("%s/cache/index%d", dir, k)
		w.put(cdir+"/level", strconv.Itoa(cache.Level))
		w.put(cdir+"/type", cache.Type)
		if cache.Size > 0 {
			w.put(cdir+"/size", strconv.FormatInt(cache.Size, 10))
		}
		if cache.LineSize > 0 {
			w.put(cdir+"/coherency_line_size", strconv.Itoa(cache.LineSize))
		}
		w.put(cdir+"/shared_cpu_list", cache.CPUs)
	}
	return nil
}

// node adds one NUMA node's CPU list and distances.
func (w *sysfsWriter) node(n affinity.NodeJSON) error {
	if n.ID < 0 {
		return fmt.Errorf("negative node id")
	}
	if _, err := affinity.ParseList(n.CPUs); err != nil {
		return err
	}
	dir := fmt.Sprintf("sys/devices/system/node/node%d", n.ID)
	w.put(dir+"/cpulist", n.CPUs)
	if len(n.Distances) > 0 {
		var b strings.Builder
		for i, d := range n.Distances {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.Itoa(d))
		}
		w.put(dir+"/distance", b.String())
	}
	return nil
}

// cpuinfo adds a /proc/cpuinfo naming the model, the vendor and the
// hypervisor flag.
func (w *sysfsWriter) cpuinfo(j affinity.TopologyJSON) {
	var b bytes.Buffer
	oneLine := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	if j.Model != "" {
		fmt.Fprintf(&b, "model name\t: %s\n", oneLine(j.Model))
	}
	if j.Identity.Vendor != "" {
		fmt.Fprintf(&b, "vendor_id\t: %s\n", oneLine(j.Identity.Vendor))
	}
	if j.Identity.CacheLine > 0 {
		fmt.Fprintf(&b, "cache_alignment\t: %d\n", j.Identity.CacheLine)
	}
	if j.Identity.Hypervisor != "" {
		b.WriteString("flags\t\t: hypervisor\n")
	}
	w.files["proc/cpuinfo"] = b.String()
}
