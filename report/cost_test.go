package report

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/matrix"
)

// TestFloorCosts: handoffs as multiples of the floor at the same class,
// busy-poll and back to back only, and only where the floor ran.
func TestFloorCosts(t *testing.T) {
	var b strings.Builder
	for i := range 7 {
		j := float64(i - 3) // medians: 30, 120, 180, 100, 600
		fmt.Fprintf(&b, "BenchmarkFloor/place=llc-2 1000 %.0f ns/op\n", 30+j)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=queue/wait=poll/place=llc-2 1000 %.0f ns/op\n", 120+j)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=poll/place=llc-2 1000 %.0f ns/op\n", 180+j)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=poll/rate=sparse/place=llc-2 1000 %.0f ns/op\n", 50000+j)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=block/place=llc-2 1000 %.0f ns/op\n", 7000+j)
		fmt.Fprintf(&b, "BenchmarkFloor/place=remote-2 1000 %.0f ns/op\n", 100+j)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=poll/place=remote-2 1000 %.0f ns/op\n", 600+j)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=poll/place=smt-2 1000 %.0f ns/op\n", 90+j) // no floor there
	}
	run := readText(t, "cost.txt", b.String())
	costs := FloorCosts(run)
	if len(costs) != 2 || costs[0].Place != "llc" || costs[1].Place != "remote" {
		t.Fatalf("costs %+v: want llc and remote", costs)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	llc := costs[0]
	if !near(llc.FloorNs, 30) || len(llc.Handoffs) != 2 ||
		llc.Handoffs[0].Via != "queue" || !near(llc.Handoffs[0].Ratio, 4) ||
		llc.Handoffs[1].Via != "aio" || !near(llc.Handoffs[1].Ns, 180) || !near(llc.Handoffs[1].Ratio, 6) {
		t.Errorf("llc cost %+v: want floor 30, queue 4x, aio 180 ns 6x", llc)
	}
	if got, want := llc.Sentence(), "place=llc: floor 30 ns; via=queue 120 ns (4.0x), via=aio 180 ns (6.0x)"; got != want {
		t.Errorf("Sentence() = %q, want %q", got, want)
	}
	if r := costs[1]; len(r.Handoffs) != 1 || r.Handoffs[0].Via != "aio" || !near(r.Handoffs[0].Ratio, 6) {
		t.Errorf("remote cost %+v: want aio only, 6x", r)
	}
	var md bytes.Buffer
	writeCostMarkdown(&md, costs)
	for _, want := range []string{"| llc | 30 ns | - | 120 ns (4.0x) | 180 ns (6.0x) | 60 ns |", "| remote | 100 ns | - | - | 600 ns (6.0x) | - |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("cost table lacks %q:\n%s", want, md.String())
		}
	}
}

// Without a floor, or without a busy-poll handoff, there is no cost line.
func TestFloorCostsNeedBoth(t *testing.T) {
	run := readText(t, "x.txt", "BenchmarkFloor/place=llc-2 1000 30 ns/op\nBenchmarkHandoff/via=aio/wait=block/place=llc-2 1000 7000 ns/op\n")
	if c := FloorCosts(run); len(c) != 0 {
		t.Errorf("costs %+v from a floor and a blocking handoff only", c)
	}
}

// The floor and the heat map's cell for the same pair agree, or the cost
// section and the summary line say why they differ; report.md opens with
// the summary tune prints.
func TestFloorAgainstHeatMap(t *testing.T) {
	raw := "machine: m\npair-llc: 0,1\n"
	for i := range 6 {
		raw += fmt.Sprintf("BenchmarkFloor/place=llc-2 1000 %d ns/op\nBenchmarkHandoff/via=aio/wait=poll/pin=cpu/place=llc-2 1000 %d ns/op\n", 35+i%2, 200+i)
	}
	run := readText(t, "heat.txt", raw)
	for _, tc := range []struct {
		cell  float64
		agree bool
	}{{37, true}, {60, false}} {
		m := matrix.New([]int{0, 1})
		m.Set(0, 1, tc.cell)
		m.Set(1, 0, tc.cell+1)
		r, text := markdownOf(t, run, Options{Matrix: m})
		cell := fmt.Sprintf("| llc | 35.5 ns | %.0f ns (CPUs 0,1)", tc.cell)
		if !strings.Contains(text, cell) {
			t.Errorf("cell %v: table lacks %q:\n%s", tc.cell, cell, text)
		}
		explained := strings.Contains(text, "so the difference is drift") && strings.Contains(r.Summary(), fmt.Sprintf("the heat map shows %.0f ns for CPUs 0,1", tc.cell))
		if agreed := strings.Contains(text, "agree within 25%"); agreed != tc.agree || explained == tc.agree {
			t.Errorf("cell %v vs floor 35.5: agree %v, explained %v; want agree %v\n%s\n%s", tc.cell, agreed, explained, tc.agree, r.Summary(), text)
		}
		if i, j := strings.Index(text, "## Summary"), strings.Index(text, "## Machine"); i < 0 || j < i {
			t.Errorf("report.md does not open with the summary:\n%s", text)
		}
		for _, l := range r.SummaryLines() {
			if !strings.Contains(text, "- "+mdEscape(l)+"\n") {
				t.Errorf("summary line %q missing from report.md's summary", l)
			}
		}
	}
}

// Counts per op read as plain numbers, with how rare a rare one is; no SI
// prefixes, no exponent below a million.
func TestFmtCountReadable(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		unit string
		want string
	}{
		{0.00066, "ctxsw/op", "0.00066 ctxsw/op (1 per 1500 ops)"},
		{1, "wakeups/op", "1 wakeups/op"},
		{0.63316, "ctxsw/op", "0.6332 ctxsw/op"},
		{2.5, "wakeups/op", "2.5 wakeups/op"},
		{0, "migrations/op", "0 migrations/op"},
		{123456, "items/s", "123456 items/s"},
		{25000000, "items/s", "2.5e+07 items/s"},
	} {
		if got := fmtVal(tc.v, tc.unit); got != tc.want {
			t.Errorf("fmtVal(%v, %s) = %q, want %q", tc.v, tc.unit, got, tc.want)
		}
	}
}
