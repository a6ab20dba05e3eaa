package tune

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/bench"
	"github.com/pinbench/pinbench/internal/atomicfile"
	"github.com/pinbench/pinbench/matrix"
	"github.com/pinbench/pinbench/matrix/measure"
	"github.com/pinbench/pinbench/place"
	"github.com/pinbench/pinbench/report"
)

// The files a tuning run writes into its folder.
const (
	RawFile        = "bench.txt"          // the benchmark results of every round, under the settings lines
	MatrixFile     = "matrix.csv"         // the latency matrix's medians
	MatrixLongFile = "matrix-samples.csv" // every sample of the latency matrix, with its class
	TopologyFile   = "topology.json"      // the machine's topology as discovered
	ReportFile     = "report.md"          // the report, with the heat map beside it
)

// Result is a complete tuning run.
type Result struct {
	// Dir is the run's folder, complete (a default-named run's is under
	// results/<Machine>/, where latest now points at it).
	Dir string
	// Machine is the machine's id (affinity.Topology.MachineID).
	Machine string
	// Topology is the machine as discovered.
	Topology *affinity.Topology
	// Matrix is the latency matrix, nil when only one CPU was allowed.
	Matrix *matrix.Matrix
	// Recommendations are the report's advice, withheld or not.
	Recommendations []report.Recommendation
	// Summary is the report's summary, one line each after its title,
	// ending with report.md's path: what pinbench tune prints.
	Summary string
	// Elapsed is how long the run took.
	Elapsed time.Duration
}

// Run runs the tuning run o asks for on this machine and returns it once
// its folder is complete: the topology, the latency matrix, the suite in
// interleaved rounds, each a child process (BenchBin, or the running
// program: see the package documentation), and the report. Progress goes
// to progress, which the child processes write to as well (Run serializes
// the writes). A mistake in o is an *OptionError, before anything is
// measured; so is a folder that holds results without Force. When ctx is
// done, the round's child is stopped, nothing is kept, and Run returns an
// error saying it was interrupted. A nil progress discards the progress.
func Run(ctx context.Context, o Options, progress io.Writer) (*Result, error) {
	if progress == nil {
		progress = io.Discard
	}
	if err := o.check(false); err != nil {
		return nil, err
	}
	prog, err := suiteProgram(o.BenchBin)
	if err != nil {
		return nil, err
	}
	r := &runner{ctx: ctx, o: o, mode: o.resolved(), prog: prog, started: time.Now(),
		// Child processes copy their stderr into progress from goroutines
		// of os/exec while the run prints to it: serialize the writes.
		progress: &lockedWriter{w: progress}}
	return r.run()
}

// runner is one tuning run under way.
type runner struct {
	ctx      context.Context
	o        Options
	mode     Mode // o's, resolved
	prog     suiteProg
	started  time.Time
	progress io.Writer
	folder   *runFolder
	res      Result
}

// stage prints the start of stage n of the run's five.
func (r *runner) stage(n int, what string) {
	fmt.Fprintf(r.progress, "[%d/5 %s] %s\n", n, time.Since(r.started).Round(time.Second), what)
}

func (r *runner) run() (*Result, error) {
	r.stage(1, "discovering the topology")
	t, err := affinity.Discover()
	if err != nil {
		return nil, err
	}
	run, err := r.checkBenchmarks(t)
	if err != nil {
		return nil, err
	}
	if err := r.o.checkPlacementRun(t, run); err != nil {
		return nil, err
	}
	r.res.Topology, r.res.Machine = t, t.MachineID()
	r.folder, err = newRunFolder(r.o.Out, r.res.Machine, runName(r.started, r.mode.Name, t), r.o.Force)
	if err != nil {
		return nil, err
	}
	defer r.folder.abort() // after a commit, nothing is left to remove
	r.folder.announce(r.progress, fmt.Sprintf("machine %s: %s", r.res.Machine, t.Summary()))
	if restricted(t) {
		fmt.Fprintf(r.progress, "warning: this run may use CPUs %s only, of the %s online: it measures part of the machine\n", t.Allowed, t.Online)
	}
	if err := atomicfile.Write(r.folder.path(TopologyFile), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(t.JSON())
	}); err != nil {
		return nil, err
	}
	if err := r.measureMatrix(t); err != nil {
		return nil, err
	}
	outliers, err := r.runSuite()
	defer outliers.discard()
	if err != nil {
		return nil, err
	}
	if err := r.writeReport(outliers); err != nil {
		return nil, err
	}
	r.res.Dir = r.folder.final
	r.res.Elapsed = time.Since(r.started)
	return &r.res, nil
}

// checkBenchmarks refuses a Bench that selects no benchmark that runs on
// t, from the catalogue or the test binary's plan: a mistake in the
// options. It returns the benchmarks that will run.
func (r *runner) checkBenchmarks(t *affinity.Topology) ([]string, error) {
	if r.prog.self {
		flt, err := bench.NewFilter(r.o.Bench)
		if err != nil {
			return nil, &OptionError{err.Error()}
		}
		run, _ := SuitePlan(t, flt, r.mode.Sweep)
		if len(run) == 0 {
			return nil, optionError("--bench %q matches no benchmark that runs on this machine", r.o.Bench)
		}
		return run, nil
	}
	run, _, err := planBenchmarks(r.prog, t, r.o.Bench, r.mode, "")
	if err != nil && strings.Contains(err.Error(), "no benchmark would run") {
		return nil, optionError("--bench %q matches no benchmark of %s that runs on this machine", r.o.Bench, r.prog.path)
	}
	return run, err
}

// measureMatrix is stage 2: the latency matrix, into the run's CSV files,
// unless only one CPU is allowed.
func (r *runner) measureMatrix(t *affinity.Topology) error {
	r.stage(2, "measuring the core-to-core latency matrix")
	if t.Allowed.Count() < 2 {
		fmt.Fprintf(r.progress, "only one allowed CPU (%s): no latency matrix\n", t.Allowed)
		return nil
	}
	m, err := measure.Matrix(r.ctx, t, r.o.matrixOptions(r.mode, t), r.progress)
	if err != nil {
		return interrupted(r.ctx, err)
	}
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{{MatrixFile, m.WriteCSV}, {MatrixLongFile, m.WriteLongCSV}} {
		if err := atomicfile.Write(r.folder.path(f.name), f.write); err != nil {
			return err
		}
	}
	r.res.Matrix = m
	return nil
}

// runSuite is stages 3 and 4: the benchmark program checked (and, with
// ExplainOutliers, its outlier recorder), the interleaved rounds into
// bench.txt, then the traced round. It returns the outlier run, nil
// without ExplainOutliers, for the report and to discard.
func (r *runner) runSuite() (*outlierRun, error) {
	r.stage(3, "benchmark program (checked before measuring): "+r.prog.String())
	var outliers *outlierRun
	if r.o.ExplainOutliers {
		var err error
		if outliers, err = startOutlierRun(r.ctx, r.folder.staging(), r.prog, r.o.OutlierFactor); err != nil {
			return nil, err
		}
	}
	m := r.mode
	what := fmt.Sprintf("running the benchmarks (%d interleaved rounds, -benchtime %s)", m.Count, m.Benchtime)
	if m.Sweep {
		what = strings.TrimSuffix(what, ")") + ", poll-window sweep)"
	}
	r.stage(4, what)
	settings := []bench.ConfigLine{{Key: "tune-mode", Value: m.Name}, {Key: "benchtime", Value: m.Benchtime}, {Key: "count", Value: fmt.Sprint(m.Count)}}
	if err := runBenchmarks(r.ctx, r.prog, r.o.Bench, m, settings, r.folder.path(RawFile), r.progress); err != nil {
		return outliers, interrupted(r.ctx, err)
	}
	if err := outliers.round(r.ctx, r.o.Bench, m, r.stage, r.progress); err != nil {
		return outliers, interrupted(r.ctx, err)
	}
	return outliers, nil
}

// writeReport is stage 5: the placement, when asked for, the report,
// with the outliers explained, and the run committed to its final
// folder.
func (r *runner) writeReport(outliers *outlierRun) error {
	what := "writing the report"
	if r.o.wantsPlacement() {
		what = "placing " + r.o.placementWhat() + ", verifying the placement, and writing the report"
	}
	r.stage(5, what)
	// Within report.MaxInput (64 MiB) by far: a round writes at most the
	// suite's 230 leaves (as many on any machine) at under 1 KiB a result
	// line, under 16 KiB of configuration lines even with 1024 CPUs, so
	// under 250 KiB, and a full run's 10 rounds under 2.5 MiB (the matrix
	// has files of its own); MaxCount's 100 rounds stay under 25 MiB.
	run, err := report.ReadFiles(r.folder.path(RawFile))
	if err != nil {
		return err
	}
	var doc *place.Document
	var noPlace string
	if r.o.wantsPlacement() {
		doc, noPlace = r.placeRun(run)
	}
	opts := report.Options{Matrix: r.res.Matrix}
	if opts.Outliers, err = outliers.finish(); err != nil {
		return err
	}
	if err := r.folder.commit(r.progress, func(final string) error {
		if r.o.wantsPlacement() {
			if opts.Placement, err = r.placementSection(r.folder.staging(), final, doc, noPlace); err != nil {
				return err
			}
		}
		r.res.Summary, err = writeRunReport(r.folder.staging(), final, run, opts)
		if err != nil {
			return err
		}
		return interrupted(r.ctx, nil)
	}); err != nil {
		return err
	}
	r.res.Recommendations = report.Recommend(run, opts.Thresholds)
	return nil
}

// writeRunReport writes the report of run, read from the staging folder,
// into staging for the run's final folder, and returns its summary. Both
// name the files read ("Built from") and report.md where they will be,
// in final: the staging folder is gone once the run is committed.
func writeRunReport(staging, final string, run *report.Run, opts report.Options) (string, error) {
	run.Name = filepath.Join(final, RawFile)
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
