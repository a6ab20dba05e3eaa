package tune

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/internal/atomicfile"
)

// Two default-named runs started in the same second choose the same
// folder; the second to commit takes the next free name, says so, and
// writes its report naming that folder; latest points at it.
func TestRunFolderNameTakenMeanwhile(t *testing.T) {
	t.Chdir(t.TempDir())
	var runs [3]*runFolder
	for i := range runs {
		f, err := newRunFolder("", "m", "20261202T000000Z-quick", true)
		if err != nil {
			t.Fatal(err)
		}
		defer f.abort()
		runs[i] = f
	}
	want := []string{"20261202T000000Z-quick", "20261202T000000Z-quick-2", "20261202T000000Z-quick-3"}
	for i, f := range runs {
		if got := filepath.Base(f.final); got != want[0] {
			t.Fatalf("run %d chose %s before any commit, want %s", i, got, want[0])
		}
		var stderr bytes.Buffer
		var wrote []string
		err := f.commit(&stderr, func(final string) error {
			wrote = append(wrote, final)
			return os.WriteFile(f.path(ReportFile), []byte("built from "+final+"\n"), 0o644)
		})
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		dir := filepath.Join("results", "m", want[i])
		if f.final != dir || wrote[len(wrote)-1] != dir {
			t.Errorf("run %d committed as %s, its report last written for %q; want %s", i, f.final, wrote, dir)
		}
		b, err := os.ReadFile(filepath.Join(dir, ReportFile))
		if err != nil || string(b) != "built from "+dir+"\n" {
			t.Errorf("run %d: %s holds %q (%v), want it to name its own folder", i, dir, b, err)
		}
		if taken := i > 0; taken != strings.Contains(stderr.String(), "was taken by another run meanwhile: this run is "+dir) {
			t.Errorf("run %d (name taken: %v) said on stderr: %q", i, taken, stderr.String())
		}
		if link, _ := os.Readlink(filepath.Join("results", "m", LatestLink)); link != want[i] {
			t.Errorf("after run %d, latest -> %q, want %s", i, link, want[i])
		}
	}
	// The first run's folder is untouched (--force does not replace a
	// run of default name).
	if b, _ := os.ReadFile(filepath.Join("results", "m", want[0], ReportFile)); !bytes.Contains(b, []byte(want[0]+"\n")) {
		t.Errorf("the first run's report was replaced: %q", b)
	}
}

// commitProbe commits f with one file written into it, failing the test
// on an error, and returns what the commit said on stderr.
func commitProbe(t *testing.T, f *runFolder) string {
	t.Helper()
	var stderr bytes.Buffer
	err := f.commit(&stderr, func(final string) error {
		return os.WriteFile(f.path(RawFile), []byte("run for "+final+"\n"), 0o644)
	})
	if err != nil {
		t.Fatalf("commit into %s: %v", f.final, err)
	}
	return stderr.String()
}

// An --out that is a symbolic link to a folder (empty, or holding
// results with --force) gets the run in the link's target, the link kept;
// a dangling one is refused before anything is staged. An --out ending
// in a slash is the folder it names.
func TestRunFolderOutLink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink("target", link); err != nil {
		t.Fatal(err)
	}
	for _, force := range []bool{false, true} { // empty, then holding the first run
		f, err := newRunFolder(link, "m", "", force)
		if err != nil {
			t.Fatalf("--out a link to a folder (force %v): %v", force, err)
		}
		defer f.abort()
		commitProbe(t, f)
		if b, err := os.ReadFile(filepath.Join(target, RawFile)); err != nil || !strings.HasPrefix(string(b), "run for ") {
			t.Errorf("force %v: the link's target holds %q (%v), want the run", force, b, err)
		}
		if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Errorf("force %v: the link was replaced (%v)", force, err)
		}
	}
	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink("nowhere", dangling); err != nil {
		t.Fatal(err)
	}
	if f, err := newRunFolder(dangling, "m", "", false); err == nil {
		f.abort()
		t.Error("--out a dangling link: no error before measuring")
	} else if !strings.Contains(err.Error(), dangling) || !strings.Contains(err.Error(), "nowhere") {
		t.Errorf("--out a dangling link: %v, want the link and its target named", err)
	}
	slash := filepath.Join(dir, "slash")
	f, err := newRunFolder(slash+"/", "m", "", false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.abort()
	commitProbe(t, f)
	if _, err := os.Stat(filepath.Join(slash, RawFile)); err != nil {
		t.Errorf("--out %s/: %v", slash, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*"+atomicfile.StagingMark+"*")); len(left) > 0 {
		t.Errorf("staging left: %q", left)
	}
}

// A latest that is not a symbolic link is refused before anything is
// staged, naming it; one that turns into a file while the run measures
// leaves the run complete, and the commit says latest was not moved.
func TestRunFolderLatestNotLink(t *testing.T) {
	t.Chdir(t.TempDir())
	machine := filepath.Join("results", "m")
	latest := filepath.Join(machine, LatestLink)
	if err := os.MkdirAll(latest, 0o755); err != nil {
		t.Fatal(err)
	}
	if f, err := newRunFolder("", "m", "20261202T000000Z-quick", false); err == nil {
		f.abort()
		t.Error("latest a folder: no error before measuring")
	} else if !strings.Contains(err.Error(), latest) {
		t.Errorf("latest a folder: %v, want it named", err)
	}
	if err := os.Remove(latest); err != nil {
		t.Fatal(err)
	}
	f, err := newRunFolder("", "m", "20261202T000000Z-quick", false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.abort()
	if err := os.WriteFile(latest, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	said := commitProbe(t, f)
	if _, err := os.Stat(filepath.Join(f.final, RawFile)); err != nil || !strings.Contains(said, latest) {
		t.Errorf("latest a file at commit: run %v, stderr %q; want the run kept and latest named", err, said)
	}
	if b, _ := os.ReadFile(latest); string(b) != "mine" {
		t.Errorf("latest, a file, was replaced: %q", b)
	}
}
