package bench

import (
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"

	"github.com/pinbench/pinbench/affinity"
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
		{affinity.Unpinned, true, Unpinned, Unpinned, ""}, // 15 CPUs: room for spinners
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
	if cpus, skip := scheduleCPUs(topo, affinity.Remote); skip != "" || len(cpus) != 2 || topo.Relation(cpus[0], cpus[1]) != affinity.Remote {
		t.Errorf("remote: %v (skip %q), want two CPUs on different nodes", cpus, skip)
	}
	if cpus, skip := scheduleCPUs(topo, affinity.SMT); skip != "" || len(cpus) != 2 || topo.Relation(cpus[0], cpus[1]) != affinity.SMT {
		t.Errorf("smt: %v (skip %q), want the two threads of one core", cpus, skip)
	}
	if _, skip := scheduleCPUs(topo, affinity.L2); skip == "" {
		t.Error("l2 on a machine without shared L2: not skipped")
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
