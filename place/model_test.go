package place

import (
	"maps"
	"math"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/matrix"
)

// TestModelEPYC reads the 2-core VM's results: the figures are the
// medians report.md gives for the same run.
func TestModelEPYC(t *testing.T) {
	res := resultsOf(t, epycResults)
	if res.Machine != "amd-epyc-2c2t-vm" || res.Matrix == nil {
		t.Fatalf("machine %q, matrix %v: want amd-epyc-2c2t-vm and the matrix", res.Machine, res.Matrix)
	}
	for _, tc := range []struct {
		wait Wait
		want map[affinity.Class]string
	}{
		{WaitAdaptive, map[affinity.Class]string{affinity.SameCPU: "9646", affinity.LLC: "204.2", affinity.Unpinned: "222.1"}},
		{WaitBlock, map[affinity.Class]string{affinity.SameCPU: "2903", affinity.LLC: "6075", affinity.Unpinned: "5826"}},
		{WaitPoll, map[affinity.Class]string{affinity.LLC: "208.2"}},
	} {
		m, err := NewModel(res, tc.wait)
		if err != nil {
			t.Fatal(err)
		}
		got := map[affinity.Class]string{}
		for _, in := range m.Inputs() {
			if !math.IsNaN(in.HandoffNs) {
				got[in.Class] = fmtNs(in.HandoffNs)
			}
			if in.Samples != 0 && in.Samples != 10 {
				t.Errorf("wait=%s %s: %d samples, want 10", tc.wait, in.Class, in.Samples)
			}
		}
		if !maps.Equal(got, tc.want) {
			t.Errorf("wait=%s: figures %v, want %v", tc.wait, got, tc.want)
		}
		// The matrix measured its one pair both ways at 32.3 ns, which is
		// its class's median: factor 1.
		if c, want := m.Cost(0, 1), m.figure[affinity.LLC]; !near(c, want) {
			t.Errorf("wait=%s: Cost(0, 1) = %v, want the llc figure %v", tc.wait, c, want)
		}
	}
}

// TestModelMissingWait wants the error to name the wait mode and folder.
func TestModelMissingWait(t *testing.T) {
	topo := capture(t, "two-socket-smt")
	res := &Results{Dir: "some/folder", Run: synthRun(t, synthFigures, "", WaitPoll), Topology: topo}
	_, err := NewModel(res, WaitBlock)
	if err == nil || !strings.Contains(err.Error(), "wait=block") || !strings.Contains(err.Error(), "some/folder") {
		t.Errorf("error %v, want one naming wait=block and some/folder", err)
	}
	if _, err := NewModel(res, "spin"); err == nil || !strings.Contains(err.Error(), `"spin"`) {
		t.Errorf("unknown wait mode: %v", err)
	}
}

// TestModelBorrow drops classes from the run: an unmeasured class takes
// the nearest measured class further out, else further in; samecpu
// borrows nothing.
func TestModelBorrow(t *testing.T) {
	topo := capture(t, "numa-split-package") // llc, node, remote
	for _, tc := range []struct {
		drop []affinity.Class
		want map[affinity.Class]affinity.Class
	}{
		{[]affinity.Class{affinity.Node}, map[affinity.Class]affinity.Class{affinity.Node: affinity.Remote}},
		{[]affinity.Class{affinity.Remote}, map[affinity.Class]affinity.Class{affinity.Remote: affinity.Node}},
		{[]affinity.Class{affinity.LLC, affinity.Node}, map[affinity.Class]affinity.Class{affinity.LLC: affinity.Remote, affinity.Node: affinity.Remote}},
	} {
		figs := maps.Clone(synthFigures)
		for _, c := range append(tc.drop, affinity.SameCPU) {
			delete(figs, c)
		}
		m, err := NewModel(&Results{Dir: "x", Run: synthRun(t, figs, "", WaitPoll), Topology: topo}, WaitPoll)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range m.Inputs() {
			if want := tc.want[in.Class]; in.From != want {
				t.Errorf("drop %v: %s borrows from %q, want %q", tc.drop, in.Class, in.From, want)
			}
			if want := tc.want[in.Class]; want != "" && in.CostNs != m.figure[want] {
				t.Errorf("drop %v: %s costed at %v, want %s's %v", tc.drop, in.Class, in.CostNs, want, m.figure[want])
			}
		}
		if _, ok := m.ClassNs(affinity.SameCPU); ok || !math.IsNaN(m.Cost(2, 2)) {
			t.Errorf("drop %v: samecpu has a figure without a measurement", tc.drop)
		}
	}
}

// TestModelMatrixScaling checks cell / class median, the reverse
// direction standing in, and factor 1 for unmeasured pairs.
func TestModelMatrixScaling(t *testing.T) {
	topo := capture(t, "numa-split-package") // L3 per 2 cores: 0-1 llc, 0-2 node, 0-4 remote
	mat := matrix.New(topo.Online.CPUs())
	mat.Set(0, 1, 10) // llc cells: 10, 20, 30: median 20
	mat.Set(2, 3, 20)
	mat.Set(5, 4, 30)
	res := &Results{Dir: "x", Run: synthRun(t, synthFigures, "", WaitPoll), Topology: topo, Matrix: mat}
	m, err := NewModel(res, WaitPoll)
	if err != nil {
		t.Fatal(err)
	}
	llc := synthFigures[affinity.LLC] + 1 // the median of v, v+1, v+2
	for _, tc := range []struct {
		a, b int
		want float64
	}{
		{0, 1, llc * 0.5}, {1, 0, llc * 0.5}, {4, 5, llc * 1.5}, {6, 7, llc},
		{0, 4, synthFigures[affinity.Remote] + 1}, {3, 3, synthFigures[affinity.SameCPU] + 1}, {0, 99, math.NaN()},
	} {
		if got := m.Cost(tc.a, tc.b); !near(got, tc.want) && !(math.IsNaN(got) && math.IsNaN(tc.want)) {
			t.Errorf("Cost(%d, %d) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	var b strings.Builder
	if err := m.WriteInputs(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"model: wait=poll", "matrix cell / its class's median", "llc       201.0       3        201.0         20.00             3"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("inputs table lacks %q:\n%s", want, b.String())
		}
	}
}

// TestModelMatrixOutsideTopology wants an error naming the CPUs.
func TestModelMatrixOutsideTopology(t *testing.T) {
	topo := capture(t, "numa-split-package")
	mat := matrix.New([]int{0, 42})
	mat.Set(0, 42, 10)
	_, err := NewModel(&Results{Dir: "x", Run: synthRun(t, synthFigures, "", WaitPoll), Topology: topo, Matrix: mat}, WaitPoll)
	if err == nil || !strings.Contains(err.Error(), "CPUs 0 and 42") {
		t.Errorf("error %v, want one naming CPUs 0 and 42", err)
	}
}

// TestSMTCheapest: smt counts as cheapest only when measured below every
// other class the machine has.
func TestSMTCheapest(t *testing.T) {
	topo := capture(t, "two-socket-smt") // smt, llc, remote
	for _, tc := range []struct {
		smt  float64
		drop bool
		want bool
	}{{150, false, true}, {200, false, false}, {250, false, false}, {0, true, false}} {
		figs := maps.Clone(synthFigures)
		figs[affinity.SMT] = tc.smt
		if tc.drop {
			delete(figs, affinity.SMT)
		}
		m, err := NewModel(&Results{Dir: "x", Run: synthRun(t, figs, "", WaitPoll), Topology: topo}, WaitPoll)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.smtCheapest(); got != tc.want {
			t.Errorf("smt %v (dropped %v): smtCheapest %v, want %v", tc.smt, tc.drop, got, tc.want)
		}
	}
}
