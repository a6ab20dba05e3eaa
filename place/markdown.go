package place

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/pinbench/pinbench/internal/benchtab"
)

// WriteMarkdown writes p as a section of a Markdown report (a tuning
// run's report.md): a heading naming the workload and wait mode, each
// thread's CPU, the plan and its baselines with their CPUs, predicted and
// (when p.Measured is filled) measured cost per round, the poll window,
// and, when v is not nil, the verification's verdicts: each baseline
// against the plan and the two orders.
func WriteMarkdown(w io.Writer, p *Plan, v *Verification) error {
	d := p.Document()
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "## Placement: %d threads (%s), wait=%s\n\n", len(d.Threads), d.Workload.Pattern, d.Wait)
	fmt.Fprintf(bw, "From %s; %s.\n\n", md(d.Results), md(d.Solver))
	fmt.Fprintln(bw, "| thread | cpus | node |\n| --- | --- | --- |")
	for _, t := range d.Threads {
		fmt.Fprintf(bw, "| %s | %s | %d |\n", md(t.Name), t.CPUs, t.Node)
	}
	fmt.Fprintln(bw, "\n| placement | cpus | predicted ns per round | measured ns per round |\n| --- | --- | --- | --- |")
	fmt.Fprintf(bw, "| plan | %s | %s | %s |\n", threadCPUs(d), fmtNs(float64(d.Predicted.TotalNs)), measuredNs(d, "plan"))
	for _, b := range d.Predicted.Baselines {
		cpus := strings.Join(b.CPUs, " ")
		if cpus == "" {
			cpus = "unpinned"
		}
		fmt.Fprintf(bw, "| %s | %s | %s | %s |\n", b.Name, cpus, fmtNs(float64(b.TotalNs)), measuredNs(d, b.Name))
	}
	fmt.Fprintf(bw, "\npoll-max-ns: %d (%s)\n", d.PollMaxNs, md(d.PollNote))
	if v != nil {
		fmt.Fprintf(bw, "\nVerified on this machine, %d interleaved rounds of %v per placement:\n\n", v.Rounds, v.RunTime)
		for _, c := range v.Comparisons {
			fmt.Fprintf(bw, "- %s\n", md(c.Sentence()))
		}
		fmt.Fprintf(bw, "- %s\n", md(v.orderSentence()))
	}
	return bw.Flush()
}

// measuredNs is the measured cost per round of placement, "-" when none.
func measuredNs(d *Document, placement string) string {
	for _, m := range d.Measured {
		if m.Placement == placement {
			return fmtNs(float64(m.NsPerRound))
		}
	}
	return "-"
}

// md escapes s for Markdown text.
func md(s string) string { return benchtab.EscapeMarkdown(s) }
