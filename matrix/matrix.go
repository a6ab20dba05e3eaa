package matrix

import (
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/quantile"
)

// Matrix is a core-to-core latency matrix: for each ordered pair of CPUs the
// one-way latency in nanoseconds (the median of its samples), the samples
// themselves when known, and the placement class of the pair when known.
//
// Index i refers to CPUs[i]; the CPUs are kept in the order given (callers
// order them by topology so that placement classes form blocks).
// Unmeasured cells (the diagonal, normally) hold NaN.
type Matrix struct {
	// CPUs lists the logical CPU ids, in display order.
	CPUs []int
	// NS[i][j] is the median one-way latency from CPUs[i] to CPUs[j] in
	// ns, NaN when not measured.
	NS [][]float64
	// Samples[i][j] holds the individual measurements of cell (i, j) in
	// ns, in increasing order (Set and ReadLongCSV sort them), nil for a
	// cell without them; Samples itself is nil when only the medians are
	// known (read from a grid CSV).
	Samples [][][]float64
	// Class[i][j] is the placement class of the pair (affinity.SMT,
	// affinity.LLC, ...), "" when unknown. Nil when no class is known at
	// all.
	Class [][]affinity.Class
	// Parallel says the cells were measured several pairs at once
	// (pinbench matrix --parallel); ParallelNotes names the checked cells
	// whose measurement alone disagreed beyond their spread. Not kept in
	// the CSV forms.
	Parallel      bool
	ParallelNotes []string
}

// New returns an empty matrix (every cell NaN) over cpus.
func New(cpus []int) *Matrix {
	n := len(cpus)
	m := &Matrix{CPUs: slices.Clone(cpus), NS: square[float64](n), Samples: square[[]float64](n)}
	for _, row := range m.NS {
		for j := range row {
			row[j] = math.NaN()
		}
	}
	return m
}

// square returns an n x n grid of zero values, its cells in one
// allocation; each row's capacity ends at its last cell, so that an
// append to a row cannot overwrite the next.
func square[T any](n int) [][]T {
	cells := make([]T, n*n)
	rows := make([][]T, n)
	for i := range rows {
		rows[i] = cells[i*n : (i+1)*n : (i+1)*n]
	}
	return rows
}

// Index returns the position of cpu in m.CPUs, or -1.
func (m *Matrix) Index(cpu int) int { return slices.Index(m.CPUs, cpu) }

// Set records the samples (ns) measured from CPU a to CPU b and sets the
// cell to their median. It panics if a or b is not in the matrix.
func (m *Matrix) Set(a, b int, samples ...float64) {
	i, j := m.mustIndex(a), m.mustIndex(b)
	s := slices.Clone(samples)
	slices.Sort(s)
	m.Samples[i][j] = s
	m.NS[i][j] = quantile.Median(s)
}

// At returns the median latency from CPU a to CPU b, NaN when unmeasured
// or when either CPU is not in the matrix.
func (m *Matrix) At(a, b int) float64 {
	i, j := m.Index(a), m.Index(b)
	if i < 0 || j < 0 {
		return math.NaN()
	}
	return m.NS[i][j]
}

// Classify sets the class of every pair from rel (for example the
// affinity.Topology Relation method).
func (m *Matrix) Classify(rel func(a, b int) affinity.Class) {
	m.Class = square[affinity.Class](len(m.CPUs))
	for i, a := range m.CPUs {
		for j, b := range m.CPUs {
			m.Class[i][j] = rel(a, b)
		}
	}
}

// ClassOf returns the class of the pair (a, b), "" when unknown.
func (m *Matrix) ClassOf(a, b int) affinity.Class {
	i, j := m.Index(a), m.Index(b)
	if m.Class == nil || i < 0 || j < 0 {
		return ""
	}
	return m.Class[i][j]
}

func (m *Matrix) mustIndex(cpu int) int {
	i := m.Index(cpu)
	if i < 0 {
		panic(fmt.Sprintf("matrix: CPU %d is not in the latency matrix (CPUs %v)", cpu, m.CPUs))
	}
	return i
}

// WriteText writes the matrix as an aligned table of medians in ns, like
// the text output of the known core-to-core latency tools, under a line
// that names the unit, then each measured pair's spread over its
// repetitions (see WriteSpread).
func (m *Matrix) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "One-way cache-line latency in ns, from the row's CPU to the column's: the median of %s per pair; - where not measured.\n", m.repsText())
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "\t")
	for _, c := range m.CPUs {
		fmt.Fprintf(tw, "%d\t", c)
	}
	fmt.Fprintln(tw)
	for i, c := range m.CPUs {
		fmt.Fprintf(tw, "%d\t", c)
		for j := range m.CPUs {
			v := m.NS[i][j]
			if math.IsNaN(v) {
				fmt.Fprint(tw, "-\t")
			} else {
				fmt.Fprintf(tw, "%.0f\t", v)
			}
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return m.WriteSpread(w)
}

// repsText says how many repetitions each cell holds: "5 repetitions", "1
// to 5 repetitions", or "the repetitions" when only medians are known.
func (m *Matrix) repsText() string {
	lo, hi := -1, 0
	for i := range m.Samples {
		for j := range m.Samples[i] {
			if n := len(m.Samples[i][j]); n > 0 {
				if lo < 0 || n < lo {
					lo = n
				}
				hi = max(hi, n)
			}
		}
	}
	switch {
	case lo < 0:
		return "the repetitions"
	case lo == hi && lo == 1:
		return "1 repetition"
	case lo == hi:
		return fmt.Sprintf("%d repetitions", lo)
	}
	return fmt.Sprintf("%d to %d repetitions", lo, hi)
}

// WriteSpread writes, for each measured pair (each unordered pair once:
// ping-pong is symmetric), its median and the spread of its repetitions
// (p10-p90 and min-max, ns); nothing when only medians are known.
func (m *Matrix) WriteSpread(w io.Writer) error {
	if m.Samples == nil { // read from the grid form: medians only
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := false
	for i := range m.CPUs {
		for j := i + 1; j < len(m.CPUs); j++ {
			s := m.Samples[i][j]
			if len(s) == 0 {
				continue
			}
			if !header {
				fmt.Fprintln(w, "\nSpread of each pair's repetitions, ns:")
				fmt.Fprintln(tw, "pair\tclass\tmedian\tp10-p90\tmin-max\tn")
				header = true
			}
			class := "-"
			if m.Class != nil && m.Class[i][j] != "" {
				class = string(m.Class[i][j])
			}
			fmt.Fprintf(tw, "%d-%d\t%s\t%.0f\t%.0f-%.0f\t%.0f-%.0f\t%d\n", m.CPUs[i], m.CPUs[j], class, quantile.Median(s),
				quantile.Percentile(s, 10), quantile.Percentile(s, 90), s[0], s[len(s)-1], len(s))
		}
	}
	return tw.Flush()
}
