package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/bench"
	"github.com/pinbench/pinbench/internal/atomicfile"
	"github.com/pinbench/pinbench/matrix"
	"github.com/pinbench/pinbench/matrix/measure"
	"github.com/pinbench/pinbench/report"
)

// cmdTune is `pinbench tune`; main.go lists it in commands.
var cmdTune = &command{
	name:    "tune",
	summary: "the per-machine tuning run: matrix, benchmarks, report with recommendations",
	args:    "[--full | --lab] [--out DIR [--force]] [flags]",
	about: `Discovers the topology, measures the core-to-core latency matrix, runs
the benchmark suite (this binary's own, or --bench-bin's) in interleaved
rounds, one fresh process per round, and writes a results folder with
bench.txt, the matrix, the heat map and report.md, whose summary it prints.
Quick mode takes 6 rounds of -benchtime 100ms; --full 10 rounds of 500ms
and the poll-window sweep. Each run gets its own folder,
results/<machine-id>/<UTC time>-quick|full (with -cpusLIST when the run
may use only some CPUs), and results/<machine-id>/latest points at the
newest complete one (a latest that is not a symbolic link is refused
before measuring); an --out that is a symbolic link gets the run in the
folder it leads to. The folder appears only when complete: an error,
SIGINT or SIGTERM leaves none. After a SIGKILL the round's child process
dies too, and the next run removes the staging folder left behind. With
--plan it measures nothing and prints what each mode would run and how
long it would take.`,
	run: runTune,
}

// tuneMode is how long and how carefully the tuning run measures.
type tuneMode struct {
	count     int    // -test.count: samples per benchmark
	benchtime string // -test.benchtime
	sweep     bool   // the adaptive poll-window sweep
	matrix    measure.Params
	// sample measures a stratified sample of the matrix (measure.SamplePairs)
	// rather than every pair.
	sample bool
}

var (
	// quickMode takes about three minutes on two cores: six samples per
	// benchmark, the fewest benchstat needs for a confidence interval.
	quickMode = tuneMode{count: 6, benchtime: "100ms", matrix: measure.Params{Reps: 5, Transfers: 20000}, sample: true}
	// fullMode is for committed results: ten samples of longer runs and
	// the poll-window sweep.
	fullMode = tuneMode{count: 10, benchtime: "500ms", sweep: true, matrix: measure.Params{Reps: 11, Transfers: 50000}}
	// labMode is for the topology lab's emulated guests (scripts/lab.sh
	// --tune), where timings mean nothing and every instruction is slow:
	// the whole run, sweep included, with the six samples the report needs
	// before it recommends (so that its recommendation code runs on the
	// guest's classes) and fixed small iteration counts, so that it checks
	// every stage and file on the guest's topology in minutes.
	labMode = tuneMode{count: 6, benchtime: "10x", sweep: true, matrix: measure.Params{Reps: 3, Transfers: 2000}, sample: true}
)

// tuneFiles are the files a tuning run writes into its folder.
const (
	rawFile        = "bench.txt"
	matrixFile     = "matrix.csv"
	matrixLongFile = "matrix-samples.csv"
	topologyFile   = "topology.json"
	reportFile     = "report.md"
)

func runTune(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("tune", stdout)
	full := fs.Bool("full", false, "full run: 10 samples of each benchmark, -benchtime 500ms and the poll-window sweep")
	labRun := fs.Bool("lab", false, "lab run for emulated guests (scripts/lab.sh --tune): 6 samples of 10 iterations, the sweep, a short matrix; its timings mean nothing")
	out := fs.String("out", "", "write the run into `DIR` (default results/<machine-id>/<UTC time>-quick|full, and results/<machine-id>/latest points at it)")
	force := fs.Bool("force", false, "with --out: replace the results already in DIR")
	bin := fs.String("bench-bin", "", "run the suite with this prebuilt benchmark `binary` (go test -c ./bench) instead of this program's own")
	count := fs.Int("count", 0, "samples per benchmark, one per interleaved round of the suite (default 6, or 10 with --full)")
	benchtime := fs.String("benchtime", "", "run each benchmark for `d`, a duration or Nx iterations (default 100ms, or 500ms with --full, 10x with --lab)")
	filter := fs.String("bench", ".", "run only benchmarks matching this `regexp` (as go test -bench)")
	reps := fs.Int("matrix-reps", 0, "repetitions per latency-matrix pair (default 5, or 11 with --full)")
	transfers := fs.Int("matrix-transfers", 0, "one-way transfers per matrix repetition (default 20000, or 50000 with --full)")
	parallel := fs.Bool("parallel", false, "measure disjoint matrix pairs at once, then check a sample of cells alone (the report warns when they disagree)")
	planOnly := fs.Bool("plan", false, "print what quick and full mode would run (classes and pairs, matrix pairs, benchmarks, estimated duration) without measuring")
	root := fs.String("root", "", "with --plan: plan for the machine of the sysfs capture in `DIR` (or a .tar.gz/.tar.bz2 of one) instead of this one")
	explain := fs.Bool("explain-outliers", false, "after the timed rounds, one traced round of the via=aio handoffs with the execution tracer's flight recorder: the moments before each slow sampled hop go to <run folder>/outliers/NAME-N.trace, and report.md says what each shows")
	factor := fs.Float64("outlier-factor", bench.DefaultOutlierFactor, "with --explain-outliers: a sampled hop slower than this many times the running median is an outlier")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	mode, modeName := quickMode, "quick"
	switch {
	case *full && *labRun:
		return usageError{"--full and --lab exclude each other"}
	case *full:
		mode, modeName = fullMode, "full"
	case *labRun:
		mode, modeName = labMode, "lab"
	}
	if *count < 0 || *reps < 0 || *transfers < 0 {
		return usageError{"--count, --matrix-reps and --matrix-transfers must not be negative"}
	}
	if set["out"] && *out == "" {
		return usageError{"--out is empty: name a folder, or leave --out out for results/<machine-id>/"}
	}
	if *force && *out == "" {
		return usageError{"--force needs --out: runs under results/<machine-id>/ never replace each other"}
	}
	if *benchtime != "" {
		if err := checkBenchtime(*benchtime); err != nil {
			return usageError{err.Error()}
		}
	}
	flt, err := bench.NewFilter(*filter)
	if err != nil {
		return usageError{err.Error()}
	}
	if *count > 0 {
		mode.count = *count
	}
	if *benchtime != "" {
		mode.benchtime = *benchtime
	}
	if *reps > 0 {
		mode.matrix.Reps = *reps
	}
	if *transfers > 0 {
		mode.matrix.Transfers = *transfers
	}
	if *factor <= 1 {
		return usageError{fmt.Sprintf("--outlier-factor %g: want more than 1", *factor)}
	}
	if *root != "" && !*planOnly {
		return usageError{"--root needs --plan: a capture can be planned for, not measured"}
	}
	prog, err := suiteProgram(*bin)
	if err != nil {
		return err
	}
	if *planOnly {
		modes := []namedMode{{"quick", quickMode}, {"full", fullMode}}
		if *labRun {
			modes = []namedMode{{"lab", labMode}}
		}
		for i := range modes {
			m := &modes[i].mode
			if *count > 0 {
				m.count = *count
			}
			if *benchtime != "" {
				m.benchtime = *benchtime
			}
		}
		return runPlan(planRequest{root: *root, prog: prog, filter: *filter, parallel: *parallel, modes: modes}, stdout, stderr)
	}
	// SIGINT and SIGTERM end the run: the child of the round is stopped,
	// the staging folder removed, and nothing is presented as complete.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Child processes copy their stderr into ours from goroutines of
	// os/exec while we print progress: serialize the writes.
	stderr = &lockedWriter{w: stderr}
	started := time.Now()
	stage := func(n int, what string) {
		fmt.Fprintf(stderr, "[%d/5 %s] %s\n", n, time.Since(started).Round(time.Second), what)
	}

	stage(1, "discovering the topology")
	t, err := affinity.Discover()
	if err != nil {
		return err
	}
	// The benchmarks --bench selects, from the catalogue or the test
	// binary's plan: none is a mistake in the command line.
	if prog.self {
		if run, _ := planSuite(t, flt, mode.sweep); len(run) == 0 {
			return usageError{fmt.Sprintf("--bench %q matches no benchmark that runs on this machine", *filter)}
		}
	} else if _, _, err := planBenchmarks(prog, t, *filter, mode, ""); err != nil {
		if strings.Contains(err.Error(), "no benchmark would run") {
			return usageError{fmt.Sprintf("--bench %q matches no benchmark of %s that runs on this machine", *filter, prog.path)}
		}
		return err
	}
	id := bench.MachineID(t)
	folder, err := newRunFolder(*out, id, runName(started, modeName, t), *force)
	if err != nil {
		return err
	}
	defer folder.abort() // after a commit, nothing is left to remove
	folder.announce(stderr, fmt.Sprintf("machine %s: %s", id, t.Summary()))
	if restricted(t) {
		fmt.Fprintf(stderr, "warning: this run may use CPUs %s only, of the %s online: it measures part of the machine\n", t.Allowed, t.Online)
	}
	if err := atomicfile.Write(folder.path(topologyFile), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(t.JSON())
	}); err != nil {
		return err
	}

	stage(2, "measuring the core-to-core latency matrix")
	var m *matrix.Matrix
	if t.Allowed.Count() < 2 {
		fmt.Fprintf(stderr, "only one allowed CPU (%s): no latency matrix\n", t.Allowed)
	} else {
		m, err = measure.Matrix(ctx, t, measure.Options{Params: mode.matrix, Sample: mode.sample, Parallel: *parallel}, stderr)
		if err != nil {
			return interrupted(ctx, err)
		}
		for _, f := range []struct {
			name  string
			write func(io.Writer) error
		}{{matrixFile, m.WriteCSV}, {matrixLongFile, m.WriteLongCSV}} {
			if err := atomicfile.Write(folder.path(f.name), f.write); err != nil {
				return err
			}
		}
	}

	stage(3, "benchmark program (checked before measuring): "+prog.String())
	var outliers *outlierRun
	if *explain {
		if outliers, err = startOutlierRun(ctx, folder.staging(), prog, *factor); err != nil {
			return err
		}
		defer outliers.discard()
	}
	what := fmt.Sprintf("running the benchmarks (%d interleaved rounds, -benchtime %s)", mode.count, mode.benchtime)
	if mode.sweep {
		what = strings.TrimSuffix(what, ")") + ", poll-window sweep)"
	}
	stage(4, what)
	raw := folder.path(rawFile)
	settings := []bench.ConfigLine{{Key: "tune-mode", Value: modeName}, {Key: "benchtime", Value: mode.benchtime}, {Key: "count", Value: fmt.Sprint(mode.count)}}
	if err := runBenchmarks(ctx, prog, *filter, mode, settings, raw, stderr); err != nil {
		return interrupted(ctx, err)
	}
	if outliers != nil {
		stage(4, "explaining outliers: one traced round of the via=aio handoffs (not in the tables)")
		if err := outliers.round(ctx, *filter, mode, stderr); err != nil {
			return interrupted(ctx, err)
		}
	}

	stage(5, "writing the report")
	run, err := report.ReadFiles(raw)
	if err != nil {
		return err
	}
	opts := report.Options{Matrix: m}
	if outliers != nil {
		if opts.Outliers, err = outliers.explain(); err != nil {
			return err
		}
	}
	if outliers != nil {
		if err := outliers.commit(); err != nil {
			return err
		}
	}
	var summary string
	if err := folder.commit(stderr, func(final string) error {
		summary, err = writeRunReport(folder.staging(), final, run, opts)
		if err != nil {
			return err
		}
		return interrupted(ctx, nil)
	}); err != nil {
		return err
	}
	fmt.Fprint(stdout, summary)
	fmt.Fprintf(stderr, "done in %v\n", time.Since(started).Round(time.Second))
	return nil
}

// writeRunReport writes the report of run, read from the staging folder,
// into staging for the run's final folder, and returns its summary. Both
// name the files read ("Built from") and report.md where they will be,
// in final: the staging folder is gone once the run is committed.
func writeRunReport(staging, final string, run *report.Run, opts report.Options) (string, error) {
	run.Name = filepath.Join(final, rawFile)
	for i, f := range run.Files {
		if rel, ok := strings.CutPrefix(f, staging+string(filepath.Separator)); ok {
			run.Files[i] = filepath.Join(final, rel)
		}
	}
	s, err := report.WriteReport(staging, run, opts)
	if err != nil {
		return "", err
	}
	return strings.ReplaceAll(s, staging, final), nil
}

// interrupted turns err into "interrupted" when the run was stopped by a
// signal (the child's failure is then its consequence, not the cause);
// with err nil it says whether a signal came meanwhile.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return errors.New("interrupted by a signal: no results were kept")
	}
	return err
}

// checkBenchtime accepts what go test's -benchtime does: a positive
// duration, or a positive count of iterations with an x suffix.
func checkBenchtime(s string) error {
	if n, ok := strings.CutSuffix(s, "x"); ok {
		if v, err := strconv.Atoi(n); err != nil || v < 1 {
			return fmt.Errorf("--benchtime %q: want a positive count of iterations before the x (10x)", s)
		}
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return fmt.Errorf("--benchtime %q: want a positive duration (100ms, 2s) or a count of iterations (10x)", s)
	}
	return nil
}

// lockedWriter serializes writes to w; any goroutine may call Write.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer // guarded by mu
}

// Write writes p to the underlying writer under the lock.
func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
