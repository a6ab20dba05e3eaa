package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/atomicfile"
)

// A tuning run writes into a results folder that is complete or absent:
// everything goes into a hidden staging folder beside the target, renamed
// into place only when the report is written. Without --out, each run
// gets a folder of its own, results/<machine-id>/<UTC time>-<mode>, and
// results/<machine-id>/latest (a relative symbolic link) points at the
// newest complete one; an explicit --out that already holds results is
// refused unless --force replaces it.

// latestLink is the symbolic link to a machine's newest complete run.
const latestLink = "latest"

// stagingMark is in the name of every staging folder.
const stagingMark = atomicfile.StagingMark

// resultFiles are the files that mark a folder as holding results.
var resultFiles = []string{rawFile, reportFile, topologyFile, matrixFile, matrixLongFile, outliersDir}

// runFolder is where one tuning run writes, and where it ends up.
type runFolder struct {
	final  string             // the folder the run is presented in when complete
	dir    *atomicfile.Folder // where it is written meanwhile (hidden, beside final)
	latest string             // the link to point at final, "" for an explicit --out
	force  bool               // replace a final folder that already holds results
}

// runName is the name of a run's folder under results/<machine-id>/: the
// UTC start time and the mode, and, for a run restricted to some of the
// machine's CPUs (taskset, a cpuset), the CPUs it was allowed
// ("-cpus0-3_8": ranges joined by underscores).
func runName(start time.Time, mode string, t *affinity.Topology) string {
	name := start.UTC().Format("20060102T150405Z") + "-" + mode
	if restricted(t) {
		name += "-cpus" + strings.ReplaceAll(t.Allowed.String(), ",", "_")
	}
	return name
}

// restricted reports whether the run may use only part of the online CPUs.
func restricted(t *affinity.Topology) bool {
	return !t.Online.IsEmpty() && t.Allowed.Count() < t.Online.Count()
}

// newRunFolder checks that the run can be written (before anything is
// measured) and creates its staging folder. With out == "", the run goes
// to results/<machineID>/<name> (name made unique with a counter); with
// an explicit out, there, refused when out holds results unless force.
func newRunFolder(out, machineID, name string, force bool) (*runFolder, error) {
	f := &runFolder{final: out, force: force}
	if out == "" {
		base := filepath.Join("results", machineID)
		f.final = filepath.Join(base, name)
		for i := 2; exists(f.final); i++ {
			f.final = filepath.Join(base, fmt.Sprintf("%s-%d", name, i))
		}
		f.latest = filepath.Join(base, latestLink)
	} else if err := checkOut(out, force); err != nil {
		return nil, err
	}
	parent := filepath.Dir(f.final)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create output folder %s: %w", parent, err)
	}
	dir, err := atomicfile.Stage(f.final)
	if err != nil {
		return nil, fmt.Errorf("cannot write into output folder %s: %w", parent, errors.Unwrap(err))
	}
	f.dir = dir
	return f, nil
}

// checkOut refuses an explicit --out that is a file, holds results
// (unless force), or holds anything else (force or not: it is not ours
// to replace).
func checkOut(out string, force bool) error {
	st, err := os.Stat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("output folder %s: %w", out, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("output folder %s is a file", out)
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		return fmt.Errorf("output folder %s: %w", out, err)
	}
	if len(ents) == 0 {
		return nil
	}
	for _, name := range resultFiles {
		if exists(filepath.Join(out, name)) {
			if force {
				return nil
			}
			return usageError{fmt.Sprintf("output folder %s already holds results (%s); pass --force to replace them, or choose another --out", out, name)}
		}
	}
	return fmt.Errorf("output folder %s is not empty and holds no pinbench results (%s, ...): not replacing it", out, ents[0].Name())
}

// staging is the folder the run is written into until commit ("" after).
func (f *runFolder) staging() string { return f.dir.Path() }

// path is the staging path of a file of the run.
func (f *runFolder) path(name string) string { return filepath.Join(f.staging(), name) }

// commit presents the complete run: the staging folder renamed to the
// final name (replacing an old run there under --force) and latest
// pointed at it.
func (f *runFolder) commit() error {
	if err := f.dir.Commit(f.force); err != nil {
		return err
	}
	if f.latest != "" {
		return atomicfile.Symlink(filepath.Base(f.final), f.latest)
	}
	return nil
}

// abort removes the staging folder of a run that did not complete.
func (f *runFolder) abort() { f.dir.Discard() }

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
