package tune

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/bench"
	"github.com/pinbench/pinbench/internal/outlier"
	"github.com/pinbench/pinbench/matrix/measure"
)

// A Mode says how long and how carefully a run measures: Quick and Full
// are the presets.
type Mode struct {
	// Name names the mode in the run's folder (<UTC time>-<Name>) and in
	// bench.txt's tune-mode line.
	Name string
	// Count is the samples per benchmark, one per interleaved round of
	// the suite.
	Count int
	// Benchtime is each benchmark's -benchtime: a duration, or Nx
	// iterations.
	Benchtime string
	// Sweep adds the adaptive poll-window sweep to the suite.
	Sweep bool
	// Matrix is how hard each pair of the latency matrix is measured.
	Matrix measure.Params
	// SampleMatrix measures a stratified sample of the matrix
	// (measure.SamplePairs) rather than every pair.
	SampleMatrix bool
	// VerifyRounds and VerifyRunTime are how a placement (Options.Threads)
	// is verified: interleaved rounds, and each placement's run time in
	// a round (place.VerifyOptions; 0 for place's defaults).
	VerifyRounds  int
	VerifyRunTime time.Duration
}

var (
	// Quick takes about three minutes on two cores: six samples per
	// benchmark, the fewest benchstat needs for a confidence interval.
	Quick = Mode{Name: "quick", Count: 6, Benchtime: "100ms", Matrix: measure.Params{Reps: 5, Transfers: 20000}, SampleMatrix: true, VerifyRounds: 6, VerifyRunTime: 50 * time.Millisecond}
	// Full is for committed results: ten samples of longer runs and the
	// poll-window sweep.
	Full = Mode{Name: "full", Count: 10, Benchtime: "500ms", Sweep: true, Matrix: measure.Params{Reps: 11, Transfers: 50000}, VerifyRounds: 10, VerifyRunTime: 200 * time.Millisecond}
)

// Options are a tuning run's settings, one field per flag of pinbench
// tune (--full chooses the Mode; --plan calls Plan instead of Run). Start from Defaults: the zero Options has no mode, and its
// OutlierFactor of 0 is refused.
type Options struct {
	// Mode is the preset (tune --full; Quick without it).
	Mode Mode
	// Sweep adds the adaptive poll-window sweep to a mode without it
	// (--sweep; Full has it).
	Sweep bool
	// Count, Benchtime, MatrixReps and MatrixTransfers replace the
	// mode's figures when set (above 0, not empty; 0 or "" leaves the
	// mode's): --count, --benchtime, --matrix-reps, --matrix-transfers.
	Count           int
	Benchtime       string
	MatrixReps      int
	MatrixTransfers int
	// Parallel says whether the matrix measures disjoint pairs at once,
	// then a sample of cells again alone (--parallel, --parallel=false);
	// ParallelAuto, the zero value, by the machine's size.
	Parallel Parallelism
	// Bench runs only the benchmarks matching this regular expression,
	// as go test -bench ("." for all; --bench).
	Bench string
	// BenchBin runs the suite with this go test binary of ./bench
	// (go test -c ./bench) instead of the running program (--bench-bin;
	// the package documentation says what the running program must do).
	BenchBin string
	// Out is the run's folder (--out); "" for
	// results/<machine-id>/<UTC time>-<mode>, with
	// results/<machine-id>/latest pointing at the newest complete run.
	Out string
	// Force lets a run replace the results already in Out (--force).
	Force bool
	// ExplainOutliers adds one traced round of the via=aio handoffs with
	// the execution tracer's flight recorder: the moments before each slow
	// sampled hop go to <run folder>/outliers/NAME-N.trace, and report.md
	// says what each shows (--explain-outliers).
	ExplainOutliers bool
	// OutlierFactor: with ExplainOutliers, a sampled hop slower than this
	// many times the running median is an outlier; more than 1
	// (--outlier-factor).
	OutlierFactor float64
	// Root is, for Plan only, the sysfs capture to plan for: a folder,
	// or a .tar.gz or .tar.bz2 archive of one (--root).
	Root string
	// Threads threads of Pattern (place.Pattern: pairs, ring, fanin,
	// all), or the workload in the Graph file (place.ReadGraphFile), are
	// placed once the run is measured (--threads N --pattern P, --graph
	// FILE): planned with place from the run's own results for its
	// recommended wait mode on its allowed CPUs, then verified here
	// (Mode.VerifyRounds); report.md shows the placement after its
	// summary and PlacementFile keeps it. More threads than the run's
	// CPUs is an *OptionError, before measuring. 0 and "": none.
	Threads int
	Pattern string
	Graph   string
}

// Defaults returns the options of a run in mode m: the whole suite, the
// default outlier factor, the run in its own folder under results/.
func Defaults(m Mode) Options {
	return Options{Mode: m, Bench: ".", OutlierFactor: outlier.DefaultFactor}
}

// resolved is o's mode with o's figures in place of the mode's, where
// set: the one place where Count, Benchtime, MatrixReps, MatrixTransfers
// and Sweep apply.
func (o Options) resolved() Mode {
	m := o.Mode
	if o.Count > 0 {
		m.Count = o.Count
	}
	if o.Benchtime != "" {
		m.Benchtime = o.Benchtime
	}
	if o.MatrixReps > 0 {
		m.Matrix.Reps = o.MatrixReps
	}
	if o.MatrixTransfers > 0 {
		m.Matrix.Transfers = o.MatrixTransfers
	}
	m.Sweep = m.Sweep || o.Sweep
	return m
}

// Parallelism says whether the latency matrix measures disjoint pairs of
// CPUs at once (measure.ParallelRounds), then a sample of its cells again
// alone, or one pair at a time.
type Parallelism int

const (
	// ParallelAuto measures in parallel rounds where
	// measure.Options.DefaultParallel says so: every pair of a machine of
	// more than measure.ParallelAbove allowed CPUs (--full there).
	ParallelAuto Parallelism = iota
	// ParallelOn always measures in parallel rounds (--parallel).
	ParallelOn
	// ParallelOff measures one pair at a time (--parallel=false).
	ParallelOff
)

// matrixOptions are what the run asks of the matrix measurement on t in
// mode m.
func (o Options) matrixOptions(m Mode, t *affinity.Topology) measure.Options {
	mo := measure.Options{Params: m.Matrix, Sample: m.SampleMatrix}
	switch o.Parallel {
	case ParallelOn:
		mo.Parallel = true
	case ParallelAuto:
		mo.Parallel = mo.DefaultParallel(t)
	}
	return mo
}

// An OptionError is a mistake in Options (or in the command line that
// set them), found before anything is measured. Its message names the
// option by its pinbench tune flag.
type OptionError struct{ Msg string }

// Error returns the message.
func (e *OptionError) Error() string { return e.Msg }

// optionError returns an *OptionError of the formatted message.
func optionError(format string, args ...any) error {
	return &OptionError{fmt.Sprintf(format, args...)}
}

// MaxCount is the most samples per benchmark a run takes: at 100 the
// results file stays under about 25 MiB even on a large machine (see
// the arithmetic beside writeReport's report.ReadFiles), within what the
// report reads of one run (report.MaxInput).
const MaxCount = 100

// check refuses options no run (or, with plan, no plan) can take, with
// an *OptionError, in the order pinbench tune has always checked its
// flags.
func (o Options) check(plan bool) error {
	m := o.resolved()
	switch {
	case m.Count < 1 || m.Matrix.Reps < 1 || m.Matrix.Transfers < 1:
		return optionError("mode %q: want at least one sample, one matrix repetition and one transfer (count %d, matrix repetitions %d, transfers %d)", m.Name, m.Count, m.Matrix.Reps, m.Matrix.Transfers)
	case m.Count > MaxCount:
		return optionError("--count %d: want at most %d samples per benchmark (more would pass what the report reads of one run)", m.Count, MaxCount)
	case o.Force && o.Out == "":
		return optionError("--force needs --out: runs under results/<machine-id>/ never replace each other")
	}
	if err := checkBenchtime(m.Benchtime); err != nil {
		return &OptionError{err.Error()}
	}
	if _, err := bench.NewFilter(o.Bench); err != nil {
		return &OptionError{err.Error()}
	}
	if o.OutlierFactor <= 1 {
		return optionError("--outlier-factor %g: want more than 1", o.OutlierFactor)
	}
	if o.Root != "" && !plan {
		return optionError("--root needs --plan: a capture can be planned for, not measured")
	}
	return o.checkPlacement()
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
