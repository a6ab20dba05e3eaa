package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
			return os.WriteFile(f.path(reportFile), []byte("built from "+final+"\n"), 0o644)
		})
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		dir := filepath.Join("results", "m", want[i])
		if f.final != dir || wrote[len(wrote)-1] != dir {
			t.Errorf("run %d committed as %s, its report last written for %q; want %s", i, f.final, wrote, dir)
		}
		b, err := os.ReadFile(filepath.Join(dir, reportFile))
		if err != nil || string(b) != "built from "+dir+"\n" {
			t.Errorf("run %d: %s holds %q (%v), want it to name its own folder", i, dir, b, err)
		}
		if taken := i > 0; taken != strings.Contains(stderr.String(), "was taken by another run meanwhile: this run is "+dir) {
			t.Errorf("run %d (name taken: %v) said on stderr: %q", i, taken, stderr.String())
		}
		if link, _ := os.Readlink(filepath.Join("results", "m", latestLink)); link != want[i] {
			t.Errorf("after run %d, latest -> %q, want %s", i, link, want[i])
		}
	}
	// The first run's folder is untouched (--force does not replace a
	// run of default name).
	if b, _ := os.ReadFile(filepath.Join("results", "m", want[0], reportFile)); !bytes.Contains(b, []byte(want[0]+"\n")) {
		t.Errorf("the first run's report was replaced: %q", b)
	}
}
