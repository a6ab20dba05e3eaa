package report_test

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/matrix"
	"github.com/pinbench/pinbench/report"
)

// committedRun reads bench.txt of a committed results folder, named as
// compare names it.
func committedRun(t *testing.T, dir string) *report.Run {
	t.Helper()
	r, err := report.ReadFiles(filepath.Join("..", dir, "bench.txt"))
	if err != nil {
		t.Fatal(err)
	}
	r.Name = dir
	return r
}

// A machine's handoffs are read at its recommended wait strategy, or at
// poll when that recommendation is withheld; the columns are the classes
// any machine measured, innermost first, unpinned last.
func TestBuildFleet(t *testing.T) {
	runs := []*report.Run{
		committedRun(t, "results/amd-epyc-2c2t-vm-7c0fcb/latest"), // wait=adaptive recommended
		committedRun(t, "lab/results/l2/tune"),                    // wait withheld
	}
	f, err := report.BuildFleet(runs, nil, report.Thresholds{})
	if err != nil {
		t.Fatal(err)
	}
	want := []affinity.Class{affinity.SameCPU, affinity.L2, affinity.LLC, affinity.Node, affinity.Unpinned}
	if !slices.Equal(f.Classes, want) {
		t.Errorf("classes %v, want %v", f.Classes, want)
	}
	amd, l2 := f.Machines[0], f.Machines[1]
	if amd.Wait != "adaptive" || !amd.WaitRecommended || l2.Wait != "poll" || l2.WaitRecommended {
		t.Errorf("waits %q (%v) and %q (%v); want adaptive (recommended) and poll (not)", amd.Wait, amd.WaitRecommended, l2.Wait, l2.WaitRecommended)
	}
	if c := amd.Cells[affinity.LLC]; c.HandoffNs < c.FloorNs || math.IsNaN(c.FloorNs) {
		t.Errorf("amd at llc: handoff %v ns, floor %v ns", c.HandoffNs, c.FloorNs)
	}
	if c, ok := amd.Cells[affinity.SameCPU]; !ok || !math.IsNaN(c.FloorNs) || math.IsNaN(c.HandoffNs) {
		t.Errorf("amd at samecpu: %+v, %v; want a handoff and no floor", c, ok)
	}
	if _, ok := amd.Cells[affinity.L2]; ok || len(f.Warnings) == 0 || len(amd.Recommendations) == 0 {
		t.Errorf("amd has an l2 cell, or no comparison warnings (%q), or no recommendations", f.Warnings)
	}
	if len(f.HeatMaps()) != 0 {
		t.Error("heat maps without matrices")
	}
}

// Bad input is refused with an error that names it.
func TestBuildFleetErrors(t *testing.T) {
	one := committedRun(t, "lab/results/smt2/tune")
	empty := &report.Run{Name: "results/empty"}
	for _, c := range []struct {
		runs     []*report.Run
		matrices []*matrix.Matrix
		want     string
	}{
		{nil, nil, "at least one run"},
		{[]*report.Run{one, one}, []*matrix.Matrix{nil}, "2 runs was given 1 latency matrices"},
		{[]*report.Run{one, empty}, nil, "fleet run 2 (results/empty): no benchmark results"},
	} {
		if _, err := report.BuildFleet(c.runs, c.matrices, report.Thresholds{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("BuildFleet of %d runs: %v, want %q", len(c.runs), err, c.want)
		}
	}
}
