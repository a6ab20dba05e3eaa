package place

import (
	"fmt"
	"math"
	"slices"

	"golang.org/x/perf/benchproc"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/quantile"
	"github.com/pinbench/pinbench/matrix"
)

// Model is the cost of one handoff between two CPUs, in ns, for one wait
// mode. Its inputs are the run's measured via=aio handoff per placement
// class (BenchmarkHandoff/via=aio/wait=W/place=C, pinned per CPU, back to
// back: the median of its results) and the latency matrix:
//
//	Cost(a, b) = handoff(class(a, b)) * cell(a, b) / median(cells of that class)
//
// The class of a pair is the Topology's (Relation). A pair the matrix did
// not measure (either direction) takes factor 1: its class's figure. A
// class the machine has but the run did not measure takes the figure of
// the nearest measured class further out (else further in), and the
// inputs say so. samecpu is never borrowed: without its figure, two
// threads cannot share a CPU. The unpinned class is costed at its own
// figure, for the unpinned baseline.
//
// A Model is immutable once NewModel returns it; goroutines may share it.
type Model struct {
	wait    Wait
	dir     string
	machine string
	topo    *affinity.Topology
	mat     *matrix.Matrix
	inputs  []ClassInput
	figure  map[affinity.Class]float64 // the figure each class is costed at
	median  map[affinity.Class]float64 // the matrix median of each class's cells
	cells   map[affinity.Class]int     // how many cells each class has in the matrix
	results *Results
}

// ClassInput is one row of a model's inputs: what a placement class is
// costed at and where that comes from.
type ClassInput struct {
	// Class is the placement class (or unpinned).
	Class affinity.Class
	// HandoffNs is the measured median one-way via=aio handoff at Class
	// for the model's wait mode; NaN when the run did not measure it.
	HandoffNs float64
	// Samples is the number of results behind HandoffNs.
	Samples int
	// CostNs is the figure pairs of Class are costed at before matrix
	// scaling: HandoffNs, or the borrowed figure; NaN when none.
	CostNs float64
	// From names the class whose figure Class borrowed; "" when Class is
	// costed at its own measurement (or not at all).
	From affinity.Class
	// MatrixMedianNs is the median of the matrix cells of Class's pairs,
	// NaN when the matrix measured none.
	MatrixMedianNs float64
	// Cells is the number of measured matrix cells (ordered pairs) of
	// Class.
	Cells int
}

// NewModel builds the model of res for wait. The run must hold via=aio
// handoff figures for wait at one placement class at least; otherwise the
// error names the wait mode and the folder, and the caller decides
// whether to try another wait mode or refuse. A matrix naming a CPU the
// topology lacks is an error too.
func NewModel(res *Results, wait Wait) (*Model, error) {
	if err := res.check(); err != nil {
		return nil, err
	}
	if _, err := ParseWait(string(wait)); err != nil {
		return nil, err
	}
	m := &Model{wait: wait, dir: res.Dir, machine: res.Machine, topo: res.Topology, mat: res.Matrix,
		figure: map[affinity.Class]float64{}, median: map[affinity.Class]float64{}, cells: map[affinity.Class]int{},
		results: res}
	measured, err := handoffFigures(res, wait)
	if err != nil {
		return nil, err
	}
	if err := m.matrixMedians(); err != nil {
		return nil, err
	}
	m.build(measured)
	return m, nil
}

// handoffFilter keeps the back-to-back via=aio handoffs pinned per CPU at
// some placement class, as the report's placement rule does.
const handoffFilter = `.name:Handoff /via:aio /pin:(cpu OR "") /pollmax:"" /rate:"" /place:/./ /wait:`

// handoffFigures returns the samples (ns) of each placement class's
// via=aio handoff for wait in res's run.
func handoffFigures(res *Results, wait Wait) (map[affinity.Class][]float64, error) {
	f, err := benchproc.NewFilter(handoffFilter + fmt.Sprintf("%q", string(wait)))
	if err != nil {
		return nil, fmt.Errorf("place: handoff filter: %v", err)
	}
	out := map[affinity.Class][]float64{}
	for _, r := range res.Run.Results {
		if match, _ := f.Match(r); !match.All() {
			continue
		}
		v, ok := r.Value("sec/op")
		if !ok {
			continue
		}
		c, err := affinity.ParseClass(nameKey(r.Name, "place"))
		if err != nil {
			return nil, fmt.Errorf("place: results %s: %s: %w", res.Dir, r.Name, err)
		}
		out[c] = append(out[c], v*1e9)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("place: results %s: no via=aio handoff figures for wait=%s (BenchmarkHandoff/via=aio/wait=%s/place=...): plan for another wait mode or tune with it",
			res.Dir, wait, wait)
	}
	return out, nil
}

// matrixMedians computes each class's median matrix cell.
func (m *Model) matrixMedians() error {
	if m.mat == nil {
		return nil
	}
	cells := map[affinity.Class][]float64{}
	for i, a := range m.mat.CPUs {
		for j, b := range m.mat.CPUs {
			v := m.mat.NS[i][j]
			if i == j || math.IsNaN(v) {
				continue
			}
			c := m.topo.Relation(a, b)
			if c == "" {
				return fmt.Errorf("place: results %s: the latency matrix measures CPUs %d and %d; the topology (%s) lacks one", m.dir, a, b, m.topo.Online)
			}
			cells[c] = append(cells[c], v)
		}
	}
	for c, v := range cells {
		m.median[c], m.cells[c] = quantile.Median(v), len(v)
	}
	return nil
}

// build fills the inputs and the figures: every class the machine has,
// then unpinned.
func (m *Model) build(measured map[affinity.Class][]float64) {
	classes := m.topo.Present()
	if !slices.Contains(classes, affinity.SameCPU) {
		classes = append([]affinity.Class{affinity.SameCPU}, classes...)
	}
	rows := make([]ClassInput, 0, len(classes)+1)
	for _, c := range append(classes, affinity.Unpinned) {
		in := ClassInput{Class: c, HandoffNs: math.NaN(), CostNs: math.NaN(), MatrixMedianNs: math.NaN(), Cells: m.cells[c]}
		if v := measured[c]; len(v) > 0 {
			in.HandoffNs, in.Samples, in.CostNs = quantile.Median(v), len(v), quantile.Median(v)
		}
		if med, ok := m.median[c]; ok {
			in.MatrixMedianNs = med
		}
		rows = append(rows, in)
	}
	borrow(rows)
	for _, in := range rows {
		if !math.IsNaN(in.CostNs) {
			m.figure[in.Class] = in.CostNs
		}
	}
	m.inputs = rows
}

// borrow gives each unmeasured relation class (not samecpu, not unpinned)
// the figure of the nearest measured class further out, else further in.
// rows are in Classes order, samecpu first and unpinned last.
func borrow(rows []ClassInput) {
	rel := rows[1 : len(rows)-1]
	for i := range rel {
		if !math.IsNaN(rel[i].HandoffNs) {
			continue
		}
		for _, j := range nearest(i, len(rel)) {
			if !math.IsNaN(rel[j].HandoffNs) {
				rel[i].CostNs, rel[i].From = rel[j].HandoffNs, rel[j].Class
				break
			}
		}
	}
}

// nearest lists the indices other than i in 0..n-1: those above i in
// ascending order, then those below in descending order.
func nearest(i, n int) []int {
	out := make([]int, 0, n)
	for j := i + 1; j < n; j++ {
		out = append(out, j)
	}
	for j := i - 1; j >= 0; j-- {
		out = append(out, j)
	}
	return out
}
