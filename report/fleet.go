package report

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/benchtab"
	"github.com/pinbench/pinbench/internal/quantile"
	"github.com/pinbench/pinbench/matrix"
)

// Fleet is a fleet report: several machines' tuning runs side by side
// (pinbench compare --out). Its table has a row per machine and a column
// per placement class; each machine's recommendations and the heat maps
// of all of them (one picture, one colour scale) follow.
type Fleet struct {
	// Machines holds a row per run, in the order given.
	Machines []FleetMachine
	// Classes are the table's columns: every placement class at which
	// any machine measured a handoff or the floor, innermost first, then
	// unpinned, then any others by name.
	Classes []affinity.Class
	// Warnings are CompareWarnings of the runs: where they were measured
	// differently.
	Warnings []string
}

// FleetMachine is one machine's row of a Fleet.
type FleetMachine struct {
	// Name names the run as compare's columns do (the folder given).
	Name string
	// Machine is the run's "machine" configuration line, "" when none.
	Machine string
	// Wait is the wait strategy of the handoff figures: the machine's
	// recommended one, or poll (the rule's reference) when that
	// recommendation is withheld.
	Wait string
	// WaitRecommended tells whether Wait is the recommended strategy.
	WaitRecommended bool
	// Cells holds the figures at each placement class the machine
	// measured.
	Cells map[affinity.Class]FleetCell
	// Recommendations are the machine's, as its report gives them.
	Recommendations []Recommendation
	// Warnings are the machine's measurement-condition warnings.
	Warnings []Warning
	// Matrix is the machine's latency matrix, nil when none.
	Matrix *matrix.Matrix
}

// FleetCell is one machine's figures at one placement class: medians of
// the run, ns, NaN where not measured.
type FleetCell struct {
	// HandoffNs is the coroutine handoff (BenchmarkHandoff/via=aio,
	// pinned per CPU, back to back) at the machine's Wait.
	HandoffNs float64
	// FloorNs is the physical floor (BenchmarkFloor): one one-way
	// cache-line transfer between the same two CPUs.
	FloorNs float64
}

// BuildFleet assembles the fleet report of runs, named by their Name,
// with matrices[i] the latency matrix of runs[i] (nil, or a nil entry,
// for none). It does no I/O.
func BuildFleet(runs []*Run, matrices []*matrix.Matrix, th Thresholds) (*Fleet, error) {
	if len(runs) == 0 {
		return nil, errors.New("a fleet report needs at least one run")
	}
	if matrices != nil && len(matrices) != len(runs) {
		return nil, fmt.Errorf("a fleet report of %d runs was given %d latency matrices", len(runs), len(matrices))
	}
	f := &Fleet{Warnings: CompareWarnings(runs...)}
	seen := map[affinity.Class]bool{}
	for i, run := range runs {
		if run == nil || len(run.Results) == 0 {
			return nil, fmt.Errorf("fleet run %d (%s): no benchmark results", i+1, benchtab.Printable(runName(runs, i)))
		}
		var m *matrix.Matrix
		if matrices != nil {
			m = matrices[i]
		}
		fm := buildMachine(run, m, th)
		fm.Name = runName(runs, i)
		for c := range fm.Cells {
			seen[c] = true
		}
		f.Machines = append(f.Machines, fm)
	}
	f.Classes = classOrder(seen)
	return f, nil
}

// runName is the name of runs[i], A, B... when it has none (as
// CompareWarnings names it).
func runName(runs []*Run, i int) string {
	if runs[i] != nil && runs[i].Name != "" {
		return runs[i].Name
	}
	return runLabel(i)
}

// buildMachine computes one machine's row: its recommendations, the wait
// strategy they give, and the handoff at that strategy and the floor at
// each placement class.
func buildMachine(run *Run, m *matrix.Matrix, th Thresholds) FleetMachine {
	fm := FleetMachine{Machine: run.Config("machine"), Wait: "poll", Matrix: m,
		Recommendations: Recommend(run, th), Warnings: Warnings(run, m, th)}
	for _, rec := range fm.Recommendations {
		if rec.Topic == TopicWait && !rec.Withheld && rec.Choice != "" {
			fm.Wait, fm.WaitRecommended = rec.Choice, true
		}
	}
	fm.Cells = map[affinity.Class]FleetCell{}
	_, handoffs := groups[affinity.Class](run, filter(aioPinCPU, is("/wait", fm.Wait), backToBack), "/place", "sec/op")
	_, floors := groups[affinity.Class](run, floorAt, "/place", "sec/op")
	for _, pts := range []map[affinity.Class]*point{handoffs, floors} {
		for c := range pts {
			fm.Cells[c] = FleetCell{HandoffNs: medianNs(handoffs[c]), FloorNs: medianNs(floors[c])}
		}
	}
	return fm
}

// medianNs is the median of p's values (seconds) in ns, NaN for none.
func medianNs(p *point) float64 {
	if p == nil || len(p.vals) == 0 {
		return math.NaN()
	}
	return quantile.Median(p.vals) * 1e9
}

// classOrder orders the classes of seen: affinity's, innermost first,
// then unpinned, then any others by name.
func classOrder(seen map[affinity.Class]bool) []affinity.Class {
	var out, rest []affinity.Class
	for _, c := range append(affinity.Classes(), affinity.Unpinned) {
		if seen[c] {
			out = append(out, c)
		}
	}
	for c := range seen {
		if !slices.Contains(out, c) {
			rest = append(rest, c)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// HeatMaps returns the picture of every machine's heat map that has one,
// named by its machine and run (matrix.Fleet); empty when none has.
func (f *Fleet) HeatMaps() matrix.Fleet {
	var out matrix.Fleet
	for _, fm := range f.Machines {
		if fm.Matrix == nil {
			continue
		}
		p := matrix.Panel{Name: benchtab.Printable(fm.Name), Matrix: fm.Matrix}
		if fm.Machine != "" {
			p.Name, p.Note = benchtab.Printable(fm.Machine), p.Name
		}
		out = append(out, p)
	}
	return out
}
