package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/affinity"
)

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
	latest := filepath.Join("results", topo.MachineID(), latestLink)
	if err := os.MkdirAll(filepath.Dir(latest), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, latest, "not a link")
	if err := os.Symlink("nowhere", "dangling"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, "file", "")
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
