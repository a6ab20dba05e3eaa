// Command gen writes the synthetic sysfs capture epyc256 (see
// ../README.md) as a .tar.gz: a 256-CPU machine in the shape of a dual
// AMD EPYC 7763 in NPS4 mode. It lives under testdata, so `go build ./...`
// ignores it; regenerate the archive with
//
//	go run ./testdata/topologies/gen testdata/topologies/epyc256.tar.gz
//
// Shape: 2 packages x 64 cores x 2 threads (CPU n and n+128 are siblings;
// package 0 holds cores 0-63), an L1d/L1i/L2 per core, an L3 per 8 cores
// (a CCD), 4 NUMA nodes per package of 16 cores each, distances 10 (local),
// 12 (same package), 32 (other package).
package main

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"os"
	"strings"
)

const (
	packages     = 2
	coresPerPkg  = 64
	threads      = 2
	coresPerL3   = 8
	coresPerNode = 16
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gen OUT.tar.gz")
		os.Exit(2)
	}
	f, err := os.Create(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	put := func(path, content string) {
		hdr := &tar.Header{Name: "epyc256/" + path, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			panic(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			panic(err)
		}
	}
	cores := packages * coresPerPkg
	ncpu := cores * threads
	cpuOf := func(core, thread int) int { return core + thread*cores }
	list := func(coreLo, coreHi int) string { // both threads of cores [lo, hi)
		var parts []string
		for t := range threads {
			parts = append(parts, fmt.Sprintf("%d-%d", cpuOf(coreLo, t), cpuOf(coreHi-1, t)))
		}
		return strings.Join(parts, ",")
	}
	sys := "sys/devices/system/"
	put(sys+"cpu/online", fmt.Sprintf("0-%d\n", ncpu-1))
	put(sys+"cpu/possible", fmt.Sprintf("0-%d\n", ncpu-1))
	var cpuinfo strings.Builder
	for cpu := range ncpu {
		core := cpu % cores
		pkg := core / coresPerPkg
		d := fmt.Sprintf("%scpu/cpu%d/", sys, cpu)
		put(d+"topology/physical_package_id", fmt.Sprintf("%d\n", pkg))
		put(d+"topology/core_id", fmt.Sprintf("%d\n", core%coresPerPkg))
		put(d+"topology/die_id", fmt.Sprintf("%d\n", pkg))
		put(d+"topology/thread_siblings_list", list(core, core+1)+"\n")
		put(d+"topology/core_siblings_list", list(pkg*coresPerPkg, (pkg+1)*coresPerPkg)+"\n")
		l3 := core / coresPerL3 * coresPerL3
		for i, c := range []struct {
			level int
			typ   string
			size  string
			lo    int
			hi    int
		}{
			{1, "Data", "32K", core, core + 1},
			{1, "Instruction", "32K", core, core + 1},
			{2, "Unified", "512K", core, core + 1},
			{3, "Unified", "32768K", l3, l3 + coresPerL3},
		} {
			idx := fmt.Sprintf("%scache/index%d/", d, i)
			put(idx+"level", fmt.Sprintf("%d\n", c.level))
			put(idx+"type", c.typ+"\n")
			put(idx+"size", c.size+"\n")
			put(idx+"coherency_line_size", "64\n")
			put(idx+"shared_cpu_list", list(c.lo, c.hi)+"\n")
		}
		fmt.Fprintf(&cpuinfo, "processor\t: %d\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7763 64-Core Processor (synthetic fixture)\ncache_alignment\t: 64\nflags\t\t: fpu sse2 ht\n\n", cpu)
	}
	put("proc/cpuinfo", cpuinfo.String())
	nodes := cores / coresPerNode
	put(sys+"node/online", fmt.Sprintf("0-%d\n", nodes-1))
	for n := range nodes {
		var dist []string
		for m := range nodes {
			switch {
			case m == n:
				dist = append(dist, "10")
			case m*coresPerNode/coresPerPkg == n*coresPerNode/coresPerPkg:
				dist = append(dist, "12")
			default:
				dist = append(dist, "32")
			}
		}
		put(fmt.Sprintf("%snode/node%d/cpulist", sys, n), list(n*coresPerNode, (n+1)*coresPerNode)+"\n")
		put(fmt.Sprintf("%snode/node%d/distance", sys, n), strings.Join(dist, " ")+"\n")
	}
	for _, c := range []interface{ Close() error }{tw, gz, f} {
		if err := c.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
