package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/bench"
)

// commitProbe commits f with one file written into it, failing the test
// on an error, and returns what the commit said on stderr.
func commitProbe(t *testing.T, f *runFolder) string {
	t.Helper()
	var stderr bytes.Buffer
	err := f.commit(&stderr, func(final string) error {
		return os.WriteFile(f.path(rawFile), []byte("run for "+final+"\n"), 0o644)
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
		if b, err := os.ReadFile(filepath.Join(target, rawFile)); err != nil || !strings.HasPrefix(string(b), "run for ") {
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
	if _, err := os.Stat(filepath.Join(slash, rawFile)); err != nil {
		t.Errorf("--out %s/: %v", slash, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*"+stagingMark+"*")); len(left) > 0 {
		t.Errorf("staging left: %q", left)
	}
}

// A latest that is not a symbolic link is refused before anything is
// staged, naming it; one that turns into a file while the run measures
// leaves the run complete, and the commit says latest was not moved.
func TestRunFolderLatestNotLink(t *testing.T) {
	t.Chdir(t.TempDir())
	machine := filepath.Join("results", "m")
	latest := filepath.Join(machine, latestLink)
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
	if _, err := os.Stat(filepath.Join(f.final, rawFile)); err != nil || !strings.Contains(said, latest) {
		t.Errorf("latest a file at commit: run %v, stderr %q; want the run kept and latest named", err, said)
	}
	if b, _ := os.ReadFile(latest); string(b) != "mine" {
		t.Errorf("latest, a file, was replaced: %q", b)
	}
}

// What the run folders and output files need is checked before
// measuring: each case fails with one line naming the path, and nothing
// is measured (no stage 2 of tune, no matrix printed).
func TestFoldersCheckedBeforeMeasuring(t *testing.T) {
	topo, err := affinity.Discover()
	if err != nil {
		t.Skip("no topology:", err)
	}
	work := t.TempDir()
	t.Chdir(work)
	latest := filepath.Join("results", bench.MachineID(topo), latestLink)
	if err := os.MkdirAll(filepath.Dir(latest), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(latest, []byte("not a link"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("nowhere", "dangling"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("file", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append([]string{"tune"}, tinyTune...), latest},
		{append([]string{"tune", "--out", "dangling"}, tinyTune...), "dangling"},
		{[]string{"matrix", "--reps", "1", "--transfers", "200", "--csv", "/nonexistent/x.csv"}, "/nonexistent"},
		{[]string{"matrix", "--reps", "1", "--transfers", "200", "--long-csv", "file/x.csv"}, "file"},
		{[]string{"matrix", "--reps", "1", "--transfers", "200", "--csv", work}, work},
	} {
		code, stdout, stderr := runCLI(tc.args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		last := lines[len(lines)-1]
		if code != 1 || !strings.HasPrefix(last, "pinbench ") || !strings.Contains(last, tc.want) || strings.Contains(stderr, "[2/5") || stdout != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 1 before measuring, a last line naming %q", tc.args, code, stdout, stderr, tc.want)
		}
	}
}
