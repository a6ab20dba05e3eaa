package measure

import (
	"path/filepath"
	"testing"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/capture"
)

// epyc256 is the synthetic 256-CPU capture (2 sockets x 64 cores x 2
// threads, 8 nodes) under testdata.
func epyc256(t *testing.T) *affinity.Topology {
	t.Helper()
	topo, err := capture.Discover(filepath.Join("..", "..", "testdata", "topologies", "epyc256.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if len(topo.CPUs) != 256 || len(topo.Nodes) != 8 || len(topo.Packages) != 2 {
		t.Fatalf("epyc256: %s; want 256 CPUs, 8 nodes, 2 packages", topo.Summary())
	}
	return topo
}

// The stratified sample gives every class at least pairsPerClass pairs
// (or all it has), covers CPU 0 against every package and node, and stays
// small however many CPUs there are; small machines get every pair.
func TestSamplePairs(t *testing.T) {
	topo := epyc256(t)
	pairs := SamplePairs(topo)
	if len(pairs) > 100 {
		t.Errorf("%d pairs sampled of %d; want a bounded sample", len(pairs), len(topo.AllPairs()))
	}
	seen := map[affinity.Pair]bool{}
	per := map[affinity.Class]int{}
	for _, p := range pairs {
		if seen[p] || p.A >= p.B {
			t.Errorf("pair %v twice or not ordered", p)
		}
		seen[p] = true
		per[topo.Relation(p.A, p.B)]++
	}
	for _, c := range topo.Present() {
		if c == affinity.SameCPU {
			continue
		}
		if per[c] < pairsPerClass {
			t.Errorf("class %s: %d pairs sampled, want %d", c, per[c], pairsPerClass)
		}
	}
	first := topo.Allowed.CPUs()[0]
	covered := func(set affinity.CPUSet) bool {
		for _, p := range pairs {
			if (p.A == first && set.Has(p.B)) || (p.B == first && set.Has(p.A)) || set.Has(first) {
				return true
			}
		}
		return false
	}
	for _, n := range topo.Nodes {
		if !covered(n.CPUs) {
			t.Errorf("node %d not covered by a pair with CPU %d", n.ID, first)
		}
	}
	for _, pkg := range topo.Packages {
		if !covered(pkg.CPUs) {
			t.Errorf("package %d not covered by a pair with CPU %d", pkg.ID, first)
		}
	}
	small := fixtureTopology(t, "numa-split-package")
	if got, all := len(SamplePairs(small)), len(small.AllPairs()); got != all {
		t.Errorf("8-CPU fixture: %d of %d pairs sampled; want all", got, all)
	}
}

func fixtureTopology(t *testing.T, name string) *affinity.Topology {
	t.Helper()
	topo, err := affinity.DiscoverRoot(filepath.Join("..", "..", "testdata", "topologies", name))
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// Parallel rounds measure every pair once, put no two pairs of a round
// on one physical core (SMT siblings included), leave a CPU free, hold
// no more pairs than GOMAXPROCS allows, and need few rounds: on the
// 256-CPU capture's full matrix, at most twice the 510 of a perfect
// packing (128 cores hold 64 pairs at once).
func TestParallelRounds(t *testing.T) {
	topo := epyc256(t)
	pairs := topo.AllPairs()
	rounds := ParallelRounds(topo, pairs, 0)
	n := 0
	for i, r := range rounds {
		used := map[int]bool{}
		for _, p := range r {
			a, _ := topo.CPU(p.A)
			b, _ := topo.CPU(p.B)
			if used[a.Core] || (a.Core != b.Core && used[b.Core]) {
				t.Fatalf("round %d puts %v on a core of another of its pairs", i, p)
			}
			used[a.Core], used[b.Core] = true, true
			n++
		}
		if len(r) > 127 {
			t.Fatalf("round %d holds %d pairs, leaving no CPU free", i, len(r))
		}
	}
	if perfect := len(pairs) / 64; n != len(pairs) || len(rounds) > 2*perfect {
		t.Errorf("%d of %d pairs in %d rounds; want all, in at most %d", n, len(pairs), len(rounds), 2*perfect)
	}
	for _, procs := range []int{1, 2, 3, 8} {
		want := max(1, (procs-1)/2)
		for i, r := range ParallelRounds(topo, SamplePairs(topo), procs) {
			if len(r) > want {
				t.Errorf("GOMAXPROCS %d: round %d holds %d pairs, want at most %d", procs, i, len(r), want)
			}
		}
	}
}

func TestParallelCellsDiffer(t *testing.T) {
	for _, tc := range []struct {
		a, b []float64
		want bool
	}{
		{[]float64{100, 105, 110}, []float64{104, 108}, false}, // overlapping
		{[]float64{100, 101, 102}, []float64{160, 170}, true},  // apart
		{[]float64{100, 101}, []float64{103, 104}, false},      // apart, within 10%
		{nil, []float64{1}, false},
	} {
		if got := differs(tc.a, tc.b); got != tc.want {
			t.Errorf("differs(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// The model costs each pair at its class's transfer, measured, or at the
// first pair's where the class has none.
func TestCostsTransferAt(t *testing.T) {
	c := Costs{TransferNs: 100, ClassNs: map[affinity.Class]float64{affinity.Remote: 400}}
	if c.TransferAt(affinity.Remote) != 400 || c.TransferAt(affinity.SMT) != 100 {
		t.Errorf("TransferAt: remote %v, smt %v; want 400 (measured) and 100 (the stand-in)", c.TransferAt(affinity.Remote), c.TransferAt(affinity.SMT))
	}
}
