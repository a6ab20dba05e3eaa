package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/atomicfile"
	"github.com/pinbench/pinbench/matrix/measure"
	"github.com/pinbench/pinbench/report"
)

// cmdMatrix is `pinbench matrix`; main.go lists it in commands.
var cmdMatrix = &command{
	name:    "matrix",
	summary: "measure the core-to-core latency matrix (cache-line ping-pong)",
	args:    "[flags]",
	about: `Measures the one-way latency of a cache-line transfer between pairs of
allowed CPUs (each pinned thread spinning on the line) and prints the
matrix in nanoseconds: each cell the median of --reps repetitions, then
each measured pair's spread over the repetitions (p10-p90) and a warning
for pairs whose repetitions disagree. The --csv and --long-csv files are
checked (their folder exists and can be written) before measuring.`,
	run: runMatrix,
}

func runMatrix(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("matrix", stdout)
	reps := fs.Int("reps", 7, "repetitions per CPU pair (the cell is their median)")
	transfers := fs.Int("transfers", 20000, "one-way transfers per repetition")
	sample := fs.Bool("sample", false, "measure a stratified sample of the pairs (every class, CPU 0 against each package and node) instead of all of them")
	parallel := fs.Bool("parallel", false, "measure disjoint pairs at once (each CPU in one pair per round), then check a sample of cells alone")
	csvPath := fs.String("csv", "", "also write the matrix as CSV (medians) to this file")
	longPath := fs.String("long-csv", "", "also write every sample as long CSV to this file")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	if *reps < 1 || *transfers < 2 {
		return usageError{"--reps must be at least 1 and --transfers at least 2"}
	}
	t, err := affinity.Discover()
	if err != nil {
		return err
	}
	csv, err := openOutput("--csv", *csvPath)
	if err != nil {
		return err
	}
	defer csv.discard()
	long, err := openOutput("--long-csv", *longPath)
	if err != nil {
		return err
	}
	defer long.discard()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m, err := measure.Matrix(ctx, t, measure.Options{Params: measure.Params{Reps: *reps, Transfers: *transfers}, Sample: *sample, Parallel: *parallel}, stderr)
	if err != nil {
		return err
	}
	if err := m.WriteText(stdout); err != nil {
		return err
	}
	for _, w := range (report.Thresholds{}).MatrixWarnings(m, nil) {
		fmt.Fprintf(stderr, "warning: %s: %s\n", w.Title, w.Message)
	}
	if err := csv.commit(m.WriteCSV); err != nil {
		return err
	}
	return long.commit(m.WriteLongCSV)
}

// output is a file the matrix command writes after measuring, started
// (its temporary file made beside path) before measuring, so that a path
// that cannot be written fails first. A nil output is no file.
type output struct {
	path string
	f    *atomicfile.File
}

// openOutput starts the file path ("": none) for flag, refusing a
// folder and a path whose folder does not exist or cannot be written.
func openOutput(flag, path string) (*output, error) {
	if path == "" {
		return nil, nil
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s %s is a folder: name a file", flag, path)
	}
	if dir := filepath.Dir(path); !isDir(dir) {
		return nil, fmt.Errorf("%s %s: %s is not a folder (or does not exist)", flag, path, dir)
	}
	f, err := atomicfile.New(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return &output{path: path, f: f}, nil
}

// isDir reports whether path is a folder (or a link to one).
func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// commit writes the file with write and puts it in place.
func (o *output) commit(write func(io.Writer) error) error {
	if o == nil {
		return nil
	}
	if err := write(o.f); err != nil {
		o.f.Discard()
		return fmt.Errorf("writing %s: %w", o.path, err)
	}
	return o.f.Commit()
}

// discard removes the file unless committed.
func (o *output) discard() {
	if o != nil {
		o.f.Discard()
	}
}
