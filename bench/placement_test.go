package bench

import (
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/harness"
)

func fixture(t *testing.T, name string) *affinity.Topology {
	t.Helper()
	topo, err := affinity.DiscoverRoot(filepath.Join("..", "testdata", "topologies", name))
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// The harness places the two sides of a benchmark on the class's
// representative pair, and skips, with the reason, what cannot run.
func TestPlacementSelectionOnFixture(t *testing.T) {
	topo := fixture(t, "two-socket-smt")
	for _, tc := range []struct {
		class affinity.Class
		spin  bool
		a, b  int
		skip  string // substring of the skip reason; "" when it runs
	}{
		{affinity.SMT, true, 1, 9, ""},
		{affinity.LLC, true, 1, 2, ""},
		{affinity.Remote, false, 1, 4, ""},
		{affinity.SameCPU, false, 1, 1, ""},
		{affinity.SameCPU, true, 0, 0, "scheduler's time slice"},
		{affinity.L2, false, 0, 0, "no two allowed CPUs of this machine are l2 apart"},
		{affinity.Node, true, 0, 0, "are node apart"},
		{affinity.Unpinned, true, harness.Unpinned, harness.Unpinned, ""}, // 15 CPUs: room for spinners
	} {
		a, b, skip := placementCPUs(topo, tc.class, tc.spin)
		if tc.skip != "" {
			if !strings.Contains(skip, tc.skip) {
				t.Errorf("%s (spin %v): skip %q, want it to mention %q", tc.class, tc.spin, skip, tc.skip)
			}
			continue
		}
		if skip != "" || a != tc.a || b != tc.b {
			t.Errorf("%s (spin %v): CPUs %d,%d skip %q; want %d,%d", tc.class, tc.spin, a, b, skip, tc.a, tc.b)
		}
	}
}

// The schedule benchmark spreads its iothreads as the class says: on the
// 2-socket fixture, remote takes one CPU per node and smt one core's
// threads; a class the machine lacks is skipped.
func TestScheduleCPUsOnFixture(t *testing.T) {
	topo := fixture(t, "two-socket-smt")
	one := func(sets []affinity.CPUSet) []int {
		var cpus []int
		for _, s := range sets {
			if s.Count() != 1 {
				t.Fatalf("pin=cpu set %s is not one CPU", s)
			}
			cpus = append(cpus, s.CPUs()[0])
		}
		return cpus
	}
	if sets, skip := scheduleSets(topo, pinCPU, affinity.Remote); skip != "" || len(sets) != 2 || topo.Relation(one(sets)[0], one(sets)[1]) != affinity.Remote {
		t.Errorf("remote: %v (skip %q), want two CPUs on different nodes", sets, skip)
	}
	if sets, skip := scheduleSets(topo, pinCPU, affinity.SMT); skip != "" || len(sets) != 2 || topo.Relation(one(sets)[0], one(sets)[1]) != affinity.SMT {
		t.Errorf("smt: %v (skip %q), want the two threads of one core", sets, skip)
	}
	// A class the machine lacks is skipped with the harness's reason,
	// not the affinity package's error.
	if _, skip := scheduleSets(topo, pinCPU, affinity.L2); !strings.HasPrefix(skip, "no two allowed CPUs of this machine are l2 apart") {
		t.Errorf("l2 on a machine without shared L2: skip %q, want the harness's reason", skip)
	}
}

// pin=node pins every iothread to a whole node's allowed CPUs: one node
// for place=node, the nodes in turn for place=remote (starting with the
// representative remote pair's two); a one-node machine runs place=node on
// the whole allowed set, says so, and skips place=remote with the reason.
func TestNodeSetsOnFixtures(t *testing.T) {
	two := fixture(t, "two-socket-smt")
	n0, n1 := two.NodeCPUs(0), two.NodeCPUs(1)
	if n0.IsEmpty() || n1.IsEmpty() {
		t.Fatalf("fixture nodes: %s, %s", n0, n1)
	}
	sets, skip := nodeSets(two, affinity.Remote, 5, false)
	if skip != "" || len(sets) != 5 {
		t.Fatalf("remote: %v (skip %q)", sets, skip)
	}
	for i, s := range sets {
		if !s.Equal(n0) && !s.Equal(n1) || i > 0 && s.Equal(sets[i-1]) {
			t.Errorf("remote: set %d is %s; want the two nodes' sets in turn (%s, %s)", i, s, n0, n1)
		}
	}
	sets, skip = nodeSets(two, affinity.Node, 2, true)
	if skip != "" || !sets[0].Equal(sets[1]) || !(sets[0].Equal(n0) || sets[0].Equal(n1)) {
		t.Errorf("node: %v (skip %q); want both on one node's set", sets, skip)
	}

	one := fixture(t, "cpuless-nodes")
	if len(allowedNodes(one)) != 1 {
		t.Skipf("fixture cpuless-nodes has %d nodes with CPUs; want 1", len(allowedNodes(one)))
	}
	sets, skip = nodeSets(one, affinity.Node, 2, false)
	if skip != "" || !sets[0].Equal(one.Allowed) {
		t.Errorf("one node: place=node %v (skip %q); want the whole allowed set %s", sets, skip, one.Allowed)
	}
	if _, skip := nodeSets(one, affinity.Remote, 2, false); !strings.Contains(skip, "two NUMA nodes") {
		t.Errorf("one node: place=remote skip %q; want the reason", skip)
	}
	if note := nodeNote(one); !strings.Contains(note, "whole allowed set") {
		t.Errorf("pin-node line on a one-node machine: %q; want it to say pin=node is the whole allowed set", note)
	}
}

// On the live machine, spinning benchmarks run unpinned only with at least
// 3 allowed CPUs (the fixture above covers the other side on 15 CPUs).
func TestSpinnersUnpinnedOnLiveMachine(t *testing.T) {
	_, _, skip := placementCPUs(topo, affinity.Unpinned, true)
	if want := topo.Allowed.Count() < 3; (skip != "") != want {
		t.Errorf("%d allowed CPUs: unpinned spinners skipped %v (%q), want %v", topo.Allowed.Count(), skip != "", skip, want)
	}
	if _, _, skip := placementCPUs(topo, affinity.Unpinned, false); skip != "" {
		t.Errorf("unpinned blocking benchmark skipped: %s", skip)
	}
}

// The configuration lines printed before the results parse with benchfmt
// into exactly the keys and values written, on a fixture and live.
func TestConfigLinesParseWithBenchfmt(t *testing.T) {
	for name, topo := range map[string]*affinity.Topology{"fixture": fixture(t, "two-socket-smt"), "live": topo} {
		lines := Config(topo)
		text := FormatConfig(lines) + "BenchmarkX/place=llc-2 \t 10 \t 5.0 ns/op\n"
		r := benchfmt.NewReader(strings.NewReader(text), name)
		var res *benchfmt.Result
		for r.Scan() {
			if rec, ok := r.Result().(*benchfmt.Result); ok {
				res = rec
			} else if e, ok := r.Result().(*benchfmt.SyntaxError); ok {
				t.Fatalf("%s: %v", name, e)
			}
		}
		if res == nil {
			t.Fatalf("%s: no result parsed", name)
		}
		for _, l := range lines {
			if got := res.GetConfig(l.Key); got != strings.ReplaceAll(l.Value, "\n", " ") {
				t.Errorf("%s: config %s = %q, want %q", name, l.Key, got, l.Value)
			}
		}
		keys := []string{"machine", "topology", "hypervisor", "governor", "smt", "cacheline", "gomaxprocs", "allowed"}
		// One pair line per class the machine has, whatever it is (the
		// 2-CPU dev VM has llc; a 2-node lab guest has remote, no llc).
		for _, c := range topo.Present() {
			keys = append(keys, "pair-"+string(c))
		}
		for _, key := range keys {
			if res.GetConfig(key) == "" {
				t.Errorf("%s: config line %s missing", name, key)
			}
		}
		if name == "fixture" && res.GetConfig("pair-llc") == "" {
			t.Errorf("fixture: config line pair-llc missing (the two-socket fixture has llc pairs)")
		}
	}
}

// BenchmarkQueue's place=all variant caps its producers, spread over the
// allowed CPUs.
func TestAllProducersCapped(t *testing.T) {
	all := make([]int, 256)
	for i := range all {
		all[i] = i
	}
	consumer, producers := allProducers(all)
	if consumer != 255 || len(producers) != queueMaxProducers || producers[0] != 0 || producers[len(producers)-1] < 200 {
		t.Fatalf("256 CPUs: consumer %d, producers %v; want CPU 255 and %d producers spread from 0 to the top", consumer, producers, queueMaxProducers)
	}
	consumer, producers = allProducers([]int{0, 1, 2})
	if consumer != 2 || len(producers) != 2 {
		t.Fatalf("3 CPUs: consumer %d, producers %v", consumer, producers)
	}
}
