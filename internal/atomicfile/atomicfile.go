// Package atomicfile writes results so that a reader sees the old version
// or the complete new one, never part of one: a file is written under a
// temporary name in its final folder, synced, and renamed into place; a
// set of files is written in full before the first rename; a folder is
// built under a hidden staging name beside its final one and renamed into
// place when complete ("a results folder is complete or absent").
//
// A staging folder's name holds the id of the process that made it, and
// Stage removes those of processes that are gone (killed with SIGKILL,
// which no clean-up survives) before it makes a new one. This assumes
// that only processes of this machine write into the folder: an id is
// checked on the machine that reads it.
//
// A file inside a staging folder (at any depth) is not synced on its own:
// nobody reads it before the folder's Commit, which syncs every file and
// folder in the staged tree before its rename. A benchmark writing into a
// staged folder thus adds no sync to the time it measures.
//
// Files come out 0644 and folders 0755, as readable as the results they
// hold. A failure removes what was written and leaves the old file or
// folder as it was.
package atomicfile

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// TempSuffix ends the name of every temporary file: ".NAME.*.tmp" beside
// NAME.
const TempSuffix = ".tmp"

// StagingMark is in the name of every staging folder: ".NAME.partial-PID@SPACE-*"
// beside NAME, PID the id of the process that made it.
const StagingMark = ".partial-"

// oldSuffix ends the name of a folder that Commit moved aside to replace
// it: ".NAME.partial-PID@SPACE-*.old".
const oldSuffix = ".old"

// Test hooks for failure injection: the calls that can fail while or
// after the data is written.
var (
	writeData = (*os.File).Write
	syncFile  = (*os.File).Sync
	rename    = os.Rename
)

// A File is a file being written under a temporary name in the folder of
// the path it will have. Write to it, then Commit (or Link); Discard
// removes it unless committed, and may be deferred.
type File struct {
	path     string // where Commit puts it
	f        *os.File
	staged   bool  // inside a staging folder, whose Commit syncs it
	werr     error // the first error of Write
	finished bool  // synced, made 0644 and closed
	err      error // of finishing
	done     bool  // committed or discarded
}

// New starts a file that Commit will put at path.
func New(path string) (*File, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*"+TempSuffix)
	if err != nil {
		return nil, fmt.Errorf("cannot write %s: %w", path, err)
	}
	return &File{path: path, f: f, staged: staged(path)}, nil
}

// staged reports whether path lies inside a staging folder, one named
// ".NAME.partial-*" as Stage names them, at any depth.
func staged(path string) bool {
	for dir := filepath.Dir(path); ; {
		if b := filepath.Base(dir); strings.HasPrefix(b, ".") && strings.Contains(b, StagingMark) {
			return true
		}
		up := filepath.Dir(dir)
		if up == dir {
			return false
		}
		dir = up
	}
}

// Write writes p to the temporary file. The first error is kept: later
// writes return it and write nothing, and Commit and Link return it and
// discard the file, so that a partial file is never put in place.
func (f *File) Write(p []byte) (int, error) {
	if f.werr != nil {
		return 0, f.werr
	}
	n, err := writeData(f.f, p)
	if err != nil {
		f.werr = err
	}
	return n, err
}

// finish syncs the data (unless staged), makes the file 0644
// (CreateTemp makes it private) and closes it, once.
func (f *File) finish() error {
	if !f.finished {
		f.finished = true
		f.err = f.werr
		if f.err == nil && !f.staged {
			f.err = syncFile(f.f)
		}
		if f.err == nil {
			f.err = f.f.Chmod(0o644)
		}
		if cerr := f.f.Close(); f.err == nil {
			f.err = cerr
		}
		if f.err != nil {
			f.err = fmt.Errorf("writing %s: %w", f.path, f.err)
		}
	}
	return f.err
}

// Commit puts the complete file at its path, replacing any file there.
// On an error (a Write's included) the temporary file is removed and the
// path left as it was.
func (f *File) Commit() error {
	if f.done {
		panic("atomicfile: Commit of a file already committed or discarded")
	}
	err := f.finish()
	if err == nil {
		err = rename(f.f.Name(), f.path)
		if err != nil {
			err = fmt.Errorf("writing %s: %w", f.path, err)
		}
	}
	if err != nil {
		f.Discard()
		return err
	}
	f.done = true
	if !f.staged {
		syncDir(filepath.Dir(f.path))
	}
	return nil
}

// Link puts the complete file at path, in the same folder as New's path,
// only if nothing is there: it fails with an error matching fs.ErrExist
// when path exists (another process took the name), and the file may
// then be linked under another name. Link, not rename, so that nothing is
// overwritten. The temporary name goes when the file is linked (or
// discarded).
func (f *File) Link(path string) error {
	if f.done {
		panic("atomicfile: Link of a file already committed or discarded")
	}
	if err := f.finish(); err != nil {
		f.Discard()
		return err
	}
	if err := os.Link(f.f.Name(), path); err != nil {
		return err
	}
	f.done = true
	os.Remove(f.f.Name())
	if !f.staged {
		syncDir(filepath.Dir(path))
	}
	return nil
}

// Discard removes the temporary file unless it was committed; it does
// nothing the second time.
func (f *File) Discard() {
	if f == nil || f.done {
		return
	}
	f.done = true
	if !f.finished {
		f.finished = true
		f.f.Close()
	}
	os.Remove(f.f.Name())
}

// Write writes the file at path with write, through a temporary file
// renamed into place only when write and the sync succeeded: a failure
// leaves no partial file, and an old file at path untouched.
func Write(path string, write func(io.Writer) error) error {
	f, err := New(path)
	if err != nil {
		return err
	}
	defer f.Discard()
	if err := write(f); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Commit()
}

// WriteFile writes data to path as Write does.
func WriteFile(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Named is one file of a set, by its name in the set's folder.
type Named struct {
	Name string
	Data []byte
}

// WriteAll writes a set of files into dir: every one to its temporary
// file first, then the renames in order. A failure before the renames
// changes nothing in dir; one of a rename (which fails only when dir
// changes under us) leaves the files before it new and the rest old.
func WriteAll(dir string, files []Named) error {
	pending := make([]*File, 0, len(files))
	defer func() {
		for _, f := range pending {
			f.Discard()
		}
	}()
	for _, n := range files {
		f, err := New(filepath.Join(dir, n.Name))
		if err != nil {
			return err
		}
		pending = append(pending, f)
		if _, err := f.Write(n.Data); err != nil {
			return fmt.Errorf("writing %s: %w", f.path, err)
		}
		if err := f.finish(); err != nil {
			return err
		}
	}
	for _, f := range pending {
		if err := f.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// A Folder is a folder being built under a hidden staging name beside the
// final one. Write into Path, then Commit; Discard removes it unless
// committed, and may be deferred.
type Folder struct {
	final, staging string
	removed        []string // the stale staging folders Stage removed
}

// Stage creates the staging folder for final, whose parent must exist,
// after removing the stale staging folders in that parent
// (RemoveStale). It refuses a final path that is a file or a symbolic
// link (dangling or not), onto which Commit could not rename a folder.
func Stage(final string) (*Folder, error) {
	if st, err := os.Lstat(final); err == nil && !st.IsDir() {
		what := "a file"
		if st.Mode()&fs.ModeSymlink != 0 {
			what = "a symbolic link"
		}
		return nil, fmt.Errorf("%s is %s, not a folder: not replacing it", final, what)
	}
	parent := filepath.Dir(final)
	removed := RemoveStale(parent)
	pattern := "." + filepath.Base(final) + StagingMark + owner() + "-*"
	dir, err := os.MkdirTemp(parent, pattern)
	if err != nil {
		return nil, fmt.Errorf("cannot write into %s: %w", parent, err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // MkdirTemp makes it private
		os.Remove(dir)
		return nil, fmt.Errorf("cannot write into %s: %w", parent, err)
	}
	return &Folder{final: final, staging: dir, removed: removed}, nil
}

// Removed lists the stale staging folders that Stage removed.
func (d *Folder) Removed() []string { return d.removed }

// RemoveStale removes the staging folders in dir whose owner process
// (".NAME.partial-PID@SPACE-*") is gone, whatever their NAME, and returns
// their paths. It judges only folders of its own process space (SPACE: this
// boot of this machine and this PID namespace), where a PID means one
// process: it keeps those of live processes, those of another machine or
// container sharing the folder (a fleet's shared results path), and those
// that name no owner. A stale folder that Commit moved aside (".old") is put
// back at NAME when nothing is there (its owner died before the new
// folder took its place), and removed otherwise. It is best effort: a
// folder it cannot read or remove stays.
func RemoveStale(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range ents {
		final, pid, old := parseStaging(e.Name())
		if !e.IsDir() || pid <= 0 || alive(pid) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if old && !exists(filepath.Join(dir, final)) && os.Rename(path, filepath.Join(dir, final)) == nil {
			continue
		}
		if os.RemoveAll(path) == nil {
			removed = append(removed, path)
		}
	}
	return removed
}

// parseStaging splits a staging folder's name,
// ".NAME.partial-PID@SPACE-*" with ".old" after it when moved aside, into
// NAME, PID and whether it was moved aside. The PID is 0 for a name that
// is not a staging folder's, records no owner, or records one of another
// process space.
func parseStaging(name string) (final string, pid int, old bool) {
	i := strings.LastIndex(name, StagingMark)
	if !strings.HasPrefix(name, ".") || i < 1 {
		return "", 0, false
	}
	rest := name[i+len(StagingMark):]
	id, _, ok := strings.Cut(rest, "-")
	num, space, ours := strings.Cut(id, "@")
	if n, err := strconv.Atoi(num); ok && ours && space == processSpace() && err == nil {
		pid = n
	}
	return name[1:i], pid, strings.HasSuffix(rest, oldSuffix)
}

// owner is this process's "PID@SPACE" for a staging folder's name.
func owner() string { return Owner(os.Getpid()) }

// Owner is how a staging folder's name records process pid of this
// machine and PID namespace as its owner: "PID@SPACE".
func Owner(pid int) string { return strconv.Itoa(pid) + "@" + processSpace() }

// processSpace names, in 8 hex digits, the space in which a PID means one
// process: this boot of this machine (the kernel's random boot_id) and
// this process's PID namespace (a container's is its own). Where either
// cannot be read, the hostname stands in; a space that merely differs
// keeps folders, never removes them.
var processSpace = sync.OnceValue(func() string {
	boot, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	ns, _ := os.Readlink("/proc/self/ns/pid")
	host, _ := os.Hostname()
	h := fnv.New32a()
	fmt.Fprintf(h, "%s|%s|%s", bytes.TrimSpace(boot), ns, host)
	return fmt.Sprintf("%08x", h.Sum32())
})

// alive reports whether process pid exists (signal 0 checks without
// sending one; a process of another user answers EPERM).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// exists reports whether anything is at path.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// Path is the staging folder, where the files go until Commit; "" after
// Commit or Discard.
func (d *Folder) Path() string { return d.staging }

// Final is the folder's final path.
func (d *Folder) Final() string { return d.final }

// Commit syncs every file and folder in the staging tree and renames the
// staging folder to the final path. An empty folder there is replaced;
// one holding files is replaced with replace (moved aside, and removed
// once the new one is in place; put back if the rename fails), and makes
// Commit fail without, with an error matching fs.ErrExist (Retarget may
// then choose another name). On an error the final path is left as it
// was.
func (d *Folder) Commit(replace bool) error {
	if d.staging == "" {
		panic("atomicfile: Commit of a folder already committed or discarded")
	}
	if err := syncTree(d.staging); err != nil {
		return fmt.Errorf("moving the complete folder into %s: %w", d.final, err)
	}
	var old string
	if st, err := os.Lstat(d.final); err == nil && st.IsDir() {
		// os.Rename refuses an existing folder even when empty
		// (rename(2) would replace an empty one); an empty one holds
		// nothing to keep.
		if err := os.Remove(d.final); err != nil && replace {
			old = d.staging + oldSuffix
			if err := rename(d.final, old); err != nil {
				return fmt.Errorf("replacing %s: %w", d.final, err)
			}
		}
	}
	if err := rename(d.staging, d.final); err != nil {
		if old != "" {
			os.Rename(old, d.final)
		}
		return fmt.Errorf("moving the complete folder into %s: %w", d.final, err)
	}
	d.staging = ""
	if old != "" {
		os.RemoveAll(old)
	}
	syncDir(filepath.Dir(d.final))
	return nil
}

// Retarget makes final, in the same parent folder as the old final
// path, the path Commit will give the folder: for a name taken meanwhile.
func (d *Folder) Retarget(final string) {
	if d.staging == "" {
		panic("atomicfile: Retarget of a folder already committed or discarded")
	}
	if filepath.Dir(final) != filepath.Dir(d.final) {
		panic("atomicfile: Retarget of " + d.final + " to " + final + ", in another folder (the staging folder is beside the old one)")
	}
	d.final = final
}

// Discard removes the staging folder unless it was committed; it does
// nothing the second time.
func (d *Folder) Discard() {
	if d != nil && d.staging != "" {
		os.RemoveAll(d.staging)
		d.staging = ""
	}
}

// Symlink makes link a symbolic link to target, replacing an old link in
// one rename, so that it never dangles or vanishes. It refuses to replace
// anything at link that is not a symbolic link.
func Symlink(target, link string) error {
	if st, err := os.Lstat(link); err == nil && st.Mode()&fs.ModeSymlink == 0 {
		return fmt.Errorf("%s exists and is not a symbolic link: not pointing it at %s", link, target)
	}
	tmp := fmt.Sprintf("%s.%d%s", link, os.Getpid(), TempSuffix)
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("pointing %s at %s: %w", link, target, err)
	}
	if err := rename(tmp, link); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("pointing %s at %s: %w", link, target, err)
	}
	syncDir(filepath.Dir(link))
	return nil
}

// syncTree syncs every regular file under root, which the files written
// there skipped (File.finish), and then every folder, deepest first, so
// that the renames into them are durable before root is renamed. A
// file's sync failing is an error (its data may be lost); a folder's is
// best effort, as in syncDir.
func syncTree(root string) error {
	var dirs []string
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case e.IsDir():
			dirs = append(dirs, path)
		case e.Type().IsRegular():
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			err = syncFile(f)
			f.Close()
			if err != nil {
				return fmt.Errorf("syncing %s: %w", path, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		syncDir(dirs[i])
	}
	return nil
}

// syncDir makes a rename in dir durable across a crash. It is best
// effort: the rename is atomic without it, and some file systems refuse
// to sync a folder.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync() // best effort, as above
	d.Close()
}
