package matrix

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/pinbench/pinbench/affinity"
)

// WriteCSV writes the grid form used by the known core-to-core latency
// tools: a header row "cpu,<id>,<id>,..." then one row per CPU, "<id>" then
// the median one-way latency in ns to each CPU (one decimal), empty where
// unmeasured (the diagonal).
func (m *Matrix) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := []string{"cpu"}
	for _, c := range m.CPUs {
		head = append(head, strconv.Itoa(c))
	}
	cw.Write(head)
	for i, c := range m.CPUs {
		row := []string{strconv.Itoa(c)}
		for j := range m.CPUs {
			row = append(row, csvCell(m.NS[i][j]))
		}
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

// csvCell is a grid cell: the latency in ns with one decimal, empty when
// unmeasured. (Not a display formatter: the CSV keeps plain numbers.)
func csvCell(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// ReadCSV reads the grid form written by WriteCSV. The first header cell
// may be anything (or empty); the header names each CPU once, each id below
// MaxCPUs, and the row ids must repeat its ids in order. Samples and
// classes are not part of this form and stay nil. Errors name the line.
func ReadCSV(r io.Reader) (*Matrix, error) { return readGrid(r, bound{}) }

// readGrid is ReadCSV with the CPUs that b accepts. Each row is kept as it
// is read, so memory follows the input: a grid of n CPUs holds n rows of n
// cells.
func readGrid(r io.Reader, b bound) (*Matrix, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("latency matrix: empty file")
	}
	if err != nil {
		return nil, fmt.Errorf("latency matrix: %w", err)
	}
	cpus, err := gridHeader(cr, head, b)
	if err != nil {
		return nil, err
	}
	m := &Matrix{CPUs: cpus}
	err = records(cr, func(rec []string, line int) error {
		if len(m.NS) == len(cpus) {
			return fmt.Errorf("latency matrix: line %d: a row beyond the %d CPUs of the header", line, len(cpus))
		}
		row, err := gridRow(rec, cpus, len(m.NS), line)
		m.NS = append(m.NS, row)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(m.NS) != len(cpus) {
		return nil, fmt.Errorf("latency matrix: %d CPUs in the header but %d rows", len(cpus), len(m.NS))
	}
	return m, nil
}

// gridHeader returns the CPUs that the grid's header names.
func gridHeader(cr *csv.Reader, head []string, b bound) ([]int, error) {
	var cpus []int
	col := map[int]int{} // CPU id -> its header column
	for k, f := range head[1:] {
		line, _ := cr.FieldPos(k + 1)
		c, err := b.cpu(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("latency matrix: line %d, header column %d: %w", line, k+2, err)
		}
		if first, dup := col[c]; dup {
			return nil, fmt.Errorf("latency matrix: line %d, header column %d: CPU %d repeats column %d", line, k+2, c, first)
		}
		col[c] = k + 2
		cpus = append(cpus, c)
	}
	return cpus, nil
}

// gridRow parses row i of the grid, on the line given: its CPU id, which
// must be cpus[i], then a latency or nothing per CPU.
func gridRow(rec []string, cpus []int, i, line int) ([]float64, error) {
	if len(rec) != len(cpus)+1 {
		return nil, fmt.Errorf("latency matrix: line %d: %d cells, want %d", line, len(rec), len(cpus)+1)
	}
	if id, err := strconv.Atoi(strings.TrimSpace(rec[0])); err != nil || id != cpus[i] {
		return nil, fmt.Errorf("latency matrix: line %d: row CPU %s, want %d (rows follow the header order)", line, quote(rec[0]), cpus[i])
	}
	row := make([]float64, len(cpus))
	for j, f := range rec[1:] {
		row[j] = math.NaN()
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		v, ok := parseLatency(f)
		if !ok {
			return nil, fmt.Errorf("latency matrix: line %d, CPU %d: latency %s is not a non-negative number", line, cpus[j], quote(f))
		}
		row[j] = v
	}
	return row, nil
}

// WriteLongCSV writes every measured cell on its own row with its class
// and samples: "from,to,class,median_ns,samples_ns", the samples separated
// by spaces. Unlike the grid form it keeps everything; ReadLongCSV reads it
// back.
func (m *Matrix) WriteLongCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"from", "to", "class", "median_ns", "samples_ns"})
	for i, a := range m.CPUs {
		for j, b := range m.CPUs {
			if math.IsNaN(m.NS[i][j]) {
				continue
			}
			var class affinity.Class
			if m.Class != nil {
				class = m.Class[i][j]
			}
			var ss []string
			if m.Samples != nil {
				for _, s := range m.Samples[i][j] {
					ss = append(ss, strconv.FormatFloat(s, 'g', -1, 64))
				}
			}
			cw.Write([]string{strconv.Itoa(a), strconv.Itoa(b), string(class),
				strconv.FormatFloat(m.NS[i][j], 'g', -1, 64), strings.Join(ss, " ")})
		}
	}
	cw.Flush()
	return cw.Error()
}

// ReadLongCSV reads the form written by WriteLongCSV: one row per ordered
// pair, its CPU ids below MaxCPUs, its class a placement class or empty,
// its median and samples finite and non-negative. CPUs appear in the order
// they are first named in the from column, then those named only in the to
// column in increasing order. Errors name the line.
func ReadLongCSV(r io.Reader) (*Matrix, error) { return readLong(r, bound{}) }

// readLong is ReadLongCSV with the CPUs that b accepts. The rows are kept
// until all are read (they give the CPUs and their order), then the dense
// matrix is made over the CPUs named; it is filled in one pass, so reading
// takes time linear in the rows plus the cells.
func readLong(r io.Reader, b bound) (*Matrix, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 5
	head, err := cr.Read()
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("latency matrix: %w", err)
	}
	if err == io.EOF || head[0] != "from" {
		return nil, errors.New(`latency matrix: missing header "from,to,class,median_ns,samples_ns"`)
	}
	l := longRows{bound: b, pairLine: map[[2]int]int{}}
	err = records(cr, func(rec []string, line int) error {
		if err := l.add(rec, line); err != nil {
			return fmt.Errorf("latency matrix: line %d: %w", line, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return l.matrix(), nil
}

// records calls f with each record left in cr and the line it starts on,
// until the end of the input or the first error.
func records(cr *csv.Reader, f func(rec []string, line int) error) error {
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("latency matrix: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if err := f(rec, line); err != nil {
			return err
		}
	}
}

// longRows collects the rows of a long-form matrix.
type longRows struct {
	bound    bound
	cells    []longCell
	pairLine map[[2]int]int // a pair -> the line that gave it
}

// longCell is one row of the long form.
type longCell struct {
	a, b    int
	class   affinity.Class
	med     float64
	samples []float64
}

// add checks and keeps one row.
func (l *longRows) add(rec []string, line int) error {
	a, err1 := strconv.Atoi(rec[0])
	b, err2 := strconv.Atoi(rec[1])
	med, ok := parseLatency(rec[3])
	if err1 != nil || err2 != nil || !ok {
		return fmt.Errorf("malformed row %s", quote(strings.Join(rec, ",")))
	}
	for _, cpu := range []int{a, b} {
		if err := l.bound.check(cpu); err != nil {
			return err
		}
	}
	class := affinity.Class(rec[2])
	if !knownClass(class) {
		return fmt.Errorf("class %s is not a placement class (%s, or none)", quote(rec[2]), classNames())
	}
	if first, dup := l.pairLine[[2]int{a, b}]; dup {
		return fmt.Errorf("pair %d->%d repeats line %d", a, b, first)
	}
	l.pairLine[[2]int{a, b}] = line
	samples, err := parseSamples(rec[4])
	if err != nil {
		return err
	}
	l.cells = append(l.cells, longCell{a: a, b: b, class: class, med: med, samples: samples})
	return nil
}

// parseSamples parses the long form's samples: latencies separated by
// spaces, nil for none.
func parseSamples(f string) ([]float64, error) {
	var out []float64
	for s := range strings.FieldsSeq(f) {
		v, ok := parseLatency(s)
		if !ok {
			return nil, fmt.Errorf("sample %s is not a non-negative number", quote(s))
		}
		out = append(out, v)
	}
	return out, nil
}

// matrix makes the matrix of the rows kept.
func (l *longRows) matrix() *Matrix {
	cpus, index := l.cpus()
	m := New(cpus)
	for _, c := range l.cells {
		i, j := index[c.a], index[c.b]
		m.NS[i][j] = c.med
		if c.samples != nil {
			slices.Sort(c.samples)
			m.Samples[i][j] = c.samples
		}
		if c.class != "" {
			if m.Class == nil {
				m.Class = square[affinity.Class](len(cpus))
			}
			m.Class[i][j] = c.class
		}
	}
	return m
}

// cpus returns the CPUs the rows name and the index of each: those of the
// from column in the order first named, then those only in the to column
// in increasing order (an order that WriteLongCSV's rows give back).
func (l *longRows) cpus() ([]int, map[int]int) {
	index := map[int]int{}
	var cpus, toOnly []int
	for _, c := range l.cells {
		if _, ok := index[c.a]; !ok {
			index[c.a] = len(cpus)
			cpus = append(cpus, c.a)
		}
	}
	for _, c := range l.cells {
		if _, ok := index[c.b]; !ok {
			index[c.b] = -1 // placed below
			toOnly = append(toOnly, c.b)
		}
	}
	slices.Sort(toOnly)
	for _, c := range toOnly {
		index[c] = len(cpus)
		cpus = append(cpus, c)
	}
	return cpus, index
}

// knownClass reports whether c may stand in the long form's class column:
// a placement class, unpinned, or nothing.
func knownClass(c affinity.Class) bool {
	return c == "" || c == affinity.Unpinned || slices.Contains(affinity.Classes(), c)
}

// classNames lists the classes knownClass accepts, for its error.
func classNames() string {
	var names []string
	for _, c := range append(affinity.Classes(), affinity.Unpinned) {
		names = append(names, string(c))
	}
	return strings.Join(names, ", ")
}

// parseLatency parses a latency in ns as both CSV forms hold it: a finite,
// non-negative number.
func parseLatency(f string) (float64, bool) {
	v, err := strconv.ParseFloat(f, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}
