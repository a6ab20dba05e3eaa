package place

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/pinbench/pinbench/affinity"
)

// emitText writes the plan for a reader: the headline, each thread's
// CPU, each edge's predicted cost, the baselines against the plan, the
// poll window, the solver and the model's inputs (so the figures can be
// checked against bench.txt and the matrix), then any measured costs.
func emitText(w io.Writer, d *Document) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, d.headline())
	fmt.Fprintf(bw, "solver: %s\nusable CPUs: %s\n\n", d.Solver, d.Usable)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "thread\tcpus\tnode")
	for _, t := range d.Threads {
		fmt.Fprintf(tw, "%s\t%s\t%d\n", t.Name, t.CPUs, t.Node)
	}
	tw.Flush()
	fmt.Fprintln(bw)
	writeEdges(bw, d)
	fmt.Fprintln(bw)
	writeBaselines(bw, d)
	fmt.Fprintf(bw, "\npoll-max-ns: %d (%s)\n\n", d.PollMaxNs, d.PollNote)
	writeModel(bw, d)
	writeMeasured(bw, d)
	return bw.Flush()
}

// writeEdges writes the predicted cost of each edge and the total.
func writeEdges(w io.Writer, d *Document) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "edge\tweight\tns per handoff\tns per round")
	for _, e := range d.Predicted.Edges {
		arrow := " -> "
		if e.Undirected {
			arrow = " <-> "
		}
		fmt.Fprintf(tw, "%s%s%s\t%g\t%s\t%s\n", e.From, arrow, e.To, e.Weight, fmtNs(float64(e.Ns)), fmtNs(float64(e.TotalNs)))
	}
	fmt.Fprintf(tw, "total\t\t\t%s\n", fmtNs(float64(d.Predicted.TotalNs)))
	tw.Flush()
}

// writeBaselines writes each baseline's predicted cost against the plan's.
func writeBaselines(w io.Writer, d *Document) {
	plan := float64(d.Predicted.TotalNs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "placement\tns per round\tvs plan\tcpus\tnote")
	fmt.Fprintf(tw, "plan\t%s\t1.00x\t%s\t%s\n", fmtNs(plan), threadCPUs(d), "")
	for _, b := range d.Predicted.Baselines {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", b.Name, fmtNs(float64(b.TotalNs)), ratio(float64(b.TotalNs), plan), strings.Join(b.CPUs, " "), b.Note)
	}
	tw.Flush()
}

// threadCPUs lists the threads' CPU lists, space separated.
func threadCPUs(d *Document) string {
	parts := make([]string, len(d.Threads))
	for i, t := range d.Threads {
		parts[i] = t.CPUs
	}
	return strings.Join(parts, " ")
}

// writeModel writes the model's inputs.
func writeModel(w io.Writer, d *Document) {
	fmt.Fprintf(w, "model inputs (wait=%s; pair cost = class figure x matrix cell / class median):\n", d.Wait)
	rows := make([]ClassInput, len(d.Model))
	for i, c := range d.Model {
		rows[i] = ClassInput{Class: affinity.Class(c.Class), HandoffNs: float64(c.HandoffNs), Samples: c.Samples, CostNs: float64(c.CostNs),
			From: affinity.Class(c.From), MatrixMedianNs: float64(c.MatrixMedianNs), Cells: c.Cells}
	}
	writeInputTable(w, rows)
}

// writeMeasured writes the measured costs, when there are any.
func writeMeasured(w io.Writer, d *Document) {
	if len(d.Measured) == 0 {
		return
	}
	fmt.Fprintln(w, "\nmeasured:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "placement\tns per round\tnote")
	for _, m := range d.Measured {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", m.Placement, fmtNs(float64(m.NsPerRound)), m.Note)
	}
	tw.Flush()
}

// ratio formats a/b as "1.23x", "-" when either is not a positive finite
// number.
func ratio(a, b float64) string {
	if !(a > 0) || !(b > 0) || math.IsInf(a, 0) || math.IsInf(b, 0) {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}
