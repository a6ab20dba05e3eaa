package affinity_test

import (
	"fmt"

	"github.com/pinbench/pinbench/affinity"
)

// DiscoverRoot reads a machine captured under a folder (sysfs and
// /proc/cpuinfo as the kernel lays them out); Discover reads the live one
// the same way. For each topology distance the machine offers, Placements
// names the pair of CPUs a benchmark pins its two sides to.
func ExampleDiscoverRoot() {
	topo, err := affinity.DiscoverRoot("../testdata/topologies/two-socket-smt")
	if err != nil {
		panic(err)
	}
	fmt.Println(topo.Summary())
	places := topo.Placements()
	for _, c := range affinity.Classes() {
		if p, ok := places[c]; ok {
			fmt.Printf("%s: CPUs %s\n", c, p)
		} else {
			fmt.Printf("%s: none\n", c)
		}
	}
	fmt.Println("relation of CPUs 0 and 8:", topo.Relation(0, 8))
	// Output:
	// 2 packages, 2 nodes, 2 L3, 8 cores, 15 CPUs
	// samecpu: CPUs 1,1
	// smt: CPUs 1,9
	// l2: none
	// llc: CPUs 1,2
	// node: none
	// remote: CPUs 1,4
	// relation of CPUs 0 and 8: smt
}
