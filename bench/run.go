package bench

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/cpuname"
)

// Running the suite without `go test`: the pinbench binary runs each leaf
// through testing.Benchmark and writes the results in Go's benchmark
// format with benchfmt, under the configuration lines `go test` would
// print, so that benchstat and the report read both alike: the same
// names (with the -GOMAXPROCS suffix), values rounded as `go test` rounds
// them, the same units and configuration keys.

// pkgPath is the import path `go test` prints as the pkg configuration
// line of the suite's results.
const pkgPath = "github.com/pinbench/pinbench/bench"

// SetBenchtime sets the -test.benchtime that testing.Benchmark runs each
// leaf for ("100ms", "10x"), registering the testing flags first. It
// fails on a value `go test` would refuse.
func SetBenchtime(d string) error {
	testing.Init()
	if err := flag.Set("test.benchtime", d); err != nil {
		return fmt.Errorf("benchtime %q: want a duration (100ms, 2s) or a count of iterations (10x): %v", d, err)
	}
	return nil
}

// RunLeaf runs one leaf as testing.Benchmark does (b.N grows until the run
// takes the benchtime; see SetBenchtime) and returns its result, or what
// failed. A leaf that cannot run here (Skip) is an error.
func RunLeaf(l Leaf) (testing.BenchmarkResult, error) {
	if l.Skip != "" {
		return testing.BenchmarkResult{}, fmt.Errorf("%s: skipped: %s", l.Name, l.Skip)
	}
	if l.Body == nil {
		return testing.BenchmarkResult{}, fmt.Errorf("%s: not a leaf of the suite", l.Name)
	}
	var failure error // written by the benchmark's goroutine, read after it ended
	res := testing.Benchmark(func(b *testing.B) {
		if l.Allocs {
			b.ReportAllocs()
		}
		if err := l.Body(b, l.Name); err != nil {
			failure = err
			b.FailNow()
		}
	})
	if failure != nil {
		return res, failure
	}
	if res.N == 0 {
		return res, errors.New("the benchmark ran no iteration")
	}
	return res, nil
}

// resultName is the name `go test` gives leaf name's result line: with
// the -GOMAXPROCS suffix unless GOMAXPROCS is 1.
func resultName(name string) string {
	if p := runtime.GOMAXPROCS(0); p != 1 {
		return fmt.Sprintf("%s-%d", name, p)
	}
	return name
}

// ResultWriter writes results in Go's benchmark format, each under the
// configuration lines of the run (written again only when they change).
// It writes no metric whose value is NaN or infinite, which the report
// refuses (see FiniteLine): it leaves that metric out of the result's
// line and writes a warning line naming the result and the metric to its
// warnings writer, os.Stderr unless WarnTo sets another.
//
// Who may call what: one goroutine at a time; WarnTo before the first
// Write.
type ResultWriter struct {
	w      *benchfmt.Writer
	config string    // FormatConfig of the run's lines, ending in a newline
	warn   io.Writer // where Write says what it left out
}

// NewResultWriter returns a writer to w of results under config (see
// GoTestConfig), with its warnings to os.Stderr.
func NewResultWriter(w io.Writer, config []ConfigLine) *ResultWriter {
	return &ResultWriter{w: benchfmt.NewWriter(w), config: FormatConfig(config), warn: os.Stderr}
}

// WarnTo sends rw's warnings (the metrics Write leaves out) to w.
func (rw *ResultWriter) WarnTo(w io.Writer) {
	rw.warn = w
}

// GoTestConfig returns the configuration lines `go test -bench` prints for
// the suite on t: the suite's own (Config) and then goos, goarch, pkg and
// cpu.
func GoTestConfig(t *affinity.Topology) []ConfigLine {
	cpu := cpuname.Name() // go test's own, trailing spaces and all
	if cpu == "" {
		cpu = strings.TrimSpace(t.Identity.Brand)
	}
	if cpu == "" {
		cpu = t.Model
	}
	return append(Config(t),
		ConfigLine{"goos", runtime.GOOS},
		ConfigLine{"goarch", runtime.GOARCH},
		ConfigLine{"pkg", pkgPath},
		ConfigLine{"cpu", cpu})
}

// Write writes the result of leaf name: the line `go test` prints for it
// (name with its suffix, iterations, ns/op and the reported metrics, B/op
// and allocs/op when allocs), through benchfmt, less the metrics that are
// NaN or infinite, each with a warning. A result with no finite metric is
// not written.
func (rw *ResultWriter) Write(name string, res testing.BenchmarkResult, allocs bool) error {
	line := resultName(name) + "\t" + res.String()
	if allocs {
		line += "\t" + res.MemString()
	}
	line, notes := FiniteLine(line)
	for _, n := range notes {
		fmt.Fprintf(rw.warn, "warning: %s\n", n)
	}
	if line == "" {
		return nil
	}
	r := benchfmt.NewReader(strings.NewReader(rw.config+line+"\n"), "")
	for r.Scan() {
		switch rec := r.Result().(type) {
		case *benchfmt.Result:
			return rw.w.Write(rec)
		case *benchfmt.SyntaxError:
			return fmt.Errorf("result of %s: %v (line %q)", name, rec, line)
		}
	}
	if err := r.Err(); err != nil {
		return err
	}
	return fmt.Errorf("result of %s: no result in line %q", name, line)
}
