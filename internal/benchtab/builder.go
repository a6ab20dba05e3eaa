// Package benchtab presents benchmark results as benchstat's comparison
// tables: it groups results into tables, rows and compared columns with
// benchproc projections, summarises every cell with benchmath and
// compares it with the first column of its row.
//
// It mirrors cmd/benchstat's internal benchtab package (which cannot be
// imported) on top of the public benchproc and benchmath packages, so that
// every figure equals what `go tool benchstat` prints for the same flags;
// the test checks that against the live tool and its golden output.
//
// The steps are those of benchstat:
//
//  1. NewBuilder parses the Options (benchstat's -table, -row, -col,
//     -ignore and -filter) into a benchproc filter and projections.
//  2. Add filters each benchfmt.Result and groups its values by table
//     (including the unit), row and column key.
//  3. ToTables refuses tables wider than MaxColumns, sorts the keys,
//     summarises each cell (median and confidence interval), compares it
//     with its row's first column and adds each column's geomean.
//  4. Tables.WriteText and Tables.WriteMarkdown render the result.
package benchtab

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/aclements/go-moremath/stats"
	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
	"golang.org/x/perf/benchproc"
)

// Options selects and slices results like benchstat's flags. Empty fields
// take benchstat's defaults.
type Options struct {
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

// NoKey as Options.Table splits tables by unit only.
const NoKey = "-"

func (o Options) projTable() string {
	if o.Table == NoKey {
		return ""
	}
	return o.Table
}

func (o Options) withDefaults() Options {
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
func (o Options) Args() []string {
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

// A Builder collects benchmark results into tables.
type Builder struct {
	opts                           Options
	filter                         *benchproc.Filter
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

// NewBuilder parses opts' filter and projections, like `benchstat -table T
// -row R -col C -ignore I -filter F`. A bad projection or filter is an
// error naming it.
func NewBuilder(opts Options) (*Builder, error) {
	opts = opts.withDefaults()
	filter, err := benchproc.NewFilter(opts.Filter)
	if err != nil {
		return nil, fmt.Errorf("parsing filter %q: %w", opts.Filter, err)
	}
	var parser benchproc.ProjectionParser
	tableBy, _, err := parser.ParseWithUnit(opts.projTable(), filter)
	if err != nil {
		return nil, fmt.Errorf("parsing table projection %q: %w", opts.Table, err)
	}
	rowBy, err := parser.Parse(opts.Row, filter)
	if err != nil {
		return nil, fmt.Errorf("parsing row projection %q: %w", opts.Row, err)
	}
	colBy, err := parser.Parse(opts.Col, filter)
	if err != nil {
		return nil, fmt.Errorf("parsing column projection %q: %w", opts.Col, err)
	}
	if _, err := parser.Parse(opts.Ignore, filter); err != nil {
		return nil, fmt.Errorf("parsing ignore list %q: %w", opts.Ignore, err)
	}
	fields := tableBy.Fields()
	return &Builder{opts: opts, filter: filter,
		tableBy: tableBy, rowBy: rowBy, colBy: colBy, residue: parser.Residue(),
		unitField: fields[len(fields)-1], tables: map[benchproc.Key]*builderTable{}}, nil
}

// Add adds the values of r that the filter keeps to the tables. r itself
// is not modified.
func (b *Builder) Add(r *benchfmt.Result) {
	// Filter.Apply edits the result (drops units); work on a copy.
	r = r.Clone()
	if ok, _ := b.filter.Apply(r); !ok {
		return
	}
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

// sortedKeys returns m's keys in benchproc's order (first observation).
func sortedKeys[V any](m map[benchproc.Key]V) []benchproc.Key {
	keys := slices.Collect(maps.Keys(m))
	benchproc.SortKeys(keys)
	return keys
}

// MaxColumns is the most columns a table has: values of Options.Col
// (placement classes, wait strategies, runs compared; a tuning run has
// seven classes at most). A table is a grid of its rows by its columns;
// where each row has results in few of them, most of the grid is empty,
// and its size grows as the square of the results (1000 placement
// classes of one result each made a 6 MB report). ToTables refuses a
// wider table.
const MaxColumns = 64

// ToTables computes every cell's statistics with the distributional
// assumption units gives each unit (benchmath.AssumeNothing by default).
// A table of more than MaxColumns columns is an error naming the column
// projection.
func (b *Builder) ToTables(units benchfmt.UnitMetadataMap) (*Tables, error) {
	for _, bt := range b.tables {
		if n := len(bt.cols); n > MaxColumns {
			return nil, fmt.Errorf("%d values of %s in one table, more than the %d columns a table shows (MaxColumns)", n, b.opts.Col, MaxColumns)
		}
	}
	th := benchmath.DefaultThresholds
	th.CompareAlpha = b.opts.Alpha
	out := &Tables{Options: b.opts}
	for _, tk := range sortedKeys(b.tables) {
		out.Tables = append(out.Tables, b.toTable(tk, &th, units))
	}
	return out, nil
}

func (b *Builder) toTable(tk benchproc.Key, th *benchmath.Thresholds, units benchfmt.UnitMetadataMap) *Table {
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
			c.Summary = assumption.Summary(c.Sample, b.opts.Confidence)
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
	return t
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
