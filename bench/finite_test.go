package bench

import (
	"math"
	"slices"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"

	"github.com/pinbench/pinbench/report"
)

// FiniteLine leaves out of a result line the metrics that are NaN or
// infinite, space before the value included, and keeps the rest byte for
// byte; a result left with none is left out; other lines pass as they
// are.
func TestFiniteLine(t *testing.T) {
	for _, c := range []struct {
		line, want string
		units      []string // the metrics noted, in order
	}{
		{"BenchmarkA-2   \t     100\t        12.50 ns/op\t         3.000 x/op\n", "", nil},
		{"BenchmarkA-2 \t 100\t 12.50 ns/op\t NaN ratio/op\t 3.000 x/op\t +Inf rate/s\n", "BenchmarkA-2 \t 100\t 12.50 ns/op\t 3.000 x/op\n", []string{"NaN ratio/op", "+Inf rate/s"}},
		{"BenchmarkA-2 100 -Inf ns/op 1 x/op", "BenchmarkA-2 100 1 x/op", []string{"-Inf ns/op"}},
		{"BenchmarkA-2 100 1e400 B/op 7 x/op", "BenchmarkA-2 100 7 x/op", []string{"1e400 B/op"}},
		{"BenchmarkA-2 100 1e303 MB/s 7 x/op", "BenchmarkA-2 100 7 x/op", []string{"1e303 MB/s"}},
		{"BenchmarkA-2 \t 100\t NaN ns/op\t Inf x/op\n", "", []string{"NaN ns/op", "Inf x/op", "no finite measurement"}},
		{"BenchmarkA-2 100 fast ns/op", "", nil},                                               // malformed: left to the reader
		{"BenchmarkA-2 100 NaN", "", nil},                                                      // no unit: left to the reader
		{"BenchmarkNotify\n", "", nil},                                                         // go test -v's name alone
		{"goos: NaN ns/op\n", "", nil},                                                         // not a result line
		{"    x_test.go:3: NaN ns/op\n", "", nil},                                              // a benchmark's log line
		{"BenchmarkA-2 \t--- FAIL: x\n", "", nil},                                              // a failure, not a result
		{"BenchmarkA-2 100 1 µs/op\u00a0NaN x", "BenchmarkA-2 100 1 µs/op", []string{"NaN x"}}, // a Unicode space
	} {
		want := c.want
		if c.units == nil {
			want = c.line
		}
		got, notes := FiniteLine(c.line)
		if got != want || len(notes) != len(c.units) {
			t.Errorf("FiniteLine(%q) = %q, notes %q; want %q, %d notes", c.line, got, notes, want, len(c.units))
			continue
		}
		for i, u := range c.units {
			if !strings.HasPrefix(notes[i], "BenchmarkA-2: ") || !strings.Contains(notes[i], u) {
				t.Errorf("FiniteLine(%q): note %q, want one naming BenchmarkA-2 and %q", c.line, notes[i], u)
			}
		}
	}
}

// A result with NaN and infinite metrics is written without them, with a
// warning naming the result and each metric, as a line the report reads;
// one with no finite metric is not written; finite results are written
// as benchfmt writes go test's line.
func TestResultWriterLeavesOutNonFinite(t *testing.T) {
	config := []ConfigLine{{"goos", "linux"}}
	var out, warn strings.Builder
	rw := NewResultWriter(&out, config)
	rw.WarnTo(&warn)
	res := testing.BenchmarkResult{N: 100, T: 1e6, Extra: map[string]float64{
		"ns/op": 12.5, "ratio/op": math.NaN(), "rate/s": math.Inf(1), "x/op": 3}}
	if err := rw.Write("BenchmarkA", res, false); err != nil {
		t.Fatal(err)
	}
	res.Extra = map[string]float64{"ns/op": math.NaN()}
	if err := rw.Write("BenchmarkNone", res, false); err != nil {
		t.Fatal(err)
	}
	run, err := report.Read(strings.NewReader(out.String()), "bench.txt")
	if err != nil {
		t.Fatalf("report.Read: %v\n%s", err, out.String())
	}
	var units []string
	for _, v := range run.Results[0].Values {
		units = append(units, v.OrigUnit+v.Unit)
	}
	if len(run.Results) != 1 || !slices.Equal(units, []string{"ns/opsec/op", "x/op"}) {
		t.Errorf("%d results, the first with %q; want BenchmarkA's alone, with ns/op and x/op:\n%s", len(run.Results), units, out.String())
	}
	name := resultName("BenchmarkA")
	for _, want := range []string{name + ": NaN ratio/op ", name + ": +Inf rate/s ", resultName("BenchmarkNone") + ": NaN ns/op ", resultName("BenchmarkNone") + ": no finite"} {
		if !strings.Contains(warn.String(), "warning: "+want) {
			t.Errorf("warnings lack %q:\n%s", want, warn.String())
		}
	}
	if strings.Count(warn.String(), "\n") != 4 {
		t.Errorf("want four warning lines:\n%s", warn.String())
	}
}

// A result whose metrics are all finite is written as before: go test's
// line through benchfmt, with no warning.
func TestResultWriterFiniteUnchanged(t *testing.T) {
	config := []ConfigLine{{"goos", "linux"}}
	res := testing.BenchmarkResult{N: 100, T: 1e6, MemAllocs: 300, MemBytes: 4800, Extra: map[string]float64{"ns/op": 12.5, "x/op": 0, "y/s": 1e-9}}
	var out, warn strings.Builder
	rw := NewResultWriter(&out, config)
	rw.WarnTo(&warn)
	if err := rw.Write("BenchmarkA", res, true); err != nil {
		t.Fatal(err)
	}
	line := resultName("BenchmarkA") + "\t" + res.String() + "\t" + res.MemString()
	var want strings.Builder
	r := benchfmt.NewReader(strings.NewReader(FormatConfig(config)+line+"\n"), "")
	w := benchfmt.NewWriter(&want)
	for r.Scan() {
		if rec, ok := r.Result().(*benchfmt.Result); ok {
			w.Write(rec)
		}
	}
	if out.String() != want.String() || warn.Len() != 0 {
		t.Errorf("wrote %q, warned %q; want %q and no warning", out.String(), warn.String(), want.String())
	}
}

// reportRatio reports nothing over a denominator of zero, where the
// quotient is NaN or infinite, and the quotient otherwise.
func TestReportRatio(t *testing.T) {
	if err := SetBenchtime("1x"); err != nil {
		t.Fatal(err)
	}
	defer SetBenchtime("1s")
	res := testing.Benchmark(func(b *testing.B) {
		reportRatio(b, 5, 0, "items/s")
		reportRatio(b, 0, 0, "ops/s")
		reportRatio(b, 6, 2, "x/op")
	})
	if _, ok := res.Extra["items/s"]; ok || res.Extra["x/op"] != 3 || len(res.Extra) != 1 {
		t.Errorf("metrics %v, want x/op 3 alone", res.Extra)
	}
}
