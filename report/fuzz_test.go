package report

import (
	"strings"
	"testing"
)

// readSeeds are hostile raw benchmark files for FuzzRead: cut-off lines,
// bad numbers, control characters and bad UTF-8, markup in names, unit
// metadata, configuration lines that steer the report.
var readSeeds = []string{
	"",
	"machine: m\n",
	"BenchmarkFloor/place=llc-2",
	"BenchmarkFloor/place=llc-2 \t 1000 \t 35.0 ns/op\nBenchmarkFloor/place=smt-2 \t 1000",
	"BenchmarkFloor/place=llc-2 1000 35.0 ns/op\r\nBenchmarkFloor/place=llc-2 1000 36.0 ns/op\r\n",
	"BenchmarkX 0 0 ns/op\nBenchmarkX 1 -5 ns/op\nBenchmarkX 1 NaN ns/op\nBenchmarkX 1 +Inf ns/op\nBenchmarkX 1 1e309 ns/op\n",
	"BenchmarkX 1 abc ns/op\n",
	"BenchmarkX 1 1\n",
	"BenchmarkX\x00/place=\x01 1 1 ns/op\n",
	"BenchmarkX/place=\xff\xfe 1 1 ns/op\n",
	"BenchmarkX/place=a|b*c_<d> 1 1 ns/op\nBenchmarkX/place=> 1 2 ns/op\n",
	"Unit ns/op assume=exact better=higher\nBenchmarkX/place=llc 1 1 ns/op\n",
	"Unit ns/op assume=bogus\nBenchmarkX 1 1 ns/op\n",
	".file: other\n.fullname: x\nBenchmarkX 1 1 ns/op\n",
	"hypervisor: QEMU\ngovernor: \nallowed: 0\nonline: 0-1\npair-llc: 0,1\npair-: \ntopology-warnings: x\nBenchmarkFloor/place=llc-2 1 1 ns/op\n",
	"tune-mode: quick\ncount: 6\nBenchmarkX 1 1 ns/op\ntune-mode: full\nBenchmarkX 1 2 ns/op\n",
	"BenchmarkHandoff/via=aio/wait=poll/place=llc-2 1 250 ns/op 500 cpu-ns/op\nBenchmarkHandoff/via=aio/wait=adaptive/place=llc-2 1 260 ns/op 100 cpu-ns/op\nBenchmarkHandoff/via=aio/wait=adaptive/place=samecpu-2 1 900 ns/op\nBenchmarkHandoff/via=aio/wait=adaptive/pollmax=8us/rate=sparse/place=llc-2 1 9000 ns/op 10 cpu-ns/op 300 p50-ns\nBenchmarkHandoff/via=aio/wait=poll/rate=sparse/place=llc-2 1 9000 ns/op 9000 cpu-ns/op\n",
	"BenchmarkHandoff/via=aio/pin=node/wait=poll/place=node-2 1 300 ns/op 0.5 samecpu-frac\nBenchmarkQueue/impl=mpsc/pad=64/place=llc-2 1 10 ns/op\nBenchmarkQueue/impl=mpsc/pad=128/place=llc-2 1 9 ns/op\n",
	"BenchmarkX 1 1 ns/op\n" + strings.Repeat("x", 70000),
	strings.Repeat("BenchmarkFloor/place=p 1 1 ns/op\n", 50),
}

// FuzzRead feeds hostile raw benchmark files through the reader that
// ReadFiles uses, then builds, writes and compares what it accepted:
// nothing may panic, an error names the file, and the report grows with
// its input.
func FuzzRead(f *testing.F) {
	for _, s := range readSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		run, err := Read(strings.NewReader(string(data)), "fuzz.txt")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.txt") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		r, err := Build(run, Options{})
		if err != nil {
			if !strings.Contains(err.Error(), "MaxColumns") {
				t.Fatalf("Build: %v", err)
			}
			return
		}
		var md strings.Builder
		if err := r.WriteMarkdown(&md); err != nil {
			t.Fatal(err)
		}
		if limit := 64<<10 + 1000*len(data); md.Len() > limit {
			t.Fatalf("report.md of %d bytes from %d bytes of input", md.Len(), len(data))
		}
		_ = r.Summary()
		ts, err := Compare(run, run)
		if err != nil {
			t.Fatalf("Compare: %v", err)
		}
		var text strings.Builder
		if err := ts.WriteText(&text, RenderOptions{}); err != nil {
			t.Fatal(err)
		}
		_ = CompareWarnings(run, run)
	})
}
