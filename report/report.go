package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"strings"

	"github.com/pinbench/pinbench/internal/atomicfile"
	"github.com/pinbench/pinbench/internal/benchtab"
	"github.com/pinbench/pinbench/matrix"
)

// Report is an assembled report: everything report.md shows.
type Report struct {
	// Title heads the report.
	Title string
	// Files lists the raw files the report was built from.
	Files []string
	// Topology holds the machine summary lines.
	Topology []string
	// Sections holds each non-empty slice with its tables.
	Sections []SectionTables
	// Costs holds the handoffs' cost against the floor, per placement
	// class.
	Costs []FloorCost
	// Recommendations holds the advice, withheld or not.
	Recommendations []Recommendation
	// Warnings holds the measurement-condition warnings.
	Warnings []Warning
	// Matrix is the latency matrix, nil when none.
	Matrix *matrix.Matrix
	// HeatMap is the base name of the heat map images ("" when no
	// matrix).
	HeatMap string
	// Outliers are the explained outlier traces (Options.Outliers).
	Outliers []OutlierExplanation
	// Placement is a section shown after the summary (Options.Placement).
	Placement string

	hideKeys bool
}

// SectionTables is a Section with its computed tables.
type SectionTables struct {
	Section
	// Tables holds the tables of the slice.
	Tables *Tables
}

// envKeys are the configuration lines shown as the topology by default.
var envKeys = []string{"machine", "cpu", "topology", "hypervisor", "governor", "smt", "cacheline", "gomaxprocs", "allowed", "online", "goos", "goarch", "tune-mode", "benchtime", "count"}

// Build computes the tables, recommendations and warnings of run. It does
// no I/O; a bad section projection is an error.
func Build(run *Run, opts Options) (*Report, error) {
	if run == nil || len(run.Results) == 0 {
		return nil, errors.New("no benchmark results")
	}
	r := &Report{Title: opts.Title, Files: run.Files, Topology: opts.Topology, Matrix: opts.Matrix, Outliers: opts.Outliers, Placement: opts.Placement}
	if r.Title == "" {
		r.Title = "pinbench report"
		if m := run.Config("machine"); m != "" {
			r.Title += ": " + m
		}
	}
	if r.Topology == nil && len(run.Envs) > 0 {
		e := run.Envs[0]
		for _, k := range envKeys {
			if v, ok := e.Values[k]; ok {
				r.Topology = append(r.Topology, k+": "+v)
			}
		}
		for _, p := range e.Pairs() {
			r.Topology = append(r.Topology, "pair-"+string(p.Class)+": "+p.CPUs)
		}
	}
	if opts.Matrix != nil {
		r.HeatMap = opts.HeatMap
		if r.HeatMap == "" {
			r.HeatMap = "heatmap"
		}
	}
	sections := opts.Sections
	if sections == nil {
		sections = DefaultSections
	}
	for _, s := range sections {
		s.Tables.Alpha = opts.Thresholds.alpha() // its default for zero or below, as the rules take it
		ts, err := run.Tables(s.Tables)
		if err != nil {
			return nil, fmt.Errorf("section %q: %w", s.Title, err)
		}
		if len(ts.Tables) == 0 {
			continue
		}
		r.Sections = append(r.Sections, SectionTables{s, ts})
	}
	r.Costs = FloorCosts(run)
	if opts.Matrix != nil {
		r.Costs = matchHeatMap(r.Costs, run, opts.Matrix)
	}
	r.Recommendations = Recommend(run, opts.Thresholds)
	r.Warnings = Warnings(run, opts.Matrix, opts.Thresholds)
	// Hide the table-key lines when every file has the same configuration:
	// the topology section shows it once.
	r.hideKeys = true
	for _, e := range run.Envs[1:] {
		if !maps.Equal(e.Values, run.Envs[0].Values) {
			r.hideKeys = false
		}
	}
	return r, nil
}

// WriteMarkdown writes report.md's content: title, the summary (what tune
// prints: the answer), the placement section when there is one
// (Options.Placement), then the details: topology, heat map link, the
// handoff cost against the floor, recommendations with their evidence,
// warnings, then the benchstat tables of each section.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\n", r.Title)
	if len(r.Files) > 0 {
		files := make([]string, len(r.Files))
		for i, f := range r.Files {
			files[i] = benchtab.Printable(f)
		}
		fmt.Fprintf(&b, "Built from %s.\n\n", "`"+strings.Join(files, "`, `")+"`")
	}
	// The answer first, as tune prints it; the details follow.
	b.WriteString("## Summary\n\n")
	for _, l := range r.SummaryLines() {
		fmt.Fprintf(&b, "- %s\n", mdEscape(l))
	}
	b.WriteString("\nThe sections below give the evidence: the machine, the latency matrix, the cost against the floor, each recommendation with its figures and p-values, the warnings in full, and benchstat's tables.\n\n")
	if r.Placement != "" {
		b.WriteString(strings.TrimRight(r.Placement, "\n") + "\n\n")
	}
	if len(r.Topology) > 0 {
		b.WriteString("## Machine\n\n")
		for _, l := range r.Topology {
			fmt.Fprintf(&b, "- %s\n", mdEscape(l))
		}
		b.WriteString("\n")
	}
	if r.Matrix != nil {
		b.WriteString("## Core-to-core latency\n\n")
		fmt.Fprintf(&b, "![core-to-core latency heat map](%s.png)\n\n", r.HeatMap)
		fmt.Fprintf(&b, "One-way latency between each pair of CPUs (median of the samples, ns), CPUs in topology order; lines outline placement-class blocks. Vector version: [%s.svg](%s.svg).\n\n", r.HeatMap, r.HeatMap)
	}
	if len(r.Costs) > 0 {
		writeCostMarkdown(&b, r.Costs)
	}
	b.WriteString("## Recommendations\n\n")
	for _, rec := range r.Recommendations {
		mark := "**"
		if rec.Withheld {
			mark = "*"
		}
		fmt.Fprintf(&b, "- %s%s%s\n", mark, mdEscape(rec.Summary), mark)
		for _, e := range rec.Evidence {
			fmt.Fprintf(&b, "  - %s\n", mdEscape(e))
		}
	}
	b.WriteString("\nA difference is called significant when the Mann-Whitney U test gives p <= 0.05 (benchstat's test); otherwise no recommendation is made.\n\n")
	b.WriteString("## Warnings\n\n")
	if len(r.Warnings) == 0 {
		b.WriteString("None.\n\n")
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "- **%s**: %s\n", mdEscape(w.Title), mdEscape(w.Message))
	}
	if len(r.Warnings) > 0 {
		b.WriteString("\n")
	}
	writeOutliersMarkdown(&b, r.Outliers)
	for _, s := range r.Sections {
		fmt.Fprintf(&b, "## %s\n\n%s Same as `go tool benchstat %s FILES`.\n\n", s.Title, s.Note, shellArgs(s.Tables.Options.Args()))
		if err := s.Tables.WriteMarkdown(&b, RenderOptions{HideKeys: r.hideKeys}); err != nil {
			return err
		}
		b.WriteString("\n")
	}
	_, err := w.Write(b.Bytes())
	return err
}

func shellArgs(args []string) string {
	var out []string
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " *()|:'\"$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out = append(out, a)
	}
	return strings.Join(out, " ")
}

// SummaryLines are the answer, one line each: the handoff cost against
// the floor per placement class, the recommendations (placement, wait
// strategy, poll window, pinning, padding), the warnings and the
// explained outliers. tune prints them, and report.md opens with them.
func (r *Report) SummaryLines() []string {
	var out []string
	for _, c := range r.Costs {
		out = append(out, "Cost at "+c.Sentence())
	}
	for _, rec := range r.Recommendations {
		out = append(out, rec.Summary)
	}
	for _, w := range r.Warnings {
		out = append(out, "warning: "+w.Title)
	}
	for _, o := range r.Outliers {
		out = append(out, "outlier: "+o.Summary())
	}
	return out
}

// Summary returns the title and SummaryLines for stdout.
func (r *Report) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", r.Title)
	for _, l := range r.SummaryLines() {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	return b.String()
}

// WriteReport builds the report of run and writes it into dir: report.md
// and, when opts.Matrix is set, the heat map as <HeatMap>.svg and .png. The
// directory must exist. Every file is written to a temporary file first and
// renamed into place only when all were written, report.md last, so a
// failure never leaves a partial report that looks complete. It returns the
// stdout summary, ending with the report's path.
func WriteReport(dir string, run *Run, opts Options) (string, error) {
	r, err := Build(run, opts)
	if err != nil {
		return "", err
	}
	var files []atomicfile.Named
	if r.Matrix != nil {
		var svg, png bytes.Buffer
		if err := r.Matrix.WriteSVG(&svg); err != nil {
			return "", err
		}
		if err := r.Matrix.WritePNG(&png); err != nil {
			return "", err
		}
		files = append(files, atomicfile.Named{Name: r.HeatMap + ".svg", Data: svg.Bytes()}, atomicfile.Named{Name: r.HeatMap + ".png", Data: png.Bytes()})
	}
	var md bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		return "", err
	}
	files = append(files, atomicfile.Named{Name: "report.md", Data: md.Bytes()})
	if err := atomicfile.WriteAll(dir, files); err != nil {
		return "", err
	}
	return r.Summary() + "  report: " + filepath.Join(dir, "report.md") + "\n", nil
}

// CompareOptions returns the benchstat flags Compare uses: one table per
// placement class and unit, rows by full name without the GOMAXPROCS
// suffix (machines differ in it), columns by run.
func CompareOptions() TableOptions {
	return TableOptions{Table: "/place", Row: ".fullname", Col: ".file", Ignore: ".config /gomaxprocs"}
}

// Compare puts runs (machines, or runs of one machine) side by side like
// `benchstat -table /place -col .file -ignore '.config /gomaxprocs' A B
// ...`: one table per placement class and unit, a column per run, each
// compared with the first. Columns are labelled by the runs' Name, made
// distinct with "A: ", "B: "... when two are equal.
func Compare(runs ...*Run) (*Tables, error) {
	if len(runs) < 2 {
		return nil, errors.New("compare needs at least two runs")
	}
	seen := map[string]bool{}
	dup := false
	for _, r := range runs {
		if r == nil {
			return nil, errors.New("compare: a run is missing")
		}
		dup = dup || seen[r.Name]
		seen[r.Name] = true
	}
	labelled := make([]*Run, len(runs))
	for i, r := range runs {
		label := r.Name
		if dup {
			label = runLabel(i) + ": " + label
		}
		labelled[i] = r.Relabel(label)
	}
	return Merge(labelled...).Tables(CompareOptions())
}

// runLabel names the i'th run of a comparison: A, B, ..., Z, AA, AB...
func runLabel(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}

// SettingKeys are the configuration lines of a tuning run's bench.txt that
// say how it measured (see pinbench tune): runs that differ in them are
// not measured alike.
var SettingKeys = []string{"tune-mode", "benchtime", "count"}

// CompareWarnings says where runs used different settings (tune-mode
// quick or full, benchtime, count), or could not say which they used: a
// comparison across them mixes how carefully each was measured. Runs are
// named as their columns are (Name; A, B... when empty).
func CompareWarnings(runs ...*Run) []string {
	srcs := make([]settingSource, len(runs))
	for i, r := range runs {
		name := r.Name
		if name == "" {
			name = runLabel(i)
		}
		srcs[i] = settingSource{benchtab.Printable(name), r.Envs}
	}
	var out []string
	for _, d := range differentSettings(srcs) {
		out = append(out, "the runs used different "+d+": the comparison mixes runs measured differently")
	}
	return out
}

// settingSource is what differentSettings compares: a run (compare) or a
// file (a report's), by name, with its configuration lines.
type settingSource struct {
	name string
	envs []Env
}

// differentSettings returns, for each of SettingKeys in which srcs differ
// (a source that does not record it differs from one that does), the key
// with each source's value: "count (a: 6, b: 10)". A source's value is
// that of its first file that records the key.
func differentSettings(srcs []settingSource) []string {
	var out []string
	for _, key := range SettingKeys {
		var parts []string
		values := map[string]bool{}
		for _, s := range srcs {
			v := ""
			for _, e := range s.envs {
				if v = e.Get(key); v != "" {
					break
				}
			}
			values[v] = true
			if v == "" {
				v = "not recorded"
			}
			parts = append(parts, fmt.Sprintf("%s: %s", s.name, v))
		}
		if len(values) > 1 {
			out = append(out, fmt.Sprintf("%s (%s)", key, strings.Join(parts, ", ")))
		}
	}
	return out
}
