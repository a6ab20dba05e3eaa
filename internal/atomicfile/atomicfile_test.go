package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/internal/testcheck"
)

var errInjected = errors.New("injected failure")

// inject replaces *hook with failing for the rest of the test.
func inject[F any](t *testing.T, hook *F, failing F) {
	t.Helper()
	saved := *hook
	*hook = failing
	t.Cleanup(func() { *hook = saved })
}

// names returns the names in dir, failing the test if it cannot be read.
func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// wantOnly fails unless dir holds exactly want (no temporary file left).
func wantOnly(t *testing.T, dir string, want ...string) {
	t.Helper()
	got := names(t, dir)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s holds %q, want %q", dir, got, want)
	}
}

func wantContent(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Errorf("%s holds %q, want %q", path, b, want)
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bench.txt")
	for _, content := range []string{"first", "second"} {
		if err := WriteFile(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		wantContent(t, path, content)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// Results are for sharing, not private like the temporary file.
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	wantOnly(t, dir, "bench.txt")
}

// Every failure leaves the old file as it was and no temporary file.
func TestWriteFailureKeepsOld(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T)
		write func(io.Writer) error
	}{
		{"writer error", nil, func(w io.Writer) error {
			io.WriteString(w, "partial")
			return errInjected
		}},
		{"sync", func(t *testing.T) {
			inject(t, &syncFile, func(*os.File) error { return errInjected })
		}, nil},
		{"rename", func(t *testing.T) {
			inject(t, &rename, func(string, string) error { return errInjected })
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f")
			if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.setup != nil {
				tc.setup(t)
			}
			write := tc.write
			if write == nil {
				write = func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }
			}
			err := Write(path, write)
			if !errors.Is(err, errInjected) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %v, want the injected one naming %s", err, path)
			}
			wantContent(t, path, "old")
			wantOnly(t, dir, "f")
		})
	}
}

func TestWriteNoFolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "f")
	err := WriteFile(path, nil)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Errorf("error %v, want not-exist naming %s", err, path)
	}
}

func TestLink(t *testing.T) {
	dir := t.TempDir()
	taken := filepath.Join(dir, "x-1.trace")
	os.WriteFile(taken, []byte("other"), 0o644)
	f, err := New(filepath.Join(dir, "x.trace"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Discard()
	io.WriteString(f, "mine")
	if err := f.Link(taken); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Link onto an existing name: %v, want ErrExist", err)
	}
	wantContent(t, taken, "other")
	next := filepath.Join(dir, "x-2.trace")
	if err := f.Link(next); err != nil {
		t.Fatal(err)
	}
	wantContent(t, next, "mine")
	wantOnly(t, dir, "x-1.trace", "x-2.trace")
}

func TestDiscard(t *testing.T) {
	dir := t.TempDir()
	f, err := New(filepath.Join(dir, "f"))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(f, "x")
	f.Discard()
	f.Discard()
	wantOnly(t, dir)
	defer func() {
		if recover() == nil {
			t.Error("Commit after Discard did not panic")
		}
	}()
	f.Commit()
}

func TestWriteAll(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a"), []byte("old a"), 0o644)
	if err := WriteAll(dir, []Named{{"a", []byte("A")}, {"b", []byte("B")}}); err != nil {
		t.Fatal(err)
	}
	wantContent(t, filepath.Join(dir, "a"), "A")
	wantContent(t, filepath.Join(dir, "b"), "B")
	wantOnly(t, dir, "a", "b")

	// A failure before the renames (here the second file's sync) changes
	// nothing.
	calls := 0
	inject(t, &syncFile, func(f *os.File) error {
		if calls++; calls == 2 {
			return errInjected
		}
		return f.Sync()
	})
	err := WriteAll(dir, []Named{{"a", []byte("A2")}, {"b", []byte("B2")}, {"c", []byte("C2")}})
	if !errors.Is(err, errInjected) || !strings.Contains(err.Error(), filepath.Join(dir, "b")) {
		t.Errorf("error %v, want the injected one naming b", err)
	}
	wantContent(t, filepath.Join(dir, "a"), "A")
	wantContent(t, filepath.Join(dir, "b"), "B")
	wantOnly(t, dir, "a", "b")
}

// A rename that fails for real (onto a folder) leaves the earlier files
// new, the rest old, and no temporary file.
func TestWriteAllRenameFails(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "c"), []byte("old c"), 0o644)
	os.Mkdir(filepath.Join(dir, "b"), 0o755)
	os.WriteFile(filepath.Join(dir, "b", "x"), nil, 0o644)
	if err := WriteAll(dir, []Named{{"a", []byte("A")}, {"b", []byte("B")}, {"c", []byte("C")}}); err == nil {
		t.Fatal("no error renaming onto a folder")
	}
	wantContent(t, filepath.Join(dir, "a"), "A")
	wantContent(t, filepath.Join(dir, "c"), "old c")
	wantOnly(t, dir, "a", "b", "c")
}

func TestFolder(t *testing.T) {
	parent := t.TempDir()
	final := filepath.Join(parent, "run")
	commit := func(replace bool, content string) error {
		t.Helper()
		d, err := Stage(final)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Discard()
		if !strings.Contains(filepath.Base(d.Path()), StagingMark) || filepath.Dir(d.Path()) != parent {
			t.Errorf("staging folder %s, want one beside %s named with %q", d.Path(), final, StagingMark)
		}
		if err := WriteFile(filepath.Join(d.Path(), "report.md"), []byte(content)); err != nil {
			t.Fatal(err)
		}
		return d.Commit(replace)
	}
	if err := commit(false, "one"); err != nil {
		t.Fatal(err)
	}
	wantContent(t, filepath.Join(final, "report.md"), "one")
	if st, _ := os.Stat(final); st.Mode().Perm() != 0o755 {
		t.Errorf("folder mode %v, want 0755", st.Mode().Perm())
	}
	// Without replace, a folder holding files stays.
	if err := commit(false, "two"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Commit(false) onto a folder holding files: %v, want an error matching fs.ErrExist", err)
	}
	wantContent(t, filepath.Join(final, "report.md"), "one")
	wantOnly(t, parent, "run")
	// With replace, it goes.
	if err := commit(true, "three"); err != nil {
		t.Fatal(err)
	}
	wantContent(t, filepath.Join(final, "report.md"), "three")
	wantOnly(t, parent, "run")
	// An empty folder is replaced without.
	os.RemoveAll(final)
	os.Mkdir(final, 0o755)
	if err := commit(false, "four"); err != nil {
		t.Fatal(err)
	}
	wantContent(t, filepath.Join(final, "report.md"), "four")
}

// A failed rename of the new folder puts the old one back.
func TestFolderCommitFailureKeepsOld(t *testing.T) {
	parent := t.TempDir()
	final := filepath.Join(parent, "run")
	os.Mkdir(final, 0o755)
	os.WriteFile(filepath.Join(final, "report.md"), []byte("old"), 0o644)
	d, err := Stage(final)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Discard()
	inject(t, &rename, func(from, to string) error {
		if from == d.Path() {
			return errInjected
		}
		return os.Rename(from, to)
	})
	if err := d.Commit(true); !errors.Is(err, errInjected) || !strings.Contains(err.Error(), final) {
		t.Errorf("error %v, want the injected one naming %s", err, final)
	}
	d.Discard()
	wantContent(t, filepath.Join(final, "report.md"), "old")
	wantOnly(t, parent, "run")
}

func TestSymlink(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "latest")
	for _, target := range []string{"run1", "run2"} {
		if err := Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		if got, err := os.Readlink(link); err != nil || got != target {
			t.Errorf("latest -> %q (%v), want %q", got, err, target)
		}
	}
	wantOnly(t, dir, "latest")
	// A failed rename leaves the old link.
	inject(t, &rename, func(string, string) error { return errInjected })
	if err := Symlink("run3", link); !errors.Is(err, errInjected) {
		t.Errorf("error %v, want the injected one", err)
	}
	if got, _ := os.Readlink(link); got != "run2" {
		t.Errorf("latest -> %q after a failure, want run2", got)
	}
	wantOnly(t, dir, "latest")
	// Not a link: refused.
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	if err := Symlink("run1", file); err == nil {
		t.Error("Symlink replaced a plain file")
	}
}

// syncs records the files synced for the rest of the test.
func syncs(t *testing.T) *[]string {
	t.Helper()
	var got []string
	inject(t, &syncFile, func(f *os.File) error {
		got = append(got, f.Name())
		return f.Sync()
	})
	return &got
}

// A file written into a staged folder (at any depth) is not synced when
// it is committed or linked, but by the folder's Commit, before the
// folder appears; one outside is synced on its own.
func TestStagedFilesSyncAtFolderCommit(t *testing.T) {
	parent := t.TempDir()
	synced := syncs(t)
	outside := filepath.Join(parent, "alone.txt")
	if err := WriteFile(outside, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if len(*synced) != 1 {
		t.Fatalf("a file outside staging synced %d times, want once", len(*synced))
	}
	*synced = nil

	final := filepath.Join(parent, "run")
	d, err := Stage(final)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Discard()
	inner, err := Stage(filepath.Join(d.Path(), "outliers"))
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Discard()
	if err := WriteFile(filepath.Join(d.Path(), "report.md"), []byte("report")); err != nil {
		t.Fatal(err)
	}
	f, err := New(filepath.Join(inner.Path(), "x.trace"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Discard()
	io.WriteString(f, "trace")
	if err := f.Link(filepath.Join(inner.Path(), "x-1.trace")); err != nil {
		t.Fatal(err)
	}
	if len(*synced) != 0 {
		t.Fatalf("files in a staged folder synced on their own: %q", *synced)
	}
	if err := inner.Commit(false); err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(inner.Path(), "x-1.trace"); len(*synced) != 1 {
		t.Fatalf("the inner Commit synced %q, want only %s", *synced, want)
	}
	*synced = nil
	if err := d.Commit(false); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range *synced {
		got = append(got, filepath.Base(p))
	}
	if strings.Join(got, " ") != "x-1.trace report.md" {
		t.Errorf("Commit synced %q, want every file in the tree (x-1.trace, report.md)", got)
	}
	wantContent(t, filepath.Join(final, "report.md"), "report")
	wantContent(t, filepath.Join(final, "outliers", "x-1.trace"), "trace")
}

// A file's sync failing at the folder's Commit leaves no folder: a
// results folder is complete or absent.
func TestFolderCommitSyncFails(t *testing.T) {
	parent := t.TempDir()
	final := filepath.Join(parent, "run")
	d, err := Stage(final)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Discard()
	os.Mkdir(filepath.Join(d.Path(), "outliers"), 0o755)
	trace := filepath.Join(d.Path(), "outliers", "x-1.trace")
	if err := WriteFile(trace, []byte("trace")); err != nil {
		t.Fatal(err)
	}
	inject(t, &syncFile, func(f *os.File) error {
		if f.Name() == trace {
			return errInjected
		}
		return f.Sync()
	})
	if err := d.Commit(false); !errors.Is(err, errInjected) || !strings.Contains(err.Error(), "x-1.trace") {
		t.Errorf("error %v, want the injected one naming x-1.trace", err)
	}
	if _, err := os.Lstat(final); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s exists after a failed Commit (%v)", final, err)
	}
	d.Discard()
	wantOnly(t, parent)
}

// A write error is kept: a caller that ignores it and commits gets it
// back, and no partial file is put in place, even when later writes
// succeed.
func TestCommitAfterWriteError(t *testing.T) {
	for _, link := range []bool{false, true} {
		dir := t.TempDir()
		path := filepath.Join(dir, "f")
		os.WriteFile(path, []byte("old"), 0o644)
		f, err := New(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Discard()
		io.WriteString(f, "first ")
		failed := false
		inject(t, &writeData, func(o *os.File, p []byte) (int, error) {
			if !failed {
				failed = true
				return 0, errInjected // a transient error, such as ENOSPC
			}
			return o.Write(p)
		})
		if _, err := io.WriteString(f, "lost "); !errors.Is(err, errInjected) {
			t.Fatalf("Write: %v, want the injected error", err)
		}
		if _, err := io.WriteString(f, "last"); !errors.Is(err, errInjected) {
			t.Errorf("a Write after a failed one: %v, want the first error again", err)
		}
		commit := f.Commit
		if link {
			commit = func() error { return f.Link(filepath.Join(dir, "g")) }
		}
		if err := commit(); !errors.Is(err, errInjected) || !strings.Contains(err.Error(), path) {
			t.Errorf("link=%v: Commit after a failed Write: %v, want the write error naming %s", link, err, path)
		}
		wantContent(t, path, "old")
		wantOnly(t, dir, "f")
	}
}

// Retarget gives a folder whose name was taken another one beside it,
// and refuses one elsewhere.
func TestFolderRetarget(t *testing.T) {
	parent := t.TempDir()
	d, err := Stage(filepath.Join(parent, "run"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Discard()
	os.Mkdir(filepath.Join(parent, "run"), 0o755)
	os.WriteFile(filepath.Join(parent, "run", "report.md"), []byte("theirs"), 0o644)
	WriteFile(filepath.Join(d.Path(), "report.md"), []byte("mine"))
	if err := d.Commit(false); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Commit onto a taken name: %v, want fs.ErrExist", err)
	}
	d.Retarget(filepath.Join(parent, "run-2"))
	if err := d.Commit(false); err != nil {
		t.Fatal(err)
	}
	wantContent(t, filepath.Join(parent, "run", "report.md"), "theirs")
	wantContent(t, filepath.Join(parent, "run-2", "report.md"), "mine")
	wantOnly(t, parent, "run", "run-2")

	e, err := Stage(filepath.Join(parent, "other"))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Discard()
	defer func() {
		if recover() == nil {
			t.Error("Retarget into another folder did not panic")
		}
	}()
	e.Retarget(filepath.Join(parent, "sub", "other"))
}

// Stage first removes the staging folders beside it whose owner process
// is gone (a run killed with SIGKILL leaves one, with its 0600 temporary
// files), whatever their final name; it keeps a live process's, one of
// another machine or PID namespace sharing the folder (where its PID
// means nothing), and one whose owner it cannot tell. A stale folder moved aside by Commit(true)
// is put back when its final path is empty, and removed when not.
func TestStageRemovesStale(t *testing.T) {
	parent := t.TempDir()
	dead := testcheck.DeadPid(t)
	mk := func(name string) string {
		t.Helper()
		dir := filepath.Join(parent, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ".bench.txt.1"+TempSuffix), []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	here := processSpace()
	stale := mk(fmt.Sprintf(".old-run%s%d@%s-123", StagingMark, dead, here))
	mine := mk(fmt.Sprintf(".run%s%s-456", StagingMark, owner()))
	initial := mk(fmt.Sprintf(".run%s1@%s-789", StagingMark, here)) // pid 1 lives
	unknown := mk(".run" + StagingMark + "1011")                    // no owner recorded
	elsewhere := mk(fmt.Sprintf(".run%s%d@%s-5", StagingMark, dead, "0badf00d"))
	bare := mk(fmt.Sprintf(".run%s%d-6", StagingMark, dead))        // a PID without its space
	mk(fmt.Sprintf(".gone%s%d@%s-12.old", StagingMark, dead, here)) // put back as gone
	replaced := mk(fmt.Sprintf(".kept%s%d@%s-13.old", StagingMark, dead, here))
	mk("kept")
	d, err := Stage(filepath.Join(parent, "run"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Discard()
	if want := StagingMark + owner() + "-"; !strings.Contains(d.Path(), want) {
		t.Errorf("staging folder %s does not name its owner (%q)", d.Path(), want)
	}
	left := []string{filepath.Base(mine), filepath.Base(initial), filepath.Base(unknown), filepath.Base(elsewhere), filepath.Base(bare), "gone", "kept", filepath.Base(d.Path())}
	slices.Sort(left)
	wantOnly(t, parent, left...)
	if got, want := d.Removed(), []string{replaced, stale}; !slices.Equal(got, want) {
		t.Errorf("Removed() = %q, want %q", got, want)
	}
	wantContent(t, filepath.Join(parent, "gone", ".bench.txt.1"+TempSuffix), "partial")
}

// Stage refuses a final path that Commit could never rename onto: a
// file, or a symbolic link (to a folder or dangling).
func TestStageRefusesNonFolder(t *testing.T) {
	parent := t.TempDir()
	os.WriteFile(filepath.Join(parent, "file"), nil, 0o644)
	os.Mkdir(filepath.Join(parent, "empty"), 0o755)
	os.Symlink("empty", filepath.Join(parent, "link"))
	os.Symlink("nowhere", filepath.Join(parent, "dangling"))
	for _, name := range []string{"file", "link", "dangling"} {
		d, err := Stage(filepath.Join(parent, name))
		if err == nil {
			d.Discard()
			t.Errorf("Stage(%s): no error", name)
		} else if !strings.Contains(err.Error(), filepath.Join(parent, name)) {
			t.Errorf("Stage(%s): %v, want the path named", name, err)
		}
	}
	wantOnly(t, parent, "dangling", "empty", "file", "link")
}
