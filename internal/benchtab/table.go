package benchtab

import (
	"math"
	"slices"

	"golang.org/x/perf/benchmath"
	"golang.org/x/perf/benchproc"
	"golang.org/x/perf/benchunit"
)

// Tables is a sequence of statistic tables, one per table key and unit, in
// benchstat's order.
type Tables struct {
	// Options are the options the tables were built with (defaults filled).
	Options Options
	// Tables holds the tables.
	Tables []*Table
}

// Table summarises the results that share one table key (including the
// unit) in a grid of rows and compared columns. Each cell is compared with
// the cell of the first column in its row.
type Table struct {
	// Key is the table key without the unit: one "name: value" pair per
	// field, as benchstat prints above a table.
	Key [][2]string
	// Unit is the tidied unit of every value in the table (e.g. "sec/op").
	Unit string
	// Assumption is the distributional assumption used (from the unit
	// metadata; benchmath.AssumeNothing by default).
	Assumption benchmath.Assumption
	// Rows and Cols label the rows and columns (benchproc Key values).
	Rows, Cols []string
	// Cells holds the cells; Cells[i][j] is row i, column j, nil when
	// no result fell there.
	Cells [][]*Cell
	// Geomean summarises each column (the "geomean" row; benchstat's
	// text output shows it only when the table has several rows).
	Geomean []*ColSummary

	rowKeys, colKeys []benchproc.Key
}

// Cell is the sample in one table cell with its summary and, except in the
// first column, its comparison with the first column of the same row.
type Cell struct {
	// Sample holds the sorted values and any warnings.
	Sample *benchmath.Sample
	// Summary is the median and its confidence interval.
	Summary benchmath.Summary
	// Baseline is the first-column cell of this row, nil for the first
	// column or when it is missing.
	Baseline *Cell
	// Comparison compares Baseline with this cell (valid when Baseline is
	// not nil).
	Comparison benchmath.Comparison
}

// N returns the number of values in the cell.
func (c *Cell) N() int { return len(c.Sample.Values) }

// CI returns the confidence interval as benchstat prints it after "±"
// (e.g. "3%", "∞").
func (c *Cell) CI() string { return c.Summary.PctRangeString() }

// CIFrac returns the half width of the confidence interval relative to the
// median (0.03 for ±3%), +Inf when the interval is unbounded.
func (c *Cell) CIFrac() float64 {
	s := c.Summary
	if math.IsInf(s.Lo, 0) || math.IsInf(s.Hi, 0) {
		return math.Inf(1)
	}
	if s.Center == 0 {
		return 0
	}
	return math.Abs(math.Max(s.Hi/s.Center-1, 1-s.Lo/s.Center))
}

// Delta returns the "vs base" column as benchstat prints it ("+12.50%", or
// "~" when not significant), "" without a baseline.
func (c *Cell) Delta() string {
	if c.Baseline == nil {
		return ""
	}
	return c.Comparison.FormatDelta(c.Baseline.Summary.Center, c.Summary.Center)
}

// PN returns the comparison note as benchstat prints it ("p=0.000 n=10"),
// "" without a baseline.
func (c *Cell) PN() string {
	if c.Baseline == nil {
		return ""
	}
	return c.Comparison.String()
}

// Warnings returns the sample, summary and comparison warnings of the cell.
func (c *Cell) Warnings() []error {
	w := append([]error(nil), c.Sample.Warnings...)
	w = append(w, c.Summary.Warnings...)
	if c.Baseline != nil {
		w = append(w, c.Comparison.Warnings...)
	}
	return w
}

// ColSummary is the geomean row entry of one column.
type ColSummary struct {
	// HasSummary tells whether Summary is valid.
	HasSummary bool
	// Summary is the geometric mean of the column's medians.
	Summary float64
	// HasRatio tells whether Ratio is valid (never for the first column).
	HasRatio bool
	// Ratio is the geometric mean of the ratios to the baseline medians.
	Ratio float64
	// Warnings explains a missing or doubtful summary.
	Warnings []error
}

// Format returns the median of cell (row i, column j) scaled like benchstat
// does for the whole row (e.g. "1.718µ"), "" when the cell is empty.
func (t *Table) Format(i, j int) string {
	c := t.Cells[i][j]
	if c == nil {
		return ""
	}
	return t.rowScaler(i).Format(c.Summary.Center)
}

func (t *Table) rowScaler(i int) benchunit.Scaler {
	var vals []float64
	for _, c := range t.Cells[i] {
		if c != nil {
			vals = append(vals, c.Summary.Center)
		}
	}
	return benchunit.CommonScale(vals, benchunit.ClassOf(t.Unit))
}

// Row returns the index of the row labelled label, or -1.
func (t *Table) Row(label string) int { return slices.Index(t.Rows, label) }

// Col returns the index of the column labelled label, or -1.
func (t *Table) Col(label string) int { return slices.Index(t.Cols, label) }
