package place

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"golang.org/x/perf/benchfmt"

	"github.com/pinbench/pinbench/affinity"
)

// Wait is how an event loop waits for work: the benchmarks' wait= key.
type Wait string

// The wait modes.
const (
	// WaitPoll busy-polls: lowest latency, one CPU spinning per thread.
	WaitPoll Wait = "poll"
	// WaitAdaptive polls for a window (QEMU's poll-max-ns), then sleeps.
	WaitAdaptive Wait = "adaptive"
	// WaitBlock sleeps in the kernel at once.
	WaitBlock Wait = "block"
)

// ParseWait returns the wait mode named s, or an error naming s and the
// modes there are.
func ParseWait(s string) (Wait, error) {
	switch w := Wait(s); w {
	case WaitPoll, WaitAdaptive, WaitBlock:
		return w, nil
	}
	return "", fmt.Errorf("place: unknown wait mode %q (want poll, adaptive or block)", s)
}

// BusyPolls reports whether a thread waiting this way spins on its CPU
// (poll, and adaptive within its window), so that two such threads on SMT
// siblings compete for one core.
func (w Wait) BusyPolls() bool { return w == WaitPoll || w == WaitAdaptive }

// Wait returns the wait mode the model costs.
func (m *Model) Wait() Wait { return m.wait }

// Results returns what the model was built from.
func (m *Model) Results() *Results { return m.results }

// Topology returns the machine the model costs.
func (m *Model) Topology() *affinity.Topology { return m.topo }

// Inputs returns the model's inputs, one row per class the machine has
// (samecpu first, whether measured or not) and unpinned last, in a new
// slice.
func (m *Model) Inputs() []ClassInput {
	return append([]ClassInput(nil), m.inputs...)
}

// ClassNs returns the figure pairs of class c are costed at before matrix
// scaling (measured or borrowed), and false when there is none.
func (m *Model) ClassNs(c affinity.Class) (float64, bool) {
	v, ok := m.figure[c]
	return v, ok
}

// Cost returns the modelled one-way handoff from CPU a to CPU b in ns:
// their class's figure times the matrix factor (see Model). It is NaN
// when either CPU is not in the topology or the class has no figure
// (samecpu unmeasured).
func (m *Model) Cost(a, b int) float64 {
	c := m.topo.Relation(a, b)
	fig, ok := m.figure[c]
	if c == "" || !ok {
		return math.NaN()
	}
	return fig * m.factor(c, a, b)
}

// factor is the matrix cell of (a, b) (else of (b, a)) over its class's
// median; 1 where the matrix measured neither direction.
func (m *Model) factor(c affinity.Class, a, b int) float64 {
	if m.mat == nil || c == affinity.SameCPU {
		return 1
	}
	v := m.mat.At(a, b)
	if math.IsNaN(v) {
		v = m.mat.At(b, a)
	}
	med := m.median[c]
	if math.IsNaN(v) || !(med > 0) {
		return 1
	}
	return v / med
}

// smtCheapest reports whether the run measured smt itself (not borrowed)
// cheaper than every other relation class the machine has.
func (m *Model) smtCheapest() bool {
	smt, ok := m.own(affinity.SMT)
	if !ok {
		return false
	}
	for _, in := range m.inputs {
		if in.Class == affinity.SMT || in.Class == affinity.SameCPU || in.Class == affinity.Unpinned {
			continue
		}
		if fig, ok := m.figure[in.Class]; ok && fig <= smt {
			return false
		}
	}
	return true
}

// own returns the measured figure of c, false when c is unmeasured.
func (m *Model) own(c affinity.Class) (float64, bool) {
	for _, in := range m.inputs {
		if in.Class == c && !math.IsNaN(in.HandoffNs) {
			return in.HandoffNs, true
		}
	}
	return 0, false
}

// WriteInputs writes the model's inputs as a table a reader can check
// against bench.txt and the matrix: per class, the measured handoff, its
// sample count, the figure used (and where a borrowed one comes from),
// the matrix median and the number of matrix cells.
func (m *Model) WriteInputs(w io.Writer) error {
	matrixNote := "no latency matrix: every pair costs its class's figure"
	if m.mat != nil {
		matrixNote = "each pair scaled by its matrix cell / its class's median (unmeasured pairs: 1)"
	}
	if _, err := fmt.Fprintf(w, "model: wait=%s, median via=aio handoff per class from %s; %s\n", m.wait, m.dir, matrixNote); err != nil {
		return err
	}
	return writeInputTable(w, m.inputs)
}

// writeInputTable writes the rows of a model's inputs as a table.
func writeInputTable(w io.Writer, rows []ClassInput) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "class\thandoff ns\tsamples\tcosted at ns\tmatrix median ns\tcells")
	for _, in := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%d\n", in.Class, fmtNs(in.HandoffNs), in.Samples, costedAt(in), fmtNs(in.MatrixMedianNs), in.Cells)
	}
	return tw.Flush()
}

// costedAt says what a class is costed at: the figure, "(from C)" when
// borrowed, or "-" with the reason.
func costedAt(in ClassInput) string {
	switch {
	case math.IsNaN(in.CostNs) && in.Class == affinity.SameCPU:
		return "- (no sharing)"
	case math.IsNaN(in.CostNs):
		return "- (unmeasured)"
	case in.From != "":
		return fmtNs(in.CostNs) + " (from " + string(in.From) + ")"
	}
	return fmtNs(in.CostNs)
}

// fmtNs formats a figure in ns: whole ns from 1000 up, one decimal from
// 100, two below; "-" for NaN.
func fmtNs(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case math.Abs(v) >= 1000:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// nameKey returns the value of key in a benchmark name's parts
// ("/place=llc" gives "llc"), "" when absent.
func nameKey(name benchfmt.Name, key string) string {
	_, parts := name.Parts()
	for _, p := range parts {
		if v, ok := strings.CutPrefix(string(p), "/"+key+"="); ok {
			return v
		}
	}
	return ""
}
