package report

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/aclements/go-moremath/stats"
	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
	"golang.org/x/perf/benchproc"
	"golang.org/x/perf/benchunit"
)

// This file mirrors cmd/benchstat's internal benchtab package (which cannot
// be imported) on top of the public benchproc and benchmath packages, so that
// every figure equals what `go tool benchstat` prints for the same flags.

// TableOptions selects and slices results like benchstat's flags. Empty
// fields take benchstat's defaults.
type TableOptions struct {
	// Table groups results into tables (benchstat -table; default
	// ".config"). NoKey ("-") stands for benchstat's -table "": one table
	// per unit.
	Table string
	// Row groups results into rows (-row; default ".fullname").
	Row string
	// Col groups results into compared columns (-col; default ".file").
	Col string
	// Ignore lists keys whose variation is ignored (-ignore).
	Ignore string
	// Filter keeps only matching results (-filter; default "*").
	Filter string
	// Confidence is the confidence level of the intervals (default 0.95).
	Confidence float64
	// Alpha is the significance level of comparisons (default 0.05).
	Alpha float64
}

// NoKey as TableOptions.Table splits tables by unit only.
const NoKey = "-"

func (o TableOptions) projTable() string {
	if o.Table == NoKey {
		return ""
	}
	return o.Table
}

func (o TableOptions) withDefaults() TableOptions {
	if o.Table == "" {
		o.Table = ".config"
	}
	if o.Row == "" {
		o.Row = ".fullname"
	}
	if o.Col == "" {
		o.Col = ".file"
	}
	if o.Filter == "" {
		o.Filter = "*"
	}
	if o.Confidence == 0 {
		o.Confidence = 0.95
	}
	if o.Alpha == 0 {
		o.Alpha = benchmath.DefaultThresholds.CompareAlpha
	}
	return o
}

// Args returns the benchstat command-line flags equivalent to o.
func (o TableOptions) Args() []string {
	o = o.withDefaults()
	args := []string{"-table", o.projTable(), "-row", o.Row, "-col", o.Col, "-filter", o.Filter}
	if o.Ignore != "" {
		args = append(args, "-ignore", o.Ignore)
	}
	if o.Confidence != 0.95 {
		args = append(args, "-confidence", fmt.Sprint(o.Confidence))
	}
	if o.Alpha != benchmath.DefaultThresholds.CompareAlpha {
		args = append(args, "-alpha", fmt.Sprint(o.Alpha))
	}
	return args
}

// Tables is a sequence of statistic tables, one per table key and unit, in
// benchstat's order.
type Tables struct {
	// Options are the options the tables were built with (defaults filled).
	Options TableOptions
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

// Tables slices the run like `benchstat -table T -row R -col C -ignore I
// -filter F` and computes every cell's statistics. Results the filter
// rejects are dropped. A bad projection or filter is an error.
func (run *Run) Tables(opts TableOptions) (*Tables, error) {
	opts = opts.withDefaults()
	filter, err := benchproc.NewFilter(opts.Filter)
	if err != nil {
		return nil, fmt.Errorf("report: parsing filter %q: %w", opts.Filter, err)
	}
	var parser benchproc.ProjectionParser
	tableBy, _, err := parser.ParseWithUnit(opts.projTable(), filter)
	if err != nil {
		return nil, fmt.Errorf("report: parsing table projection %q: %w", opts.Table, err)
	}
	rowBy, err := parser.Parse(opts.Row, filter)
	if err != nil {
		return nil, fmt.Errorf("report: parsing row projection %q: %w", opts.Row, err)
	}
	colBy, err := parser.Parse(opts.Col, filter)
	if err != nil {
		return nil, fmt.Errorf("report: parsing column projection %q: %w", opts.Col, err)
	}
	if _, err := parser.Parse(opts.Ignore, filter); err != nil {
		return nil, fmt.Errorf("report: parsing ignore list %q: %w", opts.Ignore, err)
	}
	residue := parser.Residue()

	b := newBuilder(tableBy, rowBy, colBy, residue)
	for _, r := range run.Results {
		// Filter.Apply edits the result (drops units); work on a copy.
		r = r.Clone()
		if ok, _ := filter.Apply(r); !ok {
			continue
		}
		b.add(r)
	}
	thresholds := benchmath.DefaultThresholds
	thresholds.CompareAlpha = opts.Alpha
	return b.toTables(opts, &thresholds, run.Units), nil
}

type builder struct {
	tableBy, rowBy, colBy, residue *benchproc.Projection
	unitField                      *benchproc.Field
	tables                         map[benchproc.Key]*builderTable
}

type builderTable struct {
	rows, cols map[benchproc.Key]struct{}
	cells      map[[2]benchproc.Key]*builderCell
}

type builderCell struct {
	values  []float64
	residue map[benchproc.Key]struct{}
}

func newBuilder(tableBy, rowBy, colBy, residue *benchproc.Projection) *builder {
	fields := tableBy.Fields()
	return &builder{tableBy: tableBy, rowBy: rowBy, colBy: colBy, residue: residue,
		unitField: fields[len(fields)-1], tables: map[benchproc.Key]*builderTable{}}
}

func (b *builder) add(r *benchfmt.Result) {
	tableKeys := b.tableBy.ProjectValues(r)
	rowKey, colKey := b.rowBy.Project(r), b.colBy.Project(r)
	resKey := b.residue.Project(r)
	for i, tk := range tableKeys {
		t := b.tables[tk]
		if t == nil {
			t = &builderTable{rows: map[benchproc.Key]struct{}{}, cols: map[benchproc.Key]struct{}{},
				cells: map[[2]benchproc.Key]*builderCell{}}
			b.tables[tk] = t
		}
		ck := [2]benchproc.Key{rowKey, colKey}
		c := t.cells[ck]
		if c == nil {
			c = &builderCell{residue: map[benchproc.Key]struct{}{}}
			t.cells[ck] = c
			t.rows[rowKey] = struct{}{}
			t.cols[colKey] = struct{}{}
		}
		c.values = append(c.values, r.Values[i].Value)
		c.residue[resKey] = struct{}{}
	}
}

func sortedKeys(m map[benchproc.Key]struct{}) []benchproc.Key {
	keys := make([]benchproc.Key, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	benchproc.SortKeys(keys)
	return keys
}

func (b *builder) toTables(opts TableOptions, th *benchmath.Thresholds, units benchfmt.UnitMetadataMap) *Tables {
	var tkeys []benchproc.Key
	for k := range b.tables {
		tkeys = append(tkeys, k)
	}
	benchproc.SortKeys(tkeys)
	out := &Tables{Options: opts}
	for _, tk := range tkeys {
		bt := b.tables[tk]
		unit := tk.Get(b.unitField)
		assumption := units.GetAssumption(unit)
		t := &Table{Unit: unit, Assumption: assumption,
			rowKeys: sortedKeys(bt.rows), colKeys: sortedKeys(bt.cols)}
		for _, f := range tk.Projection().FlattenedFields() {
			if f.Name != ".unit" {
				t.Key = append(t.Key, [2]string{f.Name, tk.Get(f)})
			}
		}
		for _, k := range t.rowKeys {
			t.Rows = append(t.Rows, k.StringValues())
		}
		for _, k := range t.colKeys {
			t.Cols = append(t.Cols, k.StringValues())
		}
		t.Cells = make([][]*Cell, len(t.rowKeys))
		for i, rk := range t.rowKeys {
			t.Cells[i] = make([]*Cell, len(t.colKeys))
			for j, ck := range t.colKeys {
				if bc := bt.cells[[2]benchproc.Key{rk, ck}]; bc != nil {
					vals := append([]float64(nil), bc.values...)
					t.Cells[i][j] = &Cell{Sample: benchmath.NewSample(vals, th)}
				}
			}
		}
		for i, rk := range t.rowKeys {
			for j, ck := range t.colKeys {
				c := t.Cells[i][j]
				if c == nil {
					continue
				}
				if j > 0 {
					c.Baseline = t.Cells[i][0]
				}
				c.Summary = assumption.Summary(c.Sample, opts.Confidence)
				if c.Baseline != nil {
					c.Comparison = assumption.Compare(c.Baseline.Sample, c.Sample)
				}
				bc := bt.cells[[2]benchproc.Key{rk, ck}]
				if nsk := benchproc.NonSingularFields(sortedKeys(bc.residue)); len(nsk) > 0 {
					var names []string
					for _, f := range nsk {
						names = append(names, f.Name)
					}
					c.Sample.Warnings = append(c.Sample.Warnings,
						errors.New("benchmarks vary in "+strings.Join(names, ", ")))
				}
			}
		}
		t.Geomean = geomeanRow(t)
		out.Tables = append(out.Tables, t)
	}
	return out
}

// geomeanRow follows benchtab's summarizeCol.
func geomeanRow(t *Table) []*ColSummary {
	nBase := 0
	for i := range t.Rows {
		if t.Cells[i][0] != nil {
			nBase++
		}
	}
	out := make([]*ColSummary, len(t.Cols))
	for j := range t.Cols {
		s := &ColSummary{}
		out[j] = s
		var summaries, ratios []float64
		badRatio := false
		for i := range t.Rows {
			c := t.Cells[i][j]
			if c == nil {
				continue
			}
			summaries = append(summaries, c.Summary.Center)
			if c.Baseline != nil {
				a, b := c.Summary.Center, c.Baseline.Summary.Center
				switch {
				case a == b:
					ratios = append(ratios, 1)
				case b == 0:
					badRatio = true
					ratios = append(ratios, 0)
				default:
					ratios = append(ratios, a/b)
				}
			}
		}
		if j > 0 && nBase != len(ratios) {
			s.Warnings = append(s.Warnings, errors.New("benchmark set differs from baseline; geomeans may not be comparable"))
		}
		if gm := stats.GeoMean(summaries); math.IsNaN(gm) {
			s.Warnings = append(s.Warnings, errors.New("summaries must be >0 to compute geomean"))
		} else {
			s.HasSummary, s.Summary = true, gm
		}
		if j > 0 && !badRatio {
			if gm := stats.GeoMean(ratios); math.IsNaN(gm) {
				s.Warnings = append(s.Warnings, errors.New("ratios must be >0 to compute geomean"))
			} else {
				s.HasRatio, s.Ratio = true, gm
			}
		}
	}
	return out
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
