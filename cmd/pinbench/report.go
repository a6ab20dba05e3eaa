package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/matrix"
	"github.com/pinbench/pinbench/report"
)

// cmdReport is `pinbench report`; main.go lists it in commands.
var cmdReport = &command{
	name:    "report",
	summary: "rebuild report.md (and the heat map) from a results folder or raw benchmark files",
	args:    "[--out DIR [--force]] [--matrix CSV] FOLDER | FILE...",
	about: `Reads a tuning run's results folder (its bench.txt and latency matrix)
or raw benchmark files in Go's benchmark format, and writes report.md with
the heat map into --out (default: the folder, or the first file's folder).
Prints the report's summary. A folder that holds another run's bench.txt
keeps its report.md unless --force is given. Nothing is written when a
file cannot be read, and an --out folder it had to create is removed
again when the report cannot be written.`,
	run: runReport,
}

// cmdCompare is `pinbench compare`; main.go lists it in commands.
var cmdCompare = &command{
	name:    "compare",
	summary: "compare machines or runs by placement class (benchstat-style)",
	args:    "[--markdown] [--out DIR [--force]] FOLDER|FILE FOLDER|FILE...",
	about: `Puts two or more results folders (or raw benchmark files) side by side:
one table per placement class and unit, a column per run, each compared
with the first (benchstat's -table /place -col .file). Warns when the runs
used different settings (quick against full mode, another benchtime or
count), as recorded in their bench.txt.

With --out, the runs must be results folders, and compare also writes a
fleet report into DIR and prints its path: fleet.md (a row per machine, a
column per placement class: the handoff at the machine's recommended wait
strategy and the floor; then each machine's recommendations and the
warnings) and heatmaps.svg and heatmaps.png (every machine's heat map side
by side on one colour scale). DIR is written complete or not at all; one
that holds files is replaced only with --force, and a results folder
never.`,
	run: runCompare,
}

// rawPath returns the benchmark file of a results folder (its bench.txt),
// or p itself when it is a file.
func rawPath(p string) (string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return p, nil
	}
	raw := filepath.Join(p, rawFile)
	if _, err := os.Stat(raw); err != nil {
		return "", fmt.Errorf("%s is a folder without %s: not a results folder", p, rawFile)
	}
	return raw, nil
}

func runReport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", stdout)
	out := fs.String("out", "", "write report.md and the heat map into `DIR` (default: the results folder, or the first file's folder)")
	force := fs.Bool("force", false, "replace report.md in a folder that holds another run's bench.txt")
	matrixFlag := fs.String("matrix", "", "latency matrix `CSV` (default: matrix-samples.csv or matrix.csv beside the first file, when present)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usageError{"name a results folder or at least one raw benchmark file"}
	}
	files := make([]string, len(pos))
	for i, p := range pos {
		if files[i], err = rawPath(p); err != nil {
			return err
		}
	}
	run, err := report.ReadFiles(files...)
	if err != nil {
		return err
	}
	var m *matrix.Matrix
	path := *matrixFlag
	if path == "" {
		path = folderMatrix(filepath.Dir(files[0]))
	}
	if path != "" {
		if m, err = readMatrix(path, filepath.Dir(files[0])); err != nil {
			return err
		}
	}
	placement, err := folderPlacement(filepath.Dir(files[0]))
	if err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = filepath.Dir(files[0])
	}
	if err := checkReportOut(dir, files, *force); err != nil {
		return err
	}
	created, err := ensureDir(dir)
	if err != nil {
		return err
	}
	summary, err := report.WriteReport(dir, run, report.Options{Matrix: m, Placement: placement})
	if err != nil {
		if created {
			os.Remove(dir) // only if still empty
		}
		return err
	}
	fmt.Fprint(stdout, summary)
	return nil
}

// checkReportOut refuses, unless force, to write report.md into dir when
// dir holds a bench.txt that is none of the files read: that folder is
// another run's, and its report.md is the report of that run (tune
// refuses such an --out likewise).
func checkReportOut(dir string, files []string, force bool) error {
	st, err := os.Stat(filepath.Join(dir, rawFile))
	if force || err != nil {
		return nil // no bench.txt there, or one that writing will report
	}
	for _, f := range files {
		if fst, err := os.Stat(f); err == nil && os.SameFile(st, fst) {
			return nil
		}
	}
	return usageError{fmt.Sprintf("output folder %s holds another run's %s; pass --force to replace its %s, or choose another --out", dir, rawFile, reportFile)}
}

// ensureDir creates dir (and its parents) when missing, reporting whether
// it did, so that a command that then fails can remove what it made.
func ensureDir(dir string) (created bool, err error) {
	st, err := os.Stat(dir)
	switch {
	case err == nil && st.IsDir():
		return false, nil
	case err == nil:
		return false, fmt.Errorf("output folder %s is a file", dir)
	case !errors.Is(err, fs.ErrNotExist):
		return false, fmt.Errorf("output folder %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("cannot create output folder %s: %w", dir, err)
	}
	return true, nil
}

func runCompare(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("compare", stdout)
	markdown := fs.Bool("markdown", false, "print Markdown tables instead of text")
	out := fs.String("out", "", "also write a fleet report (fleet.md, heatmaps.svg, heatmaps.png) of the results folders into `DIR`")
	force := fs.Bool("force", false, "with --out, replace a DIR that holds files")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return usageError{"compare takes two or more results folders or raw benchmark files"}
	}
	if err := checkFleetArgs(*out, *force, pos); err != nil {
		return err
	}
	runs := make([]*report.Run, len(pos))
	for i, p := range pos {
		raw, err := rawPath(p)
		if err != nil {
			return err
		}
		r, err := report.ReadFiles(raw)
		if err != nil {
			return err
		}
		r.Name = p
		runs[i] = r
	}
	var matrices []*matrix.Matrix
	if *out != "" {
		if matrices, err = fleetMatrices(pos); err != nil {
			return err
		}
	}
	for _, w := range report.CompareWarnings(runs...) {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	tables, err := report.Compare(runs...)
	if err != nil {
		return err
	}
	opts := report.RenderOptions{}
	write := tables.WriteText
	if *markdown {
		write = tables.WriteMarkdown
	}
	if err := write(stdout, opts); err != nil || *out == "" {
		return err
	}
	return writeFleet(stdout, *out, *force, runs, matrices)
}

// readMatrix reads the latency matrix at path for the run in runDir. When
// runDir holds the run's topology.json (a results folder) it accepts only
// that machine's online CPUs, so that a hostile or mistaken file cannot
// name CPUs the machine never had (matrix.ReadFileIn); otherwise it takes
// matrix.ReadFile's general bound.
func readMatrix(path, runDir string) (*matrix.Matrix, error) {
	cpus, ok, err := runOnlineCPUs(filepath.Join(runDir, topologyFile))
	if err != nil {
		return nil, err
	}
	if !ok {
		return matrix.ReadFile(path)
	}
	return matrix.ReadFileIn(path, cpus)
}

// maxTopologyJSON bounds the topology.json read: a 4096-CPU machine's is
// about 2 MiB.
const maxTopologyJSON = 16 << 20

// runOnlineCPUs returns the online CPUs the topology.json at path records;
// ok is false when there is no such file.
func runOnlineCPUs(path string) (cpus affinity.CPUSet, ok bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cpus, false, nil
	} else if err != nil {
		return cpus, false, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() || st.Size() > maxTopologyJSON {
		return cpus, false, fmt.Errorf("%s: not a regular file of at most %d MiB", path, maxTopologyJSON>>20)
	}
	var j affinity.TopologyJSON
	if err := json.NewDecoder(io.LimitReader(f, maxTopologyJSON)).Decode(&j); err != nil {
		return cpus, false, fmt.Errorf("%s: %w", path, err)
	}
	if cpus, err = affinity.ParseList(j.Online); err != nil || cpus.Count() == 0 {
		return cpus, false, fmt.Errorf("%s: online CPUs %q: not a CPU list (%v)", path, j.Online, err)
	}
	return cpus, true, nil
}
