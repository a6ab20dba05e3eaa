package report

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/quantile"
	"github.com/pinbench/pinbench/matrix"
)

// FloorCost is what a handoff costs at one placement class, against the
// physical floor measured there in the same run: the answer to "what does
// it cost to hand work from one core to another", in the machine's own
// unit (one one-way cache-line transfer).
type FloorCost struct {
	// Place is the placement class.
	Place affinity.Class
	// FloorNs is the median BenchmarkFloor time, ns per one-way transfer.
	FloorNs float64
	// FloorTwoRegimes says the floor's samples fall into two regimes
	// (the report's two-regime warning).
	FloorTwoRegimes bool
	// Handoffs holds the median time and its ratio to FloorNs of each
	// back-to-back busy-poll handoff mechanism that ran at Place, in
	// costOrder.
	Handoffs []HandoffCost
	// Pair is the CPU pair the benchmarks ran on at Place ("0,1", from the
	// pair-<place> configuration line); "" when unknown.
	Pair string
	// MatrixNs is the latency matrix's cell for Pair (the lower of its two
	// directions), NaN when there is no matrix or no such cell.
	MatrixNs float64
}

// heatMapSlack is how far (as a fraction of the lower) the floor and the
// heat map's cell for the same pair may differ and still be said to agree.
const heatMapSlack = 0.25

// MatrixDiffers reports whether the heat map's cell for the pair and the
// floor disagree beyond heatMapSlack.
func (c FloorCost) MatrixDiffers() bool {
	if math.IsNaN(c.MatrixNs) || c.MatrixNs <= 0 {
		return false
	}
	return math.Abs(c.MatrixNs-c.FloorNs) > heatMapSlack*math.Min(c.MatrixNs, c.FloorNs)
}

// matchHeatMap fills each cost's Pair and MatrixNs from the run's
// pair-<place> lines and the matrix m.
func matchHeatMap(costs []FloorCost, run *Run, m *matrix.Matrix) []FloorCost {
	pairs := map[affinity.Class]string{}
	if len(run.Envs) > 0 {
		for _, p := range run.Envs[0].Pairs() {
			pairs[p.Class] = p.CPUs
		}
	}
	for i := range costs {
		c := &costs[i]
		c.MatrixNs = math.NaN()
		c.Pair = pairs[c.Place]
		a, b, ok := parsePair(c.Pair)
		if !ok {
			continue
		}
		c.MatrixNs = pairLatency(m, m.Index(a), m.Index(b))
	}
	return costs
}

// HandoffCost is one mechanism's median handoff time at a placement class.
type HandoffCost struct {
	// Via is the mechanism (the benchmark's via= part).
	Via string
	// Ns is the median time per one-way handoff.
	Ns float64
	// Ratio is Ns / FloorNs.
	Ratio float64
	// TwoRegimes says its samples fall into two regimes (the report's
	// two-regime warning).
	TwoRegimes bool
}

// costOrder lists the mechanisms a FloorCost shows, cheapest layer first:
// the queue traffic alone, then the whole coroutine handoff (both
// busy-polling, so that no sleep is in the figure).
var costOrder = []string{"queue", "aio"}

// FloorCosts returns, for every placement class at which both the floor and
// a busy-poll handoff (via=queue or via=aio, wait=poll, back to back) ran,
// the handoffs' medians as multiples of the floor's median. Medians of one
// run: the tables show their spread.
func FloorCosts(run *Run) []FloorCost {
	places, floors := groups[affinity.Class](run, floorAt, "/place", "sec/op")
	busy := make([]map[affinity.Class]*point, len(costOrder)) // by placement, of each mechanism
	for i, via := range costOrder {
		_, busy[i] = groups[affinity.Class](run, filter(handoff, pinCPU, is("/via", via), is("/wait", "poll"), backToBack), "/place", "sec/op")
	}
	var out []FloorCost
	for _, place := range places {
		floor := quantile.Median(floors[place].vals)
		if floor <= 0 {
			continue
		}
		_, two := twoRegimes(floors[place].vals)
		fc := FloorCost{Place: place, FloorNs: floor * 1e9, FloorTwoRegimes: two, MatrixNs: math.NaN()}
		for i, via := range costOrder {
			if p := busy[i][place]; p != nil {
				m := quantile.Median(p.vals)
				_, two := twoRegimes(p.vals)
				fc.Handoffs = append(fc.Handoffs, HandoffCost{Via: via, Ns: m * 1e9, Ratio: m / floor, TwoRegimes: two})
			}
		}
		if len(fc.Handoffs) > 0 {
			out = append(out, fc)
		}
	}
	return out
}

// Sentence says the cost in one line: "place=llc: floor 34.2 ns;
// via=queue 124 ns (3.6x), via=aio 182 ns (5.3x)".
func (c FloorCost) Sentence() string {
	s := fmt.Sprintf("place=%s: floor %s", c.Place, c.floorText())
	if c.MatrixDiffers() {
		s += fmt.Sprintf(" (the heat map shows %s for CPUs %s: measured at another time of the run)", fmtNs(c.MatrixNs), c.Pair)
	}
	for i, h := range c.Handoffs {
		sep := ", "
		if i == 0 {
			sep = "; "
		}
		s += fmt.Sprintf("%svia=%s %s (%.1fx%s)", sep, h.Via, fmtNs(h.Ns), h.Ratio, regimeMark(h.TwoRegimes))
	}
	return s
}

// writeCostMarkdown writes the cost section's table: per placement class,
// the floor, each handoff with its multiple of the floor, and what the
// event loop and coroutine switch add to the queue traffic.
func writeCostMarkdown(b *bytes.Buffer, costs []FloorCost) {
	b.WriteString("## Handoff cost against the floor\n\n")
	b.WriteString("Medians of this run, back-to-back busy-poll handoffs, as multiples of the floor (one one-way cache-line transfer between the same two CPUs). via=queue is the queue traffic alone; via=aio adds the event loop and the coroutine switch.\n\n")
	b.WriteString("| place | floor | heat map cell | via=queue | via=aio/wait=poll | aio - queue |\n| --- | --- | --- | --- | --- | --- |\n")
	var differ []string
	for _, c := range costs {
		cell := func(via string) string {
			if h, ok := c.handoff(via); ok {
				return fmt.Sprintf("%s (%.1fx%s)", fmtNs(h.Ns), h.Ratio, regimeMark(h.TwoRegimes))
			}
			return "-"
		}
		diff := "-"
		q, okq := c.handoff("queue")
		a, oka := c.handoff("aio")
		if okq && oka {
			diff = fmtNs(a.Ns - q.Ns)
		}
		heat := "-"
		if !math.IsNaN(c.MatrixNs) {
			heat = fmt.Sprintf("%s (CPUs %s)", fmtNs(c.MatrixNs), c.Pair)
			if c.MatrixDiffers() {
				heat += " *"
				differ = append(differ, fmt.Sprintf("place=%s (floor %s, heat map %s)", c.Place, fmtNs(c.FloorNs), fmtNs(c.MatrixNs)))
			}
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", c.Place, c.floorText(), heat, cell("queue"), cell("aio"), diff)
	}
	b.WriteString("\n")
	if len(differ) > 0 {
		fmt.Fprintf(b, "\\* The floor and the heat map's cell are the same ping-pong between the same two CPUs, but they differ by more than %.0f%% at %s. They were measured at different times of the run (the matrix once before the benchmarks, the floor in each benchmark round) and with other lengths (the matrix's repetitions against the benchmark's timed loop), so the difference is drift of the machine between those times: read the ratios against the floor, which was measured beside the handoffs.\n\n",
			heatMapSlack*100, strings.Join(differ, ", "))
	} else if len(costs) > 0 && !math.IsNaN(costs[0].MatrixNs) {
		fmt.Fprintf(b, "The floor and the heat map's cell for the same pair agree within %.0f%%.\n\n", heatMapSlack*100)
	}
}

// floorText is the floor's median, and "(two regimes)" when its samples
// are.
func (c FloorCost) floorText() string {
	if c.FloorTwoRegimes {
		return fmtNs(c.FloorNs) + " (two regimes)"
	}
	return fmtNs(c.FloorNs)
}

// handoff returns the cost of via, if measured.
func (c FloorCost) handoff(via string) (HandoffCost, bool) {
	i := slices.IndexFunc(c.Handoffs, func(h HandoffCost) bool { return h.Via == via })
	if i < 0 {
		return HandoffCost{}, false
	}
	return c.Handoffs[i], true
}
