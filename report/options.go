package report

import (
	"github.com/pinbench/pinbench/matrix"
	"golang.org/x/perf/benchmath"
)

// Options says what the report shows and how: its inputs beside the
// benchmark results (matrix, outliers), its layout (title, machine lines,
// heat map name, table sections), and, apart, the statistical Thresholds
// of its recommendations and warnings. The zero value is usable.
type Options struct {
	// Title heads report.md (default "pinbench report: <machine>").
	Title string
	// Topology holds summary lines about the machine shown at the top of
	// the report; default: the configuration lines of the first file
	// (cpu, machine, topology, pairs, hypervisor, governor, ...).
	Topology []string
	// Matrix is the core-to-core latency matrix, nil when none was
	// measured. Its Class field drives the block outlines and the
	// topology warnings.
	Matrix *matrix.Matrix
	// HeatMap is the base name of the heat map images written next to
	// report.md (default "heatmap": heatmap.svg and heatmap.png).
	HeatMap string
	// Sections are the table slices to show; default DefaultSections.
	Sections []Section
	// Outliers are the explained outlier traces of the run (tune
	// --explain-outliers; see ExplainOutliers), listed in their own
	// section; nil when none were taken.
	Outliers []OutlierExplanation
	// Placement is a Markdown section written elsewhere (tune --threads:
	// the verified placement of N threads), shown as it is after the
	// summary and before the details; "" for none. It starts with its
	// own "## " heading.
	Placement string
	// Thresholds are the statistical thresholds; Alpha is also the
	// tables' significance level.
	Thresholds Thresholds
}

// Thresholds are the statistical thresholds of the recommendations and
// warnings. A zero (or negative) field takes the default documented on it.
type Thresholds struct {
	// Alpha is the significance level (default 0.05, benchstat's).
	Alpha float64
	// MinSamples is the fewest samples per result for a recommendation
	// and below which a warning fires (default 6).
	MinSamples int
	// WideCI is the confidence-interval half width, relative to the
	// median, above which a warning fires (default 0.10, i.e. ±10%).
	WideCI float64
	// LatencySlack is how much slower than poll a wait strategy or poll
	// window may be and still be chosen for saving CPU (default 1.5).
	LatencySlack float64
	// CPUGain is the CPU time per op, relative to poll, at or below which
	// a saving counts as clear (default 0.8).
	CPUGain float64
	// SMTLike is the fraction of its class median below which a pair
	// declared on separate cores is flagged as SMT-like (default 0.5).
	SMTLike float64
	// UnstableSpread is the (max-min)/median of a matrix cell's samples
	// above which it is flagged unstable (default 0.5).
	UnstableSpread float64
}

func (o Thresholds) alpha() float64          { return def(o.Alpha, benchmath.DefaultThresholds.CompareAlpha) }
func (o Thresholds) wideCI() float64         { return def(o.WideCI, 0.10) }
func (o Thresholds) latencySlack() float64   { return def(o.LatencySlack, 1.5) }
func (o Thresholds) cpuGain() float64        { return def(o.CPUGain, 0.8) }
func (o Thresholds) smtLike() float64        { return def(o.SMTLike, 0.5) }
func (o Thresholds) unstableSpread() float64 { return def(o.UnstableSpread, 0.5) }
func (o Thresholds) minSamples() int {
	if o.MinSamples <= 0 {
		return 6
	}
	return o.MinSamples
}

func def(v, d float64) float64 {
	if v <= 0 {
		return d
	}
	return v
}

// Section is one slice of the results shown as benchstat tables.
type Section struct {
	// Title heads the section.
	Title string
	// Note explains how to read the section.
	Note string
	// Tables are the benchstat flags of the slice.
	Tables TableOptions
}

// DefaultSections are the report's slices: by placement class, by
// mechanism, by wait strategy, the poll-window sweep, queue padding and
// allocations. Sections with no matching result are left out.
var DefaultSections = []Section{
	{"By placement class (/place)", "Each column is a placement class, compared with the first one.",
		TableOptions{Col: "/place", Filter: "/place:/./ -.unit:(B/op OR allocs/op)"}},
	{"By mechanism (/via)", "Handoff mechanisms side by side: the project's coroutine handoff (aio) and its queue traffic alone (queue) against channels between locked, pinned goroutines (chan) and unpinned ones (chanfree).",
		TableOptions{Col: "/via", Filter: ".name:Handoff -/pollmax:/./ -/rate:/./ -.unit:(B/op OR allocs/op)"}},
	{"By wait strategy (/wait)", "via=aio handoffs: busy-poll, kernel wait, and QEMU's adaptive window.",
		TableOptions{Col: "/wait", Filter: ".name:Handoff /via:aio -/pollmax:/./ -/rate:/./ -.unit:(B/op OR allocs/op)"}},
	{"Poll-window sweep (/pollmax)", "wait=adaptive across poll windows at each handoff rate; compare latency with cpu-ns/op.",
		TableOptions{Col: "/pollmax", Row: ".name /rate /place", Filter: ".name:Handoff /wait:adaptive /pollmax:/./ -.unit:(B/op OR allocs/op)"}},
	{"Queue padding (/pad)", "The project's MPSC queue with 64- and 128-byte padding.",
		TableOptions{Col: "/pad", Filter: ".name:Queue /impl:mpsc -.unit:(B/op OR allocs/op)"}},
	{"Allocations", "B/op and allocs/op per placement class; every via=aio and project benchmark should allocate nothing.",
		TableOptions{Col: "/place", Filter: ".unit:(B/op OR allocs/op)"}},
}
