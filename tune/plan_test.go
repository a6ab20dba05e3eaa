package tune

import (
	"testing"
	"time"
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
