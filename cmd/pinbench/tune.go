package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pinbench/pinbench/internal/outlier"
	"github.com/pinbench/pinbench/matrix/measure"
	"github.com/pinbench/pinbench/tune"
)

// cmdTune is `pinbench tune`; main.go lists it in commands.
var cmdTune = &command{
	name:    "tune",
	summary: "the per-machine tuning run: matrix, benchmarks, report with recommendations",
	args:    "[--full] [--out DIR [--force]] [--threads N --pattern P | --graph FILE] [flags]",
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
long it would take. With --threads N --pattern P (or --graph FILE) it
then places the threads as pinbench place does, from the run's own
results, for its recommended wait mode, on its allowed CPUs, verifies the
placement here against the baselines, and puts it in report.md, after
the summary, and in placement.json; more threads than the run's CPUs is
refused before measuring.`,
	run: runTune,
}

// runTune implements `pinbench tune`: the flags into tune.Options, then
// tune.Plan, or tune.Run under a context that SIGINT and SIGTERM cancel,
// with its summary on stdout.
func runTune(args []string, stdout, stderr io.Writer) error {
	o, plan, err := tuneOptions(args, stdout)
	if err != nil {
		return err
	}
	if plan {
		return tuneError(tune.Plan(context.Background(), o, stdout, stderr))
	}
	// SIGINT and SIGTERM end the run: the child of the round is stopped,
	// the staging folder removed, and nothing is presented as complete.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := tune.Run(ctx, o, stderr)
	if err != nil {
		return tuneError(err)
	}
	fmt.Fprint(stdout, res.Summary)
	fmt.Fprintf(stderr, "done in %v\n", res.Elapsed.Round(time.Second))
	return nil
}

// tuneOptions parses tune's flags into the options of a run, and whether
// --plan asks for its plan instead. The flags' own mistakes are usage
// errors here; tune.Run and tune.Plan check the options.
func tuneOptions(args []string, stdout io.Writer) (o tune.Options, plan bool, err error) {
	o = tune.Defaults(tune.Quick)
	fs := newFlagSet("tune", stdout)
	full := fs.Bool("full", false, "full run: 10 samples of each benchmark, -benchtime 500ms and the poll-window sweep")
	fs.BoolVar(&o.Sweep, "sweep", false, "also run the adaptive poll-window sweep of BenchmarkHandoff (--full always does)")
	fs.StringVar(&o.Out, "out", "", "write the run into `DIR` (default results/<machine-id>/<UTC time>-quick|full, and results/<machine-id>/latest points at it)")
	fs.BoolVar(&o.Force, "force", false, "with --out: replace the results already in DIR")
	fs.StringVar(&o.BenchBin, "bench-bin", "", "run the suite with this prebuilt benchmark `binary` (go test -c ./bench) instead of this program's own")
	fs.IntVar(&o.Count, "count", 0, "samples per benchmark, one per interleaved round of the suite, at most 100 (default 6, or 10 with --full)")
	fs.StringVar(&o.Benchtime, "benchtime", "", "run each benchmark for `d`, a duration or Nx iterations (default 100ms, or 500ms with --full)")
	fs.StringVar(&o.Bench, "bench", ".", "run only benchmarks matching this `regexp` (as go test -bench)")
	fs.IntVar(&o.MatrixReps, "matrix-reps", 0, "repetitions per latency-matrix pair (default 5, or 11 with --full)")
	fs.IntVar(&o.MatrixTransfers, "matrix-transfers", 0, "one-way transfers per matrix repetition (default 20000, or 50000 with --full)")
	parallel := fs.Bool("parallel", false, fmt.Sprintf("measure disjoint matrix pairs at once, then check a sample of cells alone (the report warns when they disagree); the default for every pair of more than %d CPUs (--full), where --parallel=false measures one pair at a time", measure.ParallelAbove))
	fs.BoolVar(&plan, "plan", false, "print what quick and full mode would run (classes and pairs, matrix pairs, benchmarks, estimated duration) without measuring")
	fs.StringVar(&o.Root, "root", "", "with --plan: plan for the machine of the sysfs capture in `DIR` (or a .tar.gz/.tar.bz2 of one) instead of this one")
	fs.BoolVar(&o.ExplainOutliers, "explain-outliers", false, "after the timed rounds, one traced round of the via=aio handoffs with the execution tracer's flight recorder: the moments before each slow sampled hop go to <run folder>/outliers/NAME-N.trace, and report.md says what each shows")
	fs.Float64Var(&o.OutlierFactor, "outlier-factor", outlier.DefaultFactor, "with --explain-outliers: a sampled hop slower than this many times the running median is an outlier")
	fs.IntVar(&o.Threads, "threads", 0, "after measuring, place `N` threads of --pattern as pinbench place does (for the run's recommended wait mode, on its allowed CPUs), verify the placement here, and put it in report.md and placement.json")
	fs.StringVar(&o.Pattern, "pattern", "", "with --threads: the workload's `shape`: pairs, ring, fanin or all")
	fs.StringVar(&o.Graph, "graph", "", "place the workload of this graph `FILE` (JSON, as pinbench place --graph) instead of --threads and --pattern")
	pos, err := parseFlags(fs, args)
	switch {
	case err != nil:
		return o, false, err
	case len(pos) > 0:
		return o, false, usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	case *full:
		o.Mode = tune.Full
	}
	// Zero is the mode's figure; below it, a mistake.
	if o.Count < 0 || o.MatrixReps < 0 || o.MatrixTransfers < 0 || o.Threads < 0 {
		return o, false, usageError{"--count, --matrix-reps, --matrix-transfers and --threads must not be negative"}
	}
	switch { // left out, the run decides by the machine's size
	case !flagSet(fs, "parallel"):
	case *parallel:
		o.Parallel = tune.ParallelOn
	default:
		o.Parallel = tune.ParallelOff
	}
	if o.Out == "" && flagSet(fs, "out") {
		return o, false, usageError{"--out is empty: name a folder, or leave --out out for results/<machine-id>/"}
	}
	return o, plan, nil
}

// flagSet reports whether the command line set flag name.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// tuneError makes a mistake in the options (tune.OptionError) a usage
// error: exit status 2, and a pointer to the help.
func tuneError(err error) error {
	var oe *tune.OptionError
	if errors.As(err, &oe) {
		return usageError{oe.Msg}
	}
	return err
}
