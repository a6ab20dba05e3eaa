package report

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
	"text/tabwriter"
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
	// ns, nil when only the median is known (e.g. read from a grid CSV).
	Samples [][][]float64
	// Class[i][j] is the placement class of the pair ("smt", "llc", ...),
	// "" when unknown. Nil when no class is known at all.
	Class [][]string
	// Parallel says the cells were measured several pairs at once
	// (pinbench matrix --parallel); ParallelNotes names the checked cells
	// whose measurement alone disagreed beyond their spread. Not kept in
	// the CSV forms.
	Parallel      bool
	ParallelNotes []string
}

// NewMatrix returns an empty matrix (every cell NaN) over cpus.
func NewMatrix(cpus []int) *Matrix {
	n := len(cpus)
	m := &Matrix{CPUs: slices.Clone(cpus), NS: make([][]float64, n), Samples: make([][][]float64, n)}
	for i := range n {
		m.NS[i] = make([]float64, n)
		m.Samples[i] = make([][]float64, n)
		for j := range n {
			m.NS[i][j] = math.NaN()
		}
	}
	return m
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
	m.NS[i][j] = median(s)
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
// affinity.Topology Relation method, converted to string).
func (m *Matrix) Classify(rel func(a, b int) string) {
	n := len(m.CPUs)
	m.Class = make([][]string, n)
	for i := range n {
		m.Class[i] = make([]string, n)
		for j := range n {
			m.Class[i][j] = rel(m.CPUs[i], m.CPUs[j])
		}
	}
}

// ClassOf returns the class of the pair (a, b), "" when unknown.
func (m *Matrix) ClassOf(a, b int) string {
	i, j := m.Index(a), m.Index(b)
	if m.Class == nil || i < 0 || j < 0 {
		return ""
	}
	return m.Class[i][j]
}

func (m *Matrix) mustIndex(cpu int) int {
	i := m.Index(cpu)
	if i < 0 {
		panic(fmt.Sprintf("report: CPU %d is not in the latency matrix (CPUs %v)", cpu, m.CPUs))
	}
	return i
}

// median is the one median of the package: the middle value of vals, or
// the mean of the two middle values; NaN for none. vals is not modified.
func median(vals []float64) float64 {
	if len(vals) == 0 {
		return math.NaN()
	}
	s := slices.Clone(vals)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

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
			row = append(row, formatNS(m.NS[i][j]))
		}
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}

func formatNS(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// ReadCSV reads the grid form written by WriteCSV. The first header cell
// may be anything (or empty); the row ids must repeat the header's ids in
// order. Samples and classes are not part of this form and stay nil.
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
	for k, f := range recs[0][1:] {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("latency matrix: header column %d: CPU id %q is not a number", k+2, f)
		}
		cpus = append(cpus, c)
	}
	if len(recs)-1 != len(cpus) {
		return nil, fmt.Errorf("latency matrix: %d CPUs in the header but %d rows", len(cpus), len(recs)-1)
	}
	m := NewMatrix(cpus)
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
			v, err := strconv.ParseFloat(f, 64)
			if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
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
			class := ""
			if m.Class != nil {
				class = m.Class[i][j]
			}
			var ss []string
			if m.Samples != nil {
				for _, s := range m.Samples[i][j] {
					ss = append(ss, strconv.FormatFloat(s, 'g', -1, 64))
				}
			}
			cw.Write([]string{strconv.Itoa(a), strconv.Itoa(b), class,
				strconv.FormatFloat(m.NS[i][j], 'g', -1, 64), strings.Join(ss, " ")})
		}
	}
	cw.Flush()
	return cw.Error()
}

// ReadLongCSV reads the form written by WriteLongCSV. CPUs appear in the
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
		class   string
		med     float64
		samples []float64
	}
	var cells []cell
	var cpus []int
	seen := map[int]bool{}
	for k, rec := range recs[1:] {
		line := k + 2
		a, err1 := strconv.Atoi(rec[0])
		b, err2 := strconv.Atoi(rec[1])
		med, err3 := strconv.ParseFloat(rec[3], 64)
		if err1 != nil || err2 != nil || err3 != nil || med < 0 {
			return nil, fmt.Errorf("latency matrix: line %d: malformed row %q", line, strings.Join(rec, ","))
		}
		c := cell{a: a, b: b, class: rec[2], med: med}
		for _, f := range strings.Fields(rec[4]) {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				return nil, fmt.Errorf("latency matrix: line %d: sample %q is not a number", line, f)
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
	m := NewMatrix(cpus)
	for _, c := range cells {
		i, j := m.Index(c.a), m.Index(c.b)
		m.NS[i][j] = c.med
		if c.samples != nil {
			slices.Sort(c.samples)
			m.Samples[i][j] = c.samples
		}
		if c.class != "" {
			if m.Class == nil {
				m.Class = make([][]string, len(cpus))
				for x := range m.Class {
					m.Class[x] = make([]string, len(cpus))
				}
			}
			m.Class[i][j] = c.class
		}
	}
	return m, nil
}

// ReadMatrixFile reads a latency matrix from a file in either CSV form
// (the long form is recognised by its "from,to" header). Errors name the
// file.
func ReadMatrixFile(path string) (*Matrix, error) {
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
			class := m.ClassOf(m.CPUs[i], m.CPUs[j])
			if class == "" {
				class = "-"
			}
			fmt.Fprintf(tw, "%d-%d\t%s\t%.0f\t%.0f-%.0f\t%.0f-%.0f\t%d\n", m.CPUs[i], m.CPUs[j], class, median(s),
				percentile(s, 10), percentile(s, 90), s[0], s[len(s)-1], len(s))
		}
	}
	return tw.Flush()
}

// percentile interpolates the p'th percentile of sorted samples.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	pos := p / 100 * float64(len(sorted)-1)
	lo := int(pos)
	if lo >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (pos-float64(lo))*(sorted[lo+1]-sorted[lo])
}
