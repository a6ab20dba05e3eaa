package bench_test

import (
	"fmt"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/bench"
)

// The catalogue for a machine lists every benchmark by the name go test
// and benchstat give it, and says why a leaf cannot run there, without
// running anything. Here: the floor family on a two-socket capture.
func ExampleSuite() {
	topo, err := affinity.DiscoverRoot("../testdata/topologies/two-socket-smt")
	if err != nil {
		panic(err)
	}
	floor := bench.Find(bench.Suite(topo, bench.SuiteOptions{}), "BenchmarkFloor")
	for _, l := range bench.Leaves([]*bench.Node{floor}) {
		if l.Skip != "" {
			fmt.Printf("%s (skips: %s)\n", l.Name, l.Skip)
			continue
		}
		fmt.Println(l.Name)
	}
	// Output:
	// BenchmarkFloor/place=samecpu (skips: both sides busy-wait: on one CPU they would measure the scheduler's time slice)
	// BenchmarkFloor/place=smt
	// BenchmarkFloor/place=l2 (skips: no two allowed CPUs of this machine are l2 apart (allowed 0-14; topology 2 packages, 2 nodes, 2 L3, 8 cores, 15 CPUs))
	// BenchmarkFloor/place=llc
	// BenchmarkFloor/place=node (skips: no two allowed CPUs of this machine are node apart (allowed 0-14; topology 2 packages, 2 nodes, 2 L3, 8 cores, 15 CPUs))
	// BenchmarkFloor/place=remote
	// BenchmarkFloor/place=unpinned
}
