package place

import (
	"fmt"
	"maps"
	"math"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/affinity"
)

// TestPlanEPYC plans each pattern on the 2-core VM's results.
func TestPlanEPYC(t *testing.T) {
	m := modelOf(t, epycResults, WaitAdaptive)
	for _, pattern := range Patterns() {
		wl, _ := Pattern(pattern, 2)
		p, err := NewPlan(m, wl, Options{})
		if err != nil {
			t.Fatal(err)
		}
		sum := 0.0
		for _, e := range p.Edges {
			sum += e.TotalNs
		}
		if p.CPUs[0] == p.CPUs[1] || !near(sum, p.TotalNs) || !strings.HasPrefix(p.Solver, "exact") {
			t.Errorf("%s: CPUs %v, total %v (edges %v), solver %q", pattern, p.CPUs, p.TotalNs, sum, p.Solver)
		}
		unpinned, ok := p.Baseline(BaselineUnpinned)
		handoffs := map[string]float64{PatternPairs: 2, PatternRing: 2, PatternFanIn: 1, PatternAll: 2}[pattern]
		if !ok || !near(unpinned.TotalNs, handoffs*m.figure[affinity.Unpinned]) {
			t.Errorf("%s: unpinned baseline %+v, want %v handoffs at %v", pattern, unpinned, handoffs, m.figure[affinity.Unpinned])
		}
		if p.PollMaxNs != QEMUDefaultPollMaxNs || !strings.Contains(p.PollNote, "names no window") {
			t.Errorf("%s: poll-max-ns %d (%s), want the default: the sweep recommends none", pattern, p.PollMaxNs, p.PollNote)
		}
	}
	wl, _ := Pattern(PatternRing, 3)
	if _, err := NewPlan(m, wl, Options{}); err == nil || !strings.Contains(err.Error(), "3 threads, but only 2 usable CPUs (0-1)") {
		t.Errorf("3 threads on 2 CPUs: %v", err)
	}
	if _, err := NewPlan(m, &Workload{Threads: []string{"a"}}, Options{}); err == nil || !strings.Contains(err.Error(), "no edges") {
		t.Errorf("empty workload: %v", err)
	}
}

// TestPlanPollMax: no sweep gives QEMU's default, wait=block gives 0.
func TestPlanPollMax(t *testing.T) {
	wl, _ := Pattern(PatternPairs, 2)
	for wait, want := range map[Wait]int64{WaitAdaptive: QEMUDefaultPollMaxNs, WaitBlock: 0} {
		p, err := NewPlan(modelOf(t, big16Results, wait), wl, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if p.PollMaxNs != want || p.PollNote == "" {
			t.Errorf("wait=%s: poll-max-ns %d (%s), want %d", wait, p.PollMaxNs, p.PollNote, want)
		}
	}
	for choice, want := range map[string]int64{"pollmax=32us": 32000, "pollmax=0us": 0, "pollmax=500ns": 500, "poll": -1, "pollmax=x": -1} {
		got, ok := parseWindow(choice)
		if !ok {
			got = -1
		}
		if got != want {
			t.Errorf("parseWindow(%q) = %d, want %d", choice, got, want)
		}
	}
}

// TestPlanRules checks that plans keep the rules and beat the baselines
// that keep them too, on the two-socket fixture.
func TestPlanRules(t *testing.T) {
	topo := capture(t, "two-socket-smt")
	figs := maps.Clone(synthFigures)
	figs[affinity.SMT] = 250 // dearer than llc: polling threads keep off siblings
	res := &Results{Dir: "x", Run: synthRun(t, figs, "", WaitPoll), Topology: topo, Matrix: synthMatrix(topo, 5, 0.5)}
	m, err := NewModel(res, WaitPoll)
	if err != nil {
		t.Fatal(err)
	}
	for _, pattern := range Patterns() {
		wl, _ := Pattern(pattern, 8)
		p, err := NewPlan(m, wl, Options{})
		if err != nil {
			t.Fatal(err)
		}
		cores := map[int]bool{}
		for _, c := range p.CPUs {
			info, _ := topo.CPU(c)
			cores[info.Core] = true
		}
		if len(cores) != 8 {
			t.Errorf("%s: CPUs %v use %d cores, want 8 (one polling thread per core)", pattern, p.CPUs, len(cores))
		}
		if spread, _ := p.Baseline(BaselineSpread); p.TotalNs > spread.TotalNs*(1+1e-9) {
			t.Errorf("%s: plan %v costs more than spread %v, which keeps the rules", pattern, p.TotalNs, spread.TotalNs)
		}
	}
}

// TestPlanShare: with wait=block and samecpu measured cheapest, shared
// CPUs let more threads than CPUs go, and pairs share a CPU.
func TestPlanShare(t *testing.T) {
	topo := capture(t, "numa-split-package")
	figs := maps.Clone(synthFigures)
	figs[affinity.SameCPU] = 50
	m, err := NewModel(&Results{Dir: "x", Run: synthRun(t, figs, "", WaitBlock), Topology: topo}, WaitBlock)
	if err != nil {
		t.Fatal(err)
	}
	wl, _ := Pattern(PatternPairs, 12)
	p, err := NewPlan(m, wl, Options{Constraints{CPUs: affinity.NewCPUSet(0, 1, 2, 3), Share: true}})
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 12; k += 2 {
		if p.CPUs[k] != p.CPUs[k+1] {
			t.Errorf("pair %d on CPUs %d and %d, want one CPU (samecpu is cheapest)", k/2, p.CPUs[k], p.CPUs[k+1])
		}
	}
	if math.IsNaN(p.TotalNs) || !strings.Contains(p.Solver, "local search") {
		t.Errorf("total %v, solver %q: want a cost from the local search (12 threads)", p.TotalNs, p.Solver)
	}
}

// TestPlanDeterministic plans twice and wants the same placement.
func TestPlanDeterministic(t *testing.T) {
	topo := capture(t, "two-socket-smt")
	m, err := NewModel(synthResults(t, topo, synthMatrix(topo, 9, 1), WaitAdaptive), WaitAdaptive)
	if err != nil {
		t.Fatal(err)
	}
	var out [2]string
	for i := range out {
		wl, _ := Pattern(PatternRing, 12)
		p, err := NewPlan(m, wl, Options{})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = fmt.Sprint(p.CPUs, p.TotalNs, p.Solver, p.Baselines)
	}
	if out[0] != out[1] {
		t.Errorf("two plans of the same inputs differ:\n%s\n%s", out[0], out[1])
	}
}

// TestPlanNoRelationFigure: a run that measured only samecpu and
// unpinned cannot cost a pair of CPUs; the error says so.
func TestPlanNoRelationFigure(t *testing.T) {
	topo := capture(t, "numa-split-package")
	figs := map[affinity.Class]float64{affinity.SameCPU: 100, affinity.Unpinned: 400}
	m, err := NewModel(&Results{Dir: "only/samecpu", Run: synthRun(t, figs, "", WaitBlock), Topology: topo}, WaitBlock)
	if err != nil {
		t.Fatal(err)
	}
	wl, _ := Pattern(PatternPairs, 2)
	_, err = NewPlan(m, wl, Options{})
	if err == nil || !strings.Contains(err.Error(), "only/samecpu has no via=aio figure for wait=block at class llc") {
		t.Errorf("error %v, want one naming the folder, wait=block and class llc", err)
	}
}
