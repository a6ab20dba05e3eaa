package report

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/pinbench/pinbench/internal/benchtab"
)

// The fleet report's files in its folder: FleetMarkdown, and the heat
// maps picture as FleetHeatMaps + ".svg" and ".png".
const (
	FleetMarkdown = "fleet.md"
	FleetHeatMaps = "heatmaps"
)

// WriteMarkdown writes fleet.md: the table of handoffs and floors, the
// heat maps picture's link, each machine's recommendations and warnings,
// then the warnings about the comparison itself.
func (f *Fleet) WriteMarkdown(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# pinbench fleet report: %d machines\n\n", len(f.Machines))
	names := make([]string, len(f.Machines))
	for i, fm := range f.Machines {
		names[i] = mdEscape(benchtab.Printable(fm.Name))
	}
	fmt.Fprintf(&b, "Built from %s.\n\n", strings.Join(names, ", "))
	f.writeTable(&b)
	f.writeHeatMapLink(&b)
	b.WriteString("## Recommendations\n\n")
	for _, fm := range f.Machines {
		fm.writeRecommendations(&b)
	}
	b.WriteString("## Warnings about the comparison\n\n")
	if len(f.Warnings) == 0 {
		b.WriteString("None: the runs used the same settings.\n")
	}
	for _, w := range f.Warnings {
		fmt.Fprintf(&b, "- %s\n", mdEscape(w))
	}
	_, err := w.Write(b.Bytes())
	return err
}

// writeTable writes the table: a row per machine, a column per placement
// class, each cell the handoff at the machine's wait strategy and the
// floor.
func (f *Fleet) writeTable(b *bytes.Buffer) {
	b.WriteString("## Handoff and floor by placement class\n\n")
	b.WriteString("Medians of each run, per placement class: the coroutine handoff (BenchmarkHandoff/via=aio, pinned per CPU, back to back) at the machine's recommended wait strategy, then the floor (BenchmarkFloor: one one-way cache-line transfer between the same two CPUs). Where a machine's wait recommendation is withheld, its handoff is read at wait=poll, the rule's reference. - where not measured: a machine runs only the classes it has.\n\n")
	b.WriteString("| machine | run | wait")
	for _, c := range f.Classes {
		fmt.Fprintf(b, " | %s", c)
	}
	b.WriteString(" |\n| ---" + strings.Repeat(" | ---", 2+len(f.Classes)) + " |\n")
	for _, fm := range f.Machines {
		wait := fm.Wait
		if !fm.WaitRecommended {
			wait += " (no recommendation)"
		}
		fmt.Fprintf(b, "| %s | %s | %s", mdEscape(orDash(benchtab.Printable(fm.Machine))), mdEscape(benchtab.Printable(fm.Name)), wait)
		for _, c := range f.Classes {
			cell, ok := fm.Cells[c]
			if !ok {
				b.WriteString(" | -")
				continue
			}
			fmt.Fprintf(b, " | %s / %s", nsOrDash(cell.HandoffNs), nsOrDash(cell.FloorNs))
		}
		b.WriteString(" |\n")
	}
	b.WriteString("\nEach cell: handoff / floor.\n\n")
}

// writeHeatMapLink writes the heat maps section: the picture, and the
// machines it leaves out for want of a latency matrix.
func (f *Fleet) writeHeatMapLink(b *bytes.Buffer) {
	b.WriteString("## Core-to-core latency\n\n")
	var without []string
	for _, fm := range f.Machines {
		if fm.Matrix == nil {
			without = append(without, mdEscape(benchtab.Printable(fm.Name)))
		}
	}
	if len(without) == len(f.Machines) {
		b.WriteString("No run has a latency matrix: there is no heat map to show.\n\n")
		return
	}
	fmt.Fprintf(b, "![every machine's core-to-core latency heat map](%s.png)\n\n", FleetHeatMaps)
	fmt.Fprintf(b, "Every machine's heat map side by side, each at its own CPU count and under its name, on one colour scale: one colour is one latency in every map. Vector version: [%s.svg](%s.svg).\n\n", FleetHeatMaps, FleetHeatMaps)
	if len(without) > 0 {
		fmt.Fprintf(b, "Not in the picture, for want of a latency matrix: %s.\n\n", strings.Join(without, ", "))
	}
}

// writeRecommendations writes one machine's recommendations (in bold,
// or in italics when withheld, as report.md shows them) and its
// warnings' titles.
func (fm FleetMachine) writeRecommendations(b *bytes.Buffer) {
	title := mdEscape(benchtab.Printable(fm.Name))
	if fm.Machine != "" {
		title = mdEscape(benchtab.Printable(fm.Machine)) + " (" + title + ")"
	}
	fmt.Fprintf(b, "### %s\n\n", title)
	for _, rec := range fm.Recommendations {
		mark := "**"
		if rec.Withheld {
			mark = "*"
		}
		fmt.Fprintf(b, "- %s%s%s\n", mark, mdEscape(rec.Summary), mark)
	}
	if len(fm.Warnings) > 0 {
		titles := make([]string, len(fm.Warnings))
		for i, w := range fm.Warnings {
			titles[i] = mdEscape(w.Title)
		}
		fmt.Fprintf(b, "- warnings: %s\n", strings.Join(titles, "; "))
	}
	b.WriteString("\n")
}

// nsOrDash formats ns as the report does, "-" for NaN.
func nsOrDash(ns float64) string {
	if math.IsNaN(ns) {
		return "-"
	}
	return fmtNs(ns)
}

// orDash is s, "-" when empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
