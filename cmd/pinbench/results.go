package main

import (
	"errors"
	"fmt"
	"io"
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
	name   string             // the run's name before a counter, for a default final
	latest string             // the link to point at final, "" for an explicit --out
	force  bool               // replace a final folder that already holds results (--out only)
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
// to results/<machineID>/<name> (name made unique with a counter, again
// at commit if another run took it meanwhile); with an explicit out,
// there, refused when out holds results unless force.
func newRunFolder(out, machineID, name string, force bool) (*runFolder, error) {
	f := &runFolder{final: out, force: force}
	if out == "" {
		f.name, f.force = name, false // a free name: nothing to replace
		base := filepath.Join("results", machineID)
		f.final = f.free(filepath.Join(base, name))
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

// free returns path, or the first of path-2, path-3, ... that is free.
func (f *runFolder) free(path string) string {
	for i := 2; exists(path); i++ {
		path = filepath.Join(filepath.Dir(path), fmt.Sprintf("%s-%d", f.name, i))
	}
	return path
}

// commit presents the complete run: write (the files that name the final
// folder) called with the final path, the staging folder renamed to it
// (replacing an old run there under --force) and latest pointed at it. A
// default-named run whose folder another run (started in the same
// second) took meanwhile takes the next free name, saying so on stderr,
// and write is called again with it.
func (f *runFolder) commit(stderr io.Writer, write func(final string) error) error {
	for {
		if err := write(f.final); err != nil {
			return err
		}
		err := f.dir.Commit(f.force)
		if err == nil {
			break
		}
		if f.latest == "" || !errors.Is(err, fs.ErrExist) {
			return err
		}
		taken := f.final
		f.final = f.free(taken)
		f.dir.Retarget(f.final)
		fmt.Fprintf(stderr, "%s was taken by another run meanwhile: this run is %s\n", taken, f.final)
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
