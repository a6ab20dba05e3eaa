package main

import (
	"bufio"
	"fmt"
	"io"

	"github.com/pinbench/pinbench/bench"
	"github.com/pinbench/pinbench/internal/handoff"
	"github.com/pinbench/pinbench/internal/outlier"
	"github.com/pinbench/pinbench/tune"
)

// cmdBench is `pinbench bench`; main.go lists it in commands.
var cmdBench = &command{
	name:    "bench",
	summary: "run the benchmark suite in this binary (as go test -bench ./bench would)",
	args:    "[flags]",
	about: `Runs the leaves of the benchmark suite that match -bench, each through
testing.Benchmark, and prints the results in Go's benchmark format under
the configuration lines go test prints: the same names, units and keys,
for benchstat and pinbench report. No Go toolchain is needed. With
-plan it runs nothing and lists each matching benchmark as "run NAME" or
"skip NAME: reason". A failing benchmark prints "--- FAIL: NAME" and its
error, and the command exits 1 after the rest have run.`,
	run: runBench,
}

// benchFlags are the bench command's flags; tune passes the same ones to
// the child process of each round.
type benchFlags struct {
	filter, benchtime, topologyRoot, outlierDir string
	count                                       int
	sweep, plan, explainOutliers, progress      bool
	outlierFactor                               float64
}

// runBench implements `pinbench bench`.
func runBench(args []string, stdout, stderr io.Writer) error {
	f, filter, err := parseBenchFlags(args, stdout)
	if err != nil {
		return err
	}
	t, err := discover(f.topologyRoot)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	if f.plan {
		run, skipped := tune.SuitePlan(t, filter, f.sweep)
		for _, name := range run {
			fmt.Fprintf(w, "run %s\n", name)
		}
		for _, s := range skipped {
			fmt.Fprintf(w, "skip %s: %s\n", s.Name, s.Reason)
		}
		return nil
	}
	if err := handoff.WarmUp(); err != nil {
		return err
	}
	opts := bench.SuiteOptions{Sweep: f.sweep}
	if f.explainOutliers {
		rec, err := outlier.Start(outlier.Options{Dir: f.outlierDir, Factor: f.outlierFactor, Progress: stderr})
		if err != nil {
			return fmt.Errorf("-explain-outliers: %w", err)
		}
		defer rec.Stop()
		opts.Outliers = rec
	}
	suite := func() []bench.Leaf { return bench.Leaves(bench.Suite(t, opts)) }
	rw := bench.NewResultWriter(w, bench.GoTestConfig(t))
	rw.WarnTo(stderr)
	return runRounds(f, filter, suite, rw, w, stderr)
}

// parseBenchFlags parses the bench command's flags; a mistake in them is
// a usage error.
func parseBenchFlags(args []string, stdout io.Writer) (f benchFlags, filter *bench.Filter, err error) {
	fs := newFlagSet("bench", stdout)
	fs.StringVar(&f.filter, "bench", ".", "run only benchmarks matching this `regexp` (as go test -bench)")
	fs.StringVar(&f.benchtime, "benchtime", "1s", "run each benchmark for `d`, a duration, or Nx iterations")
	fs.IntVar(&f.count, "count", 1, "run each benchmark `n` times, the whole suite once per round")
	fs.BoolVar(&f.sweep, "sweep", false, "also run the adaptive poll-window sweep of BenchmarkHandoff")
	fs.BoolVar(&f.plan, "plan", false, "list what would run and what is skipped, with the reason, running nothing")
	fs.StringVar(&f.topologyRoot, "topology-root", "", "with -plan: plan for the machine of the sysfs capture in `DIR`")
	fs.BoolVar(&f.explainOutliers, "explain-outliers", false, "keep the execution tracer's flight recorder running and save its window for each slow sampled via=aio handoff to -outlier-dir")
	fs.StringVar(&f.outlierDir, "outlier-dir", "outliers", "folder for -explain-outliers trace files (NAME-N.trace)")
	fs.BoolVar(&f.progress, "progress", true, "show the benchmark running on stderr (tune turns it off in its rounds and shows its own)")
	fs.Float64Var(&f.outlierFactor, "outlier-factor", outlier.DefaultFactor, "with -explain-outliers: a sampled hop slower than this many times the running median is an outlier")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return f, nil, err
	}
	if len(pos) > 0 {
		return f, nil, usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	if filter, err = bench.NewFilter(f.filter); err != nil {
		return f, nil, usageError{err.Error()}
	}
	if f.count < 1 {
		return f, nil, usageError{fmt.Sprintf("-count %d: want at least 1", f.count)}
	}
	if err := bench.SetBenchtime(f.benchtime); err != nil {
		return f, nil, usageError{err.Error()}
	}
	if f.topologyRoot != "" && !f.plan {
		return f, nil, usageError{"-topology-root needs -plan: benchmarks run on the live machine only"}
	}
	return f, filter, nil
}

// runRounds runs the leaves of the suite (built afresh for each round)
// that filter selects and the machine does not skip, f.count rounds of
// them, writing each result (or its failure) to
// w through rw and flushing it, with progress on stderr. It stops before
// a leaf when the tuning run it serves is gone (tune.CheckParent).
func runRounds(f benchFlags, filter *bench.Filter, suite func() []bench.Leaf, rw *bench.ResultWriter, w *bufio.Writer, stderr io.Writer) error {
	failed, done := 0, 0
	defer func() {
		if f.progress && done > 0 {
			fmt.Fprintln(stderr)
		}
	}()
	for round := range f.count {
		for _, l := range suite() {
			if l.Skip != "" || !filter.Match(l.Name) {
				continue
			}
			if err := tune.CheckParent(); err != nil {
				return err
			}
			if f.progress {
				done++
				fmt.Fprintf(stderr, "\rbench: round %d/%d, %d run, running %-60.60s", round+1, f.count, done-1, l.Name)
			}
			res, err := bench.RunLeaf(l)
			if err != nil {
				failed++
				fmt.Fprintf(w, "--- FAIL: %s\n    %s\n", l.Name, oneLine(err.Error()))
				continue
			}
			if err := rw.Write(l.Name, res, l.Allocs); err != nil {
				return err
			}
			// A result at a time: tune's progress follows the lines.
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
	if failed > 0 {
		fmt.Fprintln(w, "FAIL")
		return fmt.Errorf("%d benchmark runs failed", failed)
	}
	return nil
}
