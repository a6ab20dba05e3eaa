package tune

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/capture"
)

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
// leafStart guess.
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
}

// The matrix mode: every pair of the 256-CPU capture in parallel rounds
// by default in full mode, which the plan estimates at 10 minutes at
// most at the documented default costs; quick mode's sample, a 2-CPU
// machine, and --parallel=false (ParallelOff) keep one pair at a time;
// --parallel (ParallelOn) is honoured anywhere.
func TestMatrixParallelism(t *testing.T) {
	topo, err := capture.Discover(filepath.Join("..", "testdata", "topologies", "epyc256.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		mode     Mode
		parallel Parallelism
		want     bool
	}{{Full, ParallelAuto, true}, {Quick, ParallelAuto, false}, {Full, ParallelOff, false}, {Quick, ParallelOn, true}} {
		if got := (Options{Parallel: c.parallel}).matrixOptions(c.mode, topo).Parallel; got != c.want {
			t.Errorf("%s mode, Parallelism %d, 256 CPUs: parallel %v, want %v", c.mode.Name, c.parallel, got, c.want)
		}
	}
	if e := (Options{}).matrixOptions(Full, topo).Estimate(topo, defaultCosts.Costs); e.Duration > 10*time.Minute {
		t.Errorf("full mode's matrix of 256 CPUs estimated at %v (%d rounds), want at most 10 minutes", e.Duration, e.Rounds)
	}
	topo.Allowed = affinity.NewCPUSet(topo.Allowed.CPUs()[:2]...) // a 2-CPU run
	if (Options{}).matrixOptions(Full, topo).Parallel || !(Options{Parallel: ParallelOn}).matrixOptions(Full, topo).Parallel {
		t.Error("2 CPUs: want one pair at a time by default, and parallel rounds with ParallelOn")
	}
}
