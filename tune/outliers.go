package tune

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"github.com/pinbench/pinbench/internal/atomicfile"
	"github.com/pinbench/pinbench/report"
)

// Outlier explanation in the tuning run (Options.ExplainOutliers, tune
// --explain-outliers): after the timed rounds, one more round of the
// via=aio handoffs runs with the benchmark binary's -explain-outliers, its
// trace files and output going
// to a staging folder inside the run's folder; the report explains each
// file, and only then does the staging folder become <out>/outliers, so
// that the folder holds a whole run's outliers or none. The traced round
// is extra: the flight recorder costs time, so its timings stay out of
// bench.txt and the tables.

const (
	// OutliersDir is the run folder's outlier folder.
	OutliersDir = "outliers"
	// TracedRawFile is the traced round's benchmark output, in OutliersDir.
	TracedRawFile = "bench-traced.txt"
	// outlierFilter is the traced round's benchmarks when tune runs them
	// all: the via=aio handoffs, the ones that watch their samples.
	outlierFilter = "^BenchmarkHandoff$/^via=aio"
)

// outlierRun is the outlier part of one tuning run. A nil *outlierRun is
// a run without ExplainOutliers: its methods do nothing.
type outlierRun struct {
	dir    *atomicfile.Folder // becomes <run folder>/outliers
	prog   suiteProg
	factor float64
}

// startOutlierRun makes the staging folder in dir and checks that prog can
// explain outliers: it runs the program's set-up with -explain-outliers
// and no benchmark, so a flight recorder that cannot start (or a binary
// without the flag) fails the run with the program's own line, before the
// benchmarks.
func startOutlierRun(ctx context.Context, dir string, prog suiteProg, factor float64) (*outlierRun, error) {
	staging, err := atomicfile.Stage(filepath.Join(dir, OutliersDir))
	if err != nil {
		return nil, fmt.Errorf("--explain-outliers: %w", err)
	}
	o := &outlierRun{dir: staging, prog: prog, factor: factor}
	probe := prog.command(ctx, append([]string{"-test.run", "^$", "-test.bench", "^$"}, o.flags()...))
	if out, err := childOutput(probe, true); err != nil {
		o.discard()
		return nil, fmt.Errorf("--explain-outliers: the benchmark binary %s cannot explain outliers (%v): %s", prog.path, err, lastLines(string(out), 1))
	}
	return o, nil
}

// flags are the benchmark binary's outlier flags.
func (o *outlierRun) flags() []string {
	return []string{"-explain-outliers", "-outlier-dir", o.dir.Path(), "-outlier-factor", strconv.FormatFloat(o.factor, 'g', -1, 64)}
}

// round runs the traced round, announced as stage 4 with stage: the
// benchmarks of filter that watch their samples (the via=aio handoffs when
// filter is everything), once, at the mode's benchmark time, showing
// progress on stderr.
func (o *outlierRun) round(ctx context.Context, filter string, mode Mode, stage func(int, string), stderr io.Writer) error {
	if o == nil {
		return nil
	}
	stage(4, "explaining outliers: one traced round of the via=aio handoffs (not in the tables)")
	if filter == "." {
		filter = outlierFilter
	}
	args := append(benchArgs(filter, mode, 1, mode.Benchtime), o.flags()...)
	return atomicfile.Write(filepath.Join(o.dir.Path(), TracedRawFile), func(w io.Writer) error {
		done := 0
		_, err := runRound(ctx, o.prog, args, w, stderr, func(name string) {
			done++
			fmt.Fprintf(stderr, "\rexplain: %d results, last %-50.50s", done, name)
		})
		fmt.Fprintln(stderr)
		if err != nil {
			return fmt.Errorf("the traced round for --explain-outliers: %w", err)
		}
		return nil
	})
}

// finish explains the staging folder's trace files, naming them as they
// will be named in the run folder (outliers/NAME-N.trace), then makes the
// staging folder the run folder's outliers folder, replacing an earlier
// run's.
func (o *outlierRun) finish() ([]report.OutlierExplanation, error) {
	if o == nil {
		return nil, nil
	}
	explained, err := report.ExplainOutliers(o.dir.Path(), OutliersDir)
	if err != nil {
		return nil, err
	}
	return explained, o.dir.Commit(true)
}

// discard removes the staging folder unless it was committed.
func (o *outlierRun) discard() {
	if o != nil {
		o.dir.Discard()
	}
}
