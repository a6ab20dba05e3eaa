package place

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pinbench/pinbench/internal/benchtab"
)

// DocumentFile is the file a tuning run keeps its verified placement in
// (tune --threads): the plan's Document, schema "pinbench.place/v1".
// A report rebuilt from the folder shows it again (WriteDocumentMarkdown).
const DocumentFile = "placement.json"

// WriteMarkdown writes p as a section of a Markdown report (a tuning
// run's report.md): a heading naming the workload and wait mode, each
// thread's CPU, the plan and its baselines with their CPUs, predicted and
// (when p.Measured is filled) measured cost per round, the poll window,
// and, when p was verified (p.Verified, which Verify fills) or v is not
// nil, the verification's verdicts: in one line, then each baseline
// against the plan and the two orders. It is WriteDocumentMarkdown of
// p's Document.
func WriteMarkdown(w io.Writer, p *Plan, v *Verification) error {
	d := p.Document()
	if v != nil {
		pv := v.verified()
		d.Verified = &DocVerified{Rounds: pv.Rounds, RunTime: pv.RunTime.String(), Verdict: pv.Verdict, Sentences: pv.Sentences}
	}
	return WriteDocumentMarkdown(w, d)
}

// WriteDocumentMarkdown writes d as a section of a Markdown report, as
// WriteMarkdown does for a plan: a saved plan (DocumentFile) gives the
// section it was written with.
func WriteDocumentMarkdown(w io.Writer, d *Document) error {
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
	switch v := d.Verified; {
	case v == nil:
	case v.Error != "":
		fmt.Fprintf(bw, "\nNot verified: %s\n", md(v.Error))
	default:
		fmt.Fprintf(bw, "\nVerified on this machine, %d interleaved rounds of %s per placement: **%s**.\n\n", v.Rounds, v.RunTime, md(v.Verdict))
		for _, s := range v.Sentences {
			fmt.Fprintf(bw, "- %s\n", md(s))
		}
	}
	return bw.Flush()
}

// ReadDocumentFile reads a plan saved as JSON (Decode); errors name the
// file.
func ReadDocumentFile(path string) (*Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
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
