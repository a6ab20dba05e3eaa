package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pinbench/pinbench/matrix"
	"github.com/pinbench/pinbench/report"
)

// compare --out writes a fleet report (report.Fleet) of its runs into a
// folder: fleet.md and every machine's heat map in one picture. The
// checks below run before any run is read, so that a mistaken command
// line costs nothing and prints one line.

// checkFleetArgs checks compare's --out and --force and, with --out, that
// every run is a results folder: a fleet report needs each run's heat map
// beside its bench.txt.
func checkFleetArgs(out string, force bool, runs []string) error {
	if out == "" {
		if force {
			return usageError{"--force applies to --out only: compare writes no files without it"}
		}
		return nil
	}
	for _, p := range runs {
		if err := checkResultsFolder(p); err != nil {
			return err
		}
	}
	return checkFleetOut(out, force)
}

// checkResultsFolder refuses a run that is not a results folder (a folder
// holding bench.txt): missing is a failure, a file a usage error.
func checkResultsFolder(p string) error {
	st, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: no such results folder", p)
	case err != nil:
		return err
	case !st.IsDir():
		return usageError{fmt.Sprintf("%s is a file, not a results folder: compare --out reads results folders (their %s and latency matrix)", p, rawFile)}
	}
	_, err = rawPath(p)
	return err
}

// checkFleetOut refuses an --out folder that holds files, unless force,
// and always one that is a results folder: replacing a run's folder with
// a fleet report would lose the run.
func checkFleetOut(dir string, force bool) error {
	if _, err := os.Stat(filepath.Join(dir, rawFile)); err == nil {
		return usageError{fmt.Sprintf("output folder %s is a results folder (it holds %s): not replacing it with a fleet report; choose another --out", dir, rawFile)}
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("output folder %s: %w", dir, err)
	case !st.IsDir():
		return fmt.Errorf("output folder %s is a file", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("output folder %s: %w", dir, err)
	}
	if len(ents) > 0 && !force {
		return usageError{fmt.Sprintf("output folder %s is not empty; pass --force to replace it with the fleet report, or choose another --out", dir)}
	}
	return nil
}

// folderLatency returns the latency matrix of the results folder dir (its
// matrix-samples.csv, else its matrix.csv) read as report reads it; nil
// when it has neither.
func folderLatency(dir string) (*matrix.Matrix, error) {
	path := folderMatrix(dir)
	if path == "" {
		return nil, nil
	}
	return readMatrix(path, dir)
}

// folderMatrix returns the latency matrix file of folder dir: its
// matrix-samples.csv (with the samples), else its matrix.csv; "" when it
// holds neither.
func folderMatrix(dir string) string {
	for _, name := range []string{matrixLongFile, matrixFile} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// fleetMatrices reads the latency matrix of each results folder.
func fleetMatrices(dirs []string) ([]*matrix.Matrix, error) {
	out := make([]*matrix.Matrix, len(dirs))
	for i, d := range dirs {
		m, err := folderLatency(d)
		if err != nil {
			return nil, err
		}
		out[i] = m
	}
	return out, nil
}

// writeFleet builds the fleet report of runs and writes it into dir,
// creating dir's parent folders when missing (and removing them again
// when the report cannot be written), then prints its path.
func writeFleet(stdout io.Writer, dir string, force bool, runs []*report.Run, matrices []*matrix.Matrix) error {
	f, err := report.BuildFleet(runs, matrices, report.Thresholds{})
	if err != nil {
		return err
	}
	parent := filepath.Dir(filepath.Clean(dir))
	created, err := mkdirs(parent)
	if err != nil {
		return err
	}
	if err := report.WriteFleet(dir, f, force); err != nil {
		if created != "" {
			removeEmpty(created, parent)
		}
		return err
	}
	fmt.Fprintf(stdout, "fleet report: %s\n", dir)
	return nil
}

// mkdirs creates dir and its missing parents, returning the outermost
// folder it created ("" when dir was there).
func mkdirs(dir string) (string, error) {
	top := ""
	for p := dir; ; p = filepath.Dir(p) {
		if _, err := os.Stat(p); err == nil || p == filepath.Dir(p) {
			break
		}
		top = p
	}
	if top == "" {
		return "", nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cannot create output folder %s: %w", dir, err)
	}
	return top, nil
}

// removeEmpty removes the empty folders mkdirs made, from dir up to top.
func removeEmpty(top, dir string) {
	for p := dir; ; p = filepath.Dir(p) {
		if os.Remove(p) != nil || p == top {
			return
		}
	}
}
