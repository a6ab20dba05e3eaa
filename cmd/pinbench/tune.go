package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
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
	"github.com/pinbench/pinbench/report"
	"golang.org/x/perf/benchfmt"
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
newest complete one. The folder appears only when complete: an error,
SIGINT or SIGTERM leaves none. With --plan it measures nothing and prints
what each mode would run and how long it would take.`,
	run: runTune,
}

// tuneMode is how long and how carefully the tuning run measures.
type tuneMode struct {
	count     int    // -test.count: samples per benchmark
	benchtime string // -test.benchtime
	sweep     bool   // the adaptive poll-window sweep
	matrix    matrixParams
	// sample measures a stratified sample of the matrix (samplePairs)
	// rather than every pair.
	sample bool
}

var (
	// quickMode takes about three minutes on two cores: six samples per
	// benchmark, the fewest benchstat needs for a confidence interval.
	quickMode = tuneMode{count: 6, benchtime: "100ms", matrix: matrixParams{reps: 5, transfers: 20000}, sample: true}
	// fullMode is for committed results: ten samples of longer runs and
	// the poll-window sweep.
	fullMode = tuneMode{count: 10, benchtime: "500ms", sweep: true, matrix: matrixParams{reps: 11, transfers: 50000}}
	// labMode is for the topology lab's emulated guests (scripts/lab.sh
	// --tune), where timings mean nothing and every instruction is slow:
	// the whole run, sweep included, with the six samples the report needs
	// before it recommends (so that its recommendation code runs on the
	// guest's classes) and fixed small iteration counts, so that it checks
	// every stage and file on the guest's topology in minutes.
	labMode = tuneMode{count: 6, benchtime: "10x", sweep: true, matrix: matrixParams{reps: 3, transfers: 2000}, sample: true}
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
		mode.matrix.reps = *reps
	}
	if *transfers > 0 {
		mode.matrix.transfers = *transfers
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
	fmt.Fprintf(stderr, "machine %s: %s; writing into %s\n", id, t.Summary(), folder.final)
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
		m, err = measureMatrix(ctx, t, mode.matrix, mode.sample, *parallel, stderr)
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
	run.Name = filepath.Join(folder.final, rawFile)
	opts := report.Options{Matrix: m}
	if outliers != nil {
		if opts.Outliers, err = outliers.explain(); err != nil {
			return err
		}
	}
	staging := folder.staging()
	summary, err := report.WriteReport(staging, run, opts)
	if err == nil && outliers != nil {
		err = outliers.commit()
	}
	if err != nil {
		return err
	}
	if err := interrupted(ctx, nil); err != nil {
		return err
	}
	if err := folder.commit(); err != nil {
		return err
	}
	fmt.Fprint(stdout, strings.ReplaceAll(summary, staging, folder.final))
	fmt.Fprintf(stderr, "done in %v\n", time.Since(started).Round(time.Second))
	return nil
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

// suiteProg is the program that runs the benchmark suite for a round:
// this binary (its bench command) or a go test binary of ./bench.
type suiteProg struct {
	path string
	self bool // this binary: the bench command's flags
}

// String names the program in progress lines.
func (p suiteProg) String() string {
	if p.self {
		return "this binary's own suite (" + p.path + " bench)"
	}
	return p.path
}

// selfEnv marks a child process that runs this program's bench command:
// cmd/pinbench's tests, whose executable is the test binary, then run the
// command line instead of the tests.
const selfEnv = "PINBENCH_RUN_CLI"

// suiteProgram returns the program for --bench-bin bin ("": this binary),
// checking that a test binary is one of pinbench's benchmark suite.
func suiteProgram(bin string) (suiteProg, error) {
	if bin == "" {
		p, err := os.Executable()
		if err != nil {
			return suiteProg{}, fmt.Errorf("finding this program to run the benchmarks: %w", err)
		}
		return suiteProg{path: p, self: true}, nil
	}
	if st, err := os.Stat(bin); err != nil || st.IsDir() {
		return suiteProg{}, fmt.Errorf("benchmark binary %s: not a file (build one with go test -c ./bench)", bin)
	}
	if err := probeBenchBinary(bin); err != nil {
		return suiteProg{}, err
	}
	return suiteProg{path: bin}, nil
}

// probeBenchBinary checks that bin is a test binary of pinbench's bench
// package: in its -plan mode, listing the benchmarks, it prints the
// suite's configuration lines and its benchmark functions.
func probeBenchBinary(bin string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-test.list", "^Benchmark", "-plan").CombinedOutput()
	text := string(out)
	if err != nil || !strings.Contains(text, "\nmachine: ") && !strings.HasPrefix(text, "machine: ") || !strings.Contains(text, "BenchmarkHandoff\n") {
		why := "it does not list pinbench's benchmarks"
		if err != nil {
			why = err.Error()
		}
		return fmt.Errorf("--bench-bin %s is not a pinbench benchmark binary (go test -c ./bench): run with -test.list: %s %s", bin, why, lastLines(text, 2))
	}
	return nil
}

// command returns the command that runs the program with args, given in
// the test binary's form (-test.bench ...); for this binary they become
// the bench command's flags.
func (p suiteProg) command(ctx context.Context, args []string) *exec.Cmd {
	if p.self {
		var own []string
		for i := 0; i < len(args); i++ {
			switch a := args[i]; {
			case a == "-test.run":
				i++ // the bench command runs no tests
			case a == "-test.v":
			case strings.HasPrefix(a, "-test."):
				own = append(own, "-"+strings.TrimPrefix(a, "-test."))
			default:
				own = append(own, a)
			}
		}
		args = append([]string{"bench", "-progress=false"}, own...)
	}
	cmd := exec.CommandContext(ctx, p.path, args...)
	cmd.Env = append(os.Environ(), selfEnv+"=1")
	// A signal stops the child gently first: its deferred clean-ups run.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// benchArgs are the test binary's flags for a run of mode.
func benchArgs(filter string, mode tuneMode, count int, benchtime string) []string {
	args := []string{"-test.run", "^$", "-test.bench", filter, "-test.count", fmt.Sprint(count), "-test.benchtime", benchtime}
	if mode.sweep {
		args = append(args, "-sweep")
	}
	return args
}

// runBenchmarks runs the suite, writing its output to raw under the
// settings lines (how the run measured, for compare) and showing progress
// on stderr: the round, the benchmark running, results done, and time
// left. It first lists the benchmarks with a one-iteration dry run, which
// gives the total for the estimate and checks the program works.
//
// The mode.count samples of each benchmark are taken in mode.count rounds
// of the whole suite (-test.count 1 each), each a fresh process, not back
// to back: a shared machine's speed drifts over minutes (a VM's host
// moves its vCPUs; on the 2-core VM the floor went from 30 to 120 ns and
// back within one run), and interleaving spreads that drift over every
// benchmark alike instead of biasing whichever ran during a slow spell.
// Ratios within the run (a handoff against the floor) stay fair, and the
// drift shows as spread. The rounds' outputs are concatenated; each
// repeats the configuration lines, which benchfmt reads as the same
// configuration.
func runBenchmarks(ctx context.Context, prog suiteProg, filter string, mode tuneMode, settings []bench.ConfigLine, raw string, stderr io.Writer) error {
	names, err := listBenchmarks(ctx, prog, filter, mode, stderr)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return fmt.Errorf("no benchmark matches %q", filter)
	}
	total := len(names) * mode.count
	return atomicfile.Write(raw, func(w io.Writer) error {
		if _, err := io.WriteString(w, bench.FormatConfig(settings)); err != nil {
			return err
		}
		start := time.Now()
		done := 0
		for round := 1; round <= mode.count; round++ {
			n, err := runRound(ctx, prog, benchArgs(filter, mode, 1, mode.benchtime), w, stderr, func(name string) {
				done++
				left := time.Duration(float64(time.Since(start)) / float64(done) * float64(max(total-done, 0)))
				fmt.Fprintf(stderr, "\rbench: round %d/%d, %d/%d results, about %v left, last %-50.50s", round, mode.count, done, total, left.Round(time.Second), name)
			})
			if err != nil {
				fmt.Fprintln(stderr)
				return fmt.Errorf("round %d of %d: %w", round, mode.count, err)
			}
			if n == 0 {
				fmt.Fprintln(stderr)
				return fmt.Errorf("round %d of %d produced no results", round, mode.count)
			}
		}
		fmt.Fprintln(stderr)
		return nil
	})
}

// runRound runs the program once with args, copying its output to w and
// calling result with the name of each result as benchfmt reads it from
// the output ("BenchmarkName-N", as in the output). It returns the number
// of results. A line that starts like a result but is not one fails the
// round with its line in the output (benchfmt's syntax error), unless the
// program failed, whose failure lines say more.
func runRound(ctx context.Context, prog suiteProg, args []string, w, stderr io.Writer, result func(name string)) (int, error) {
	cmd := prog.command(ctx, args)
	cmd.Stderr = stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting %s: %w", prog.path, err)
	}
	out := &roundOutput{w: w}
	src := io.TeeReader(pipe, out)
	n := 0
	var syntax error
	rd := benchfmt.NewReader(src, prog.path+" (stdout)")
	for rd.Scan() {
		switch rec := rd.Result().(type) {
		case *benchfmt.Result:
			n++
			result("Benchmark" + string(rec.Name))
		case *benchfmt.SyntaxError:
			if syntax == nil {
				syntax = rec
			}
		}
	}
	readErr := rd.Err()
	// Whatever the reader left (after a read error) still goes to w, and
	// the program must not block on a full pipe.
	io.Copy(io.Discard, src)
	out.endLine()
	if err := cmd.Wait(); err != nil {
		return n, fmt.Errorf("benchmark run failed (%w): %s", err, strings.Join(failureLines(out.all.String()), "; "))
	}
	switch {
	case out.err != nil:
		return n, fmt.Errorf("copying the benchmark output: %w", out.err)
	case readErr != nil:
		return n, readErr
	case syntax != nil:
		return n, syntax
	}
	return n, nil
}

// roundOutput is where a round's output goes as benchfmt reads it: to w,
// and kept for failureLines. Its Write never fails, so that the reader
// drains the program's output whatever happens to w (err keeps w's first
// error).
type roundOutput struct {
	w    io.Writer
	all  bytes.Buffer // one round's output: a few hundred lines
	last byte         // the last byte written
	err  error
}

// Write copies p to w and keeps it.
func (o *roundOutput) Write(p []byte) (int, error) {
	o.all.Write(p)
	if len(p) > 0 {
		o.last = p[len(p)-1]
	}
	if o.err == nil {
		_, o.err = o.w.Write(p)
	}
	return len(p), nil
}

// endLine ends a last line the program left unfinished (a round that was
// cut short), so that the next round's output starts on a line of its
// own.
func (o *roundOutput) endLine() {
	if o.all.Len() > 0 && o.last != '\n' {
		o.Write([]byte{'\n'})
	}
}

// failureLines picks the lines that say why a round failed from its
// output: go test's and the bench command's "--- FAIL: NAME" (alone, or
// after a result's name, as go test prints a benchmark that failed) with
// the indented lines of its message, "FAIL", and panics. They are test
// output, not benchmark results, which benchfmt skips; so this matches
// text.
func failureLines(output string) []string {
	var failed []string
	for line := range strings.Lines(output) {
		line = strings.TrimRight(line, "\r\n")
		_, fail, isFail := strings.Cut(line, "--- FAIL")
		switch {
		case isFail:
			failed = append(failed, strings.TrimSpace("--- FAIL"+fail))
		case strings.HasPrefix(line, "FAIL"), strings.Contains(line, "panic:"):
			failed = append(failed, strings.TrimSpace(line))
		case len(failed) > 0 && strings.HasPrefix(line, "    "):
			failed = append(failed, strings.TrimSpace(line))
		}
	}
	return failed
}

// listBenchmarks runs every matching benchmark once for one iteration and
// returns the names of those that produced a result, showing each on
// stderr as it comes (on a large or emulated machine the dry run takes a
// while).
func listBenchmarks(ctx context.Context, prog suiteProg, filter string, mode tuneMode, stderr io.Writer) ([]string, error) {
	var names []string
	var out bytes.Buffer
	n, err := runRound(ctx, prog, benchArgs(filter, mode, 1, "1x"), &out, stderr, func(name string) {
		names = append(names, name)
		fmt.Fprintf(stderr, "\rdry run: %d benchmarks listed, last %-60.60s", len(names), name)
	})
	if n > 0 {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return nil, fmt.Errorf("benchmark dry run with %s failed: %w %s", prog, err, lastLines(out.String(), 3))
	}
	return names, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
