package matrix

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
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
// may be anything (or empty); the header names each CPU once, and the row
// ids must repeat its ids in order. Samples and classes are not part of
// this form and stay nil.
func ReadCSV(r io.Reader) (*Matrix, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("latency matrix: %w", err)
	}
	if len(recs) == 0 {
		return nil, errors.New("latency matrix: empty file")
	}
	var cpus []int
	col := map[int]int{} // CPU id -> its header column
	for k, f := range recs[0][1:] {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("latency matrix: header column %d: CPU id %q is not a number", k+2, f)
		}
		if first, dup := col[c]; dup {
			return nil, fmt.Errorf("latency matrix: header column %d: CPU %d repeats column %d", k+2, c, first)
		}
		col[c] = k + 2
		cpus = append(cpus, c)
	}
	if len(recs)-1 != len(cpus) {
		return nil, fmt.Errorf("latency matrix: %d CPUs in the header but %d rows", len(cpus), len(recs)-1)
	}
	m := New(cpus)
	m.Samples = nil
	for i, rec := range recs[1:] {
		line := i + 2
		if len(rec) != len(cpus)+1 {
			return nil, fmt.Errorf("latency matrix: line %d: %d cells, want %d", line, len(rec), len(cpus)+1)
		}
		if id, err := strconv.Atoi(strings.TrimSpace(rec[0])); err != nil || id != cpus[i] {
			return nil, fmt.Errorf("latency matrix: line %d: row CPU %q, want %d (rows follow the header order)", line, rec[0], cpus[i])
		}
		for j, f := range rec[1:] {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			v, ok := parseLatency(f)
			if !ok {
				return nil, fmt.Errorf("latency matrix: line %d, CPU %d: latency %q is not a non-negative number", line, cpus[j], f)
			}
			m.NS[i][j] = v
		}
	}
	return m, nil
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
// pair, its median and samples finite and non-negative. CPUs appear in the
// order they are first named in the from column, then the to column.
func ReadLongCSV(r io.Reader) (*Matrix, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 5
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("latency matrix: %w", err)
	}
	if len(recs) == 0 || recs[0][0] != "from" {
		return nil, errors.New(`latency matrix: missing header "from,to,class,median_ns,samples_ns"`)
	}
	type cell struct {
		a, b    int
		class   affinity.Class
		med     float64
		samples []float64
	}
	var cells []cell
	var cpus []int
	seen := map[int]bool{}
	pairLine := map[[2]int]int{} // a pair -> the line that gave it
	for k, rec := range recs[1:] {
		line := k + 2
		a, err1 := strconv.Atoi(rec[0])
		b, err2 := strconv.Atoi(rec[1])
		med, ok := parseLatency(rec[3])
		if err1 != nil || err2 != nil || !ok {
			return nil, fmt.Errorf("latency matrix: line %d: malformed row %q", line, strings.Join(rec, ","))
		}
		if first, dup := pairLine[[2]int{a, b}]; dup {
			return nil, fmt.Errorf("latency matrix: line %d: pair %d->%d repeats line %d", line, a, b, first)
		}
		pairLine[[2]int{a, b}] = line
		c := cell{a: a, b: b, class: affinity.Class(rec[2]), med: med}
		for _, f := range strings.Fields(rec[4]) {
			v, ok := parseLatency(f)
			if !ok {
				return nil, fmt.Errorf("latency matrix: line %d: sample %q is not a non-negative number", line, f)
			}
			c.samples = append(c.samples, v)
		}
		cells = append(cells, c)
		if !seen[a] {
			seen[a] = true
			cpus = append(cpus, a)
		}
	}
	for _, c := range cells {
		if !seen[c.b] {
			seen[c.b] = true
			cpus = append(cpus, c.b)
		}
	}
	m := New(cpus)
	for _, c := range cells {
		i, j := m.Index(c.a), m.Index(c.b)
		m.NS[i][j] = c.med
		if c.samples != nil {
			slices.Sort(c.samples)
			m.Samples[i][j] = c.samples
		}
		if c.class != "" {
			if m.Class == nil {
				m.Class = make([][]affinity.Class, len(cpus))
				for x := range m.Class {
					m.Class[x] = make([]affinity.Class, len(cpus))
				}
			}
			m.Class[i][j] = c.class
		}
	}
	return m, nil
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

// ReadFile reads a latency matrix from a file in either CSV form
// (the long form is recognised by its "from,to" header). Errors name the
// file.
func ReadFile(path string) (*Matrix, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m *Matrix
	if strings.HasPrefix(string(data), "from,to,") {
		m, err = ReadLongCSV(strings.NewReader(string(data)))
	} else {
		m, err = ReadCSV(strings.NewReader(string(data)))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}
