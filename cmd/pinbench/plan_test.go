package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/capture"
)

// epyc256 is the synthetic 256-CPU capture (2 sockets x 64 cores x 2
// threads, 8 nodes) under testdata.
func epyc256(t *testing.T) *affinity.Topology {
	t.Helper()
	dir, cleanup, err := capture.Root(filepath.Join("..", "..", "testdata", "topologies", "epyc256.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	topo, err := affinity.DiscoverRoot(dir)
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
	pairs := samplePairs(topo)
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
	if got, all := len(samplePairs(small)), len(small.AllPairs()); got != all {
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

// Parallel rounds put each CPU in at most one pair per round and every
// pair in exactly one round.
func TestParallelRounds(t *testing.T) {
	topo := epyc256(t)
	pairs := samplePairs(topo)
	rounds := parallelRounds(pairs)
	n := 0
	for i, r := range rounds {
		used := map[int]bool{}
		for _, p := range r {
			if used[p.A] || used[p.B] {
				t.Errorf("round %d uses a CPU of %v twice", i, p)
			}
			used[p.A], used[p.B] = true, true
			n++
		}
	}
	if n != len(pairs) || len(rounds) >= len(pairs) {
		t.Errorf("%d pairs in %d rounds (of %d pairs); want all, in fewer rounds than pairs", n, len(rounds), len(pairs))
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

// tune --plan on the 256-CPU capture and (where ../shared has it) the
// 128-CPU one: it lists what would run, measures nothing, and estimates
// quick mode at three minutes or less (the estimate is computed from the
// documented default costs, so it is the same number on any machine).
func TestPlanOnLargeCaptures(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the benchmark binary")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command to build the benchmark binary")
	}
	captures := []string{filepath.Join("..", "..", "testdata", "topologies", "epyc256.tar.gz")}
	shared := filepath.Join("..", "..", "..", "shared", "topologies", "hwloc", "128arm-2pa2n8cluster4co.tar.bz2")
	if _, err := os.Stat(shared); err == nil {
		captures = append(captures, shared)
	}
	est := regexp.MustCompile(`(?m)^  estimated duration: (\S+) `)
	for _, c := range captures {
		code, stdout, stderr := runCLI("tune", "--plan", "--root", c)
		if code != 0 {
			t.Fatalf("tune --plan --root %s exited %d\n%s", c, code, stderr)
		}
		m := est.FindAllStringSubmatch(stdout, -1)
		if len(m) != 2 {
			t.Fatalf("%s: %d estimates in the plan, want 2 (quick, full):\n%s", c, len(m), stdout)
		}
		quick, err := time.ParseDuration(m[0][1])
		if err != nil || quick > 3*time.Minute || quick <= 0 {
			t.Errorf("%s: quick mode estimated at %s (%v); want at most 3m", c, m[0][1], err)
		}
		for _, want := range []string{"stratified sample", "BenchmarkHandoff/via=aio/wait=poll/pin=cpu/place=remote", "BenchmarkHandoff/via=aio/wait=poll/pin=node/place=remote", "remote   "} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s: plan lacks %q", c, want)
			}
		}
		if strings.Contains(stderr, "matrix: ") {
			t.Errorf("%s: the plan measured a matrix", c)
		}
	}
}

// The sample leaves are run one at a time: the pattern must match the
// leaf alone, however its name's levels read as regular expressions.
func TestExactBenchPattern(t *testing.T) {
	got := exactBenchPattern("BenchmarkHandoff/via=aio/wait=poll/pin=cpu/place=llc")
	want := "^BenchmarkHandoff$/^via=aio$/^wait=poll$/^pin=cpu$/^place=llc$"
	if got != want {
		t.Errorf("exactBenchPattern = %q, want %q", got, want)
	}
	if got := exactBenchPattern("BenchmarkQueue/impl=mpsc/pad=128/producers=1+2"); got != `^BenchmarkQueue$/^impl=mpsc$/^pad=128$/^producers=1\+2$` {
		t.Errorf("exactBenchPattern quotes nothing: %q", got)
	}
}

// The leaf model: a timed per-leaf overhead replaces the runsPerLeaf x
// leafStart guess; the matrix costs each pair at its class's transfer.
func TestCostModelUsesTimedCosts(t *testing.T) {
	c := costs{leafStart: 10 * time.Millisecond}
	name := "BenchmarkFloor/place=llc"
	if got, want := leafCost(name, "100ms", c), 130*time.Millisecond+runsPerLeaf*10*time.Millisecond; got != want {
		t.Errorf("leafCost without a timed overhead = %v, want %v", got, want)
	}
	c.leafFixed = map[string]time.Duration{"BenchmarkFloor/place=llc": time.Second, "BenchmarkMutex/impl=mcs": 3 * time.Second}
	if got, want := leafCost(name, "100ms", c), 1130*time.Millisecond; got != want {
		t.Errorf("leafCost with a timed overhead of 1s = %v, want %v", got, want)
	}
	if got, want := leafCost("BenchmarkMutex/impl=mcs/contexts=2/place=llc", "100ms", c), 3130*time.Millisecond; got != want {
		t.Errorf("leafCost of an MCS leaf, its group timed at 3s = %v, want %v", got, want)
	}
	if got, want := leafCost("BenchmarkQueue/impl=chan/producers=1/place=llc", "100ms", c), 130*time.Millisecond+runsPerLeaf*10*time.Millisecond; got != want {
		t.Errorf("leafCost of a leaf whose group was not timed = %v, want the model's %v", got, want)
	}
	for name, want := range map[string]string{
		"BenchmarkMutex/impl=mcs/contexts=2/place=llc": "BenchmarkMutex/impl=mcs",
		"BenchmarkFloor/place=llc":                     "BenchmarkFloor/place=llc",
		"BenchmarkNotify":                              "BenchmarkNotify",
	} {
		if got := leafGroup(name); got != want {
			t.Errorf("leafGroup(%q) = %q, want %q", name, got, want)
		}
	}
	c = costs{transferNs: 100, classNs: map[affinity.Class]float64{affinity.Remote: 400}}
	if c.transferAt(affinity.Remote) != 400 || c.transferAt(affinity.SMT) != 100 {
		t.Errorf("transferAt: remote %v, smt %v; want 400 (measured) and 100 (the stand-in)", c.transferAt(affinity.Remote), c.transferAt(affinity.SMT))
	}
}
