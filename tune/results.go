package tune

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
// into place only when the report is written. Without Out (--out), each
// run gets a folder of its own, results/<machine-id>/<UTC time>-<mode>,
// and results/<machine-id>/latest (a relative symbolic link) points at the
// newest complete one; an explicit --out that already holds results is
// refused unless --force replaces it.

// LatestLink is the symbolic link, in results/<machine-id>/, to the
// machine's newest complete run.
const LatestLink = "latest"

// resultFiles are the files that mark a folder as holding results.
var resultFiles = []string{RawFile, ReportFile, TopologyFile, MatrixFile, MatrixLongFile, OutliersDir, PlacementFile}

// runFolder is where one tuning run writes, and where it ends up.
type runFolder struct {
	final  string             // the folder the run is presented in when complete
	dir    *atomicfile.Folder // where it is written meanwhile (hidden, beside final)
	name   string             // the run's name before a counter, for a default final
	latest string             // the link to point at final, "" for an explicit --out
	via    string             // the --out that is a symbolic link to final, if any
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
// measured) and creates its staging folder, removing the stale ones of
// killed runs beside it (atomicfile.Stage). With out == "", the run goes
// to results/<machineID>/<name> (name made unique with a counter, again
// at commit if another run took it meanwhile), refused when latest there
// is not a symbolic link; with an explicit out, there (into the folder
// it links to, if a symbolic link), refused when out holds results
// unless force.
func newRunFolder(out, machineID, name string, force bool) (*runFolder, error) {
	f := &runFolder{force: force}
	if out == "" {
		f.name, f.force = name, false // a free name: nothing to replace
		base := filepath.Join("results", machineID)
		f.final = f.free(filepath.Join(base, name))
		f.latest = filepath.Join(base, LatestLink)
		if err := checkLatest(f.latest); err != nil {
			return nil, err
		}
	} else {
		final, err := outFolder(out)
		if err != nil {
			return nil, err
		}
		if final != filepath.Clean(out) {
			f.via = out
		}
		if err := checkOut(final, force); err != nil {
			return nil, err
		}
		f.final = final
	}
	parent := filepath.Dir(f.final)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create output folder %s: %w", parent, err)
	}
	dir, err := atomicfile.Stage(f.final)
	if err != nil {
		if why := errors.Unwrap(err); why != nil {
			err = fmt.Errorf("cannot write into output folder %s: %w", parent, why)
		}
		return nil, err
	}
	f.dir = dir
	return f, nil
}

// outFolder is the folder an explicit --out names: out itself, or, when
// out is a symbolic link, the folder it leads to, so that the run goes
// there and the link stays (renaming the run onto the link would fail
// after measuring). A link that leads nowhere is refused.
func outFolder(out string) (string, error) {
	out = filepath.Clean(out) // "dir/" is dir, not a path inside it
	if st, err := os.Lstat(out); err != nil || st.Mode()&fs.ModeSymlink == 0 {
		return out, nil
	}
	target, err := filepath.EvalSymlinks(out)
	if err != nil {
		to, _ := os.Readlink(out)
		return "", fmt.Errorf("output folder %s is a symbolic link to %s, which cannot be followed (%v): create the folder it names, or choose another --out", out, to, err)
	}
	return target, nil
}

// checkLatest refuses a latest that is there and is not a symbolic link:
// a file or folder of someone else's, which the run would not replace
// when it points latest at itself.
func checkLatest(latest string) error {
	if st, err := os.Lstat(latest); err == nil && st.Mode()&fs.ModeSymlink == 0 {
		return fmt.Errorf("%s is not a symbolic link: each run points it at the newest run, and would not replace it; move it away, or choose a folder with --out", latest)
	}
	return nil
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
			return optionError("output folder %s already holds results (%s); pass --force to replace them, or choose another --out", out, name)
		}
	}
	return fmt.Errorf("output folder %s is not empty and holds no pinbench results (%s, ...): not replacing it", out, ents[0].Name())
}

// announce says on w, after the machine line, where the run goes (and
// through which --out link), and which stale staging folders of killed
// runs were removed.
func (f *runFolder) announce(w io.Writer, machine string) {
	where := f.final
	if f.via != "" {
		where += " (the folder --out " + f.via + " links to)"
	}
	fmt.Fprintf(w, "%s; writing into %s\n", machine, where)
	for _, p := range f.dir.Removed() {
		fmt.Fprintf(w, "removed %s, the staging folder of a run whose process is gone\n", p)
	}
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
// and write is called again with it. A latest that cannot be pointed at
// the run (it became a file meanwhile) is a warning on stderr: the run
// is complete and kept.
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
		if err := atomicfile.Symlink(filepath.Base(f.final), f.latest); err != nil {
			fmt.Fprintf(stderr, "warning: the run is complete in %s, but %s still points elsewhere: %v\n", f.final, f.latest, err)
		}
	}
	return nil
}

// abort removes the staging folder of a run that did not complete.
func (f *runFolder) abort() { f.dir.Discard() }

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
