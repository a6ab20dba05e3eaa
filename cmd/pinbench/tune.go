package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/bench"
	"github.com/pinbench/pinbench/report"
)

func init() {
	register("tune", "the per-machine tuning run: matrix, benchmarks, report with recommendations", runTune)
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
	rawFile         = "bench.txt"
	matrixFile      = "matrix.csv"
	matrixLongFile  = "matrix-samples.csv"
	topologyFile    = "topology.json"
	reportFile      = "report.md"
	benchPackage    = "github.com/pinbench/pinbench/bench"
	benchBinaryName = "pinbench-bench.test"
)

func runTune(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tune", flag.ContinueOnError)
	fs.SetOutput(stderr)
	full := fs.Bool("full", false, "full run: 10 samples of each benchmark, longer benchmarks and the poll-window sweep")
	labRun := fs.Bool("lab", false, "lab run for emulated guests (scripts/lab.sh --tune): 6 samples of 10 iterations, the sweep, a short matrix; its timings mean nothing")
	out := fs.String("out", "", "folder to write into (default results/<machine-id>)")
	bin := fs.String("bench-bin", "", "prebuilt benchmark binary (go test -c ./bench); default: build it with go")
	count := fs.Int("count", 0, "override the number of samples per benchmark (one per interleaved round of the suite)")
	benchtime := fs.String("benchtime", "", "override -benchtime (a duration, or Nx)")
	filter := fs.String("bench", ".", "run only benchmarks matching this regular expression")
	reps := fs.Int("matrix-reps", 0, "override repetitions per latency-matrix pair")
	transfers := fs.Int("matrix-transfers", 0, "override one-way transfers per matrix repetition")
	parallel := fs.Bool("parallel", false, "measure disjoint matrix pairs at once, then check a sample of cells alone (the report warns when they disagree)")
	planOnly := fs.Bool("plan", false, "print what quick and full mode would run (classes and pairs, matrix pairs, benchmarks, estimated duration) without measuring")
	root := fs.String("root", "", "with --plan: plan for the machine of this sysfs capture instead of this one")
	explain := fs.Bool("explain-outliers", false, "after the timed rounds, one traced round of the via=aio handoffs with the execution tracer's flight recorder: the moments before each slow sampled hop go to <out>/outliers/NAME-N.trace, and report.md says what each shows")
	factor := fs.Float64("outlier-factor", bench.DefaultOutlierFactor, "with --explain-outliers: a sampled hop slower than this many times the running median is an outlier")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	mode := quickMode
	switch {
	case *full && *labRun:
		return usageError{"--full and --lab exclude each other"}
	case *full:
		mode = fullMode
	case *labRun:
		mode = labMode
	}
	if *count < 0 || *reps < 0 || *transfers < 0 {
		return usageError{"--count, --matrix-reps and --matrix-transfers must not be negative"}
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
	if *bin != "" {
		if st, err := os.Stat(*bin); err != nil || st.IsDir() {
			return fmt.Errorf("benchmark binary %s: not a file (build one with go test -c ./bench)", *bin)
		}
	}
	if *factor <= 1 {
		return usageError{fmt.Sprintf("--outlier-factor %g: want more than 1", *factor)}
	}
	if *root != "" && !*planOnly {
		return usageError{"--root needs --plan: a capture can be planned for, not measured"}
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
		return runPlan(planRequest{root: *root, bin: *bin, filter: *filter, parallel: *parallel, modes: modes}, stdout, stderr)
	}
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
	dir := *out
	if dir == "" {
		dir = filepath.Join("results", bench.MachineID(t))
	}
	if err := prepareOutDir(dir); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "machine %s: %s; writing into %s\n", bench.MachineID(t), t.Summary(), dir)
	if err := writeFileAtomic(filepath.Join(dir, topologyFile), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(t.JSON())
	}); err != nil {
		return err
	}

	stage(2, "measuring the core-to-core latency matrix")
	var m *report.Matrix
	if t.Allowed.Count() < 2 {
		fmt.Fprintf(stderr, "only one allowed CPU (%s): no latency matrix\n", t.Allowed)
	} else {
		m, err = measureMatrix(t, mode.matrix, mode.sample, *parallel, stderr)
		if err != nil {
			return err
		}
		for _, f := range []struct {
			name  string
			write func(io.Writer) error
		}{{matrixFile, m.WriteCSV}, {matrixLongFile, m.WriteLongCSV}} {
			if err := writeFileAtomic(filepath.Join(dir, f.name), f.write); err != nil {
				return err
			}
		}
	}

	stage(3, "preparing the benchmark binary")
	binPath := *bin
	if binPath == "" {
		path, cleanup, err := buildBenchBinary(stderr)
		if err != nil {
			return err
		}
		defer cleanup()
		binPath = path
	}
	var outliers *outlierRun
	if *explain {
		if outliers, err = startOutlierRun(dir, binPath, *factor); err != nil {
			return err
		}
		defer outliers.discard()
	}

	what := fmt.Sprintf("running the benchmarks (%d interleaved rounds, -benchtime %s)", mode.count, mode.benchtime)
	if mode.sweep {
		what = strings.TrimSuffix(what, ")") + ", poll-window sweep)"
	}
	stage(4, what)
	raw := filepath.Join(dir, rawFile)
	if err := runBenchmarks(binPath, *filter, mode, raw, stderr); err != nil {
		return err
	}
	if outliers != nil {
		stage(4, "explaining outliers: one traced round of the via=aio handoffs (not in the tables)")
		if err := outliers.round(*filter, mode, stderr); err != nil {
			return err
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
	summary, err := report.WriteReport(dir, run, opts)
	if err != nil {
		return err
	}
	if outliers != nil {
		err = outliers.commit()
	} else {
		err = removeStaleOutliers(dir, stderr)
	}
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, summary)
	fmt.Fprintf(stderr, "done in %v\n", time.Since(started).Round(time.Second))
	return nil
}

// buildBenchBinary builds the benchmark test binary into a temporary
// folder; cleanup removes it.
func buildBenchBinary(stderr io.Writer) (path string, cleanup func(), err error) {
	tmp, err := os.MkdirTemp("", "pinbench-tune")
	if err != nil {
		return "", nil, err
	}
	path = filepath.Join(tmp, benchBinaryName)
	build := exec.Command("go", "test", "-c", "-o", path, benchPackage)
	build.Stdout, build.Stderr = stderr, stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(tmp)
		return "", nil, fmt.Errorf("building the benchmark binary (go test -c %s): %v; run from the repository, or pass --bench-bin", benchPackage, err)
	}
	return path, func() { os.RemoveAll(tmp) }, nil
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

// prepareOutDir creates dir and checks that files can be written there, so
// that a bad --out fails at once rather than after minutes of measuring.
func prepareOutDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create output folder %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".pinbench-write-check*")
	if err != nil {
		return fmt.Errorf("cannot write into output folder %s: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// benchArgs are the test binary's flags for a run of mode.
func benchArgs(filter string, mode tuneMode, count int, benchtime string) []string {
	args := []string{"-test.run", "^$", "-test.bench", filter, "-test.count", fmt.Sprint(count), "-test.benchtime", benchtime}
	if mode.sweep {
		args = append(args, "-sweep")
	}
	return args
}

// runBenchmarks runs the benchmark binary, writing its output to raw (via a
// temporary file renamed only when the run succeeded) and showing progress
// on stderr: the round, the benchmark running, results done, and time left.
// It first lists the benchmarks with a one-iteration dry run, which gives the
// total for the estimate and checks the binary works.
//
// The mode.count samples of each benchmark are taken in mode.count rounds
// of the whole suite (-test.count 1 each), not back to back: a shared
// machine's speed drifts over minutes (a VM's host moves its vCPUs; on the
// 2-core VM the floor went from 30 to 120 ns and back within one run), and
// interleaving spreads that drift over every benchmark alike instead of
// biasing whichever ran during a slow spell. Ratios within the run (a
// handoff against the floor) stay fair, and the drift shows as spread.
// The rounds' outputs are concatenated; each repeats the configuration
// lines, which benchfmt reads as the same configuration.
func runBenchmarks(bin, filter string, mode tuneMode, raw string, stderr io.Writer) error {
	names, err := listBenchmarks(bin, filter, mode, stderr)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return fmt.Errorf("no benchmark matches %q", filter)
	}
	total := len(names) * mode.count
	return writeFileAtomic(raw, func(w io.Writer) error {
		start := time.Now()
		done := 0
		for round := 1; round <= mode.count; round++ {
			n, err := runRound(bin, benchArgs(filter, mode, 1, mode.benchtime), w, stderr, func(name string) {
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

// runRound runs the benchmark binary once with args, copying its output to
// w and calling result with the name of each result line. It returns the
// number of results.
func runRound(bin string, args []string, w, stderr io.Writer, result func(name string)) (int, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stderr = stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting %s: %w", bin, err)
	}
	n := 0
	sc := bufio.NewScanner(pipe)
	var failed []string
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(w, line)
		switch {
		case strings.HasPrefix(line, "Benchmark") && strings.Contains(line, "\t"):
			n++
			name, _, _ := strings.Cut(line, "\t")
			result(strings.TrimSpace(name))
		case strings.HasPrefix(line, "--- FAIL"), strings.HasPrefix(line, "FAIL"), strings.Contains(line, "panic:"):
			failed = append(failed, strings.TrimSpace(line))
		}
	}
	if err := cmd.Wait(); err != nil {
		return n, fmt.Errorf("benchmark run failed (%v): %s", err, strings.Join(failed, "; "))
	}
	return n, nil
}

// listBenchmarks runs every matching benchmark once for one iteration and
// returns the names of those that produced a result, showing each on
// stderr as it comes (on a large or emulated machine the dry run takes a
// while).
func listBenchmarks(bin, filter string, mode tuneMode, stderr io.Writer) ([]string, error) {
	var names []string
	var out bytes.Buffer
	n, err := runRound(bin, benchArgs(filter, mode, 1, "1x"), &out, stderr, func(name string) {
		names = append(names, name)
		fmt.Fprintf(stderr, "\rdry run: %d benchmarks listed, last %-60.60s", len(names), name)
	})
	if n > 0 {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return nil, fmt.Errorf("benchmark dry run with %s failed: %v %s", bin, err, lastLines(out.String(), 3))
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
