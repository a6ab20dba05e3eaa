package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeRun writes a results folder holding a bench.txt of machine m and
// a report.md saying old, and returns it.
func writeRun(t *testing.T, m, old string) string {
	t.Helper()
	dir := t.TempDir()
	data := "machine: " + m + "\n" + strings.Repeat("BenchmarkFloor/place=llc-2 \t 1000 \t 50.0 ns/op\n", 3)
	writeFile(t, filepath.Join(dir, rawFile), data)
	writeFile(t, filepath.Join(dir, reportFile), old)
	return dir
}

// TestReportOutRefusesAnotherRun: report --out into a folder holding
// another run's bench.txt is refused with one line, report.md untouched,
// as tune refuses such an --out; --force replaces it, and a folder whose
// bench.txt is the one read is rebuilt without it (issue 20, item 9).
func TestReportOutRefusesAnotherRun(t *testing.T) {
	a, b := writeRun(t, "a", "a's report"), writeRun(t, "b", "b's report")
	code, _, stderr := runCLI("report", a, "--out", b)
	if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, b) || !strings.Contains(stderr, "--force") {
		t.Errorf("report A --out B: exit %d, %q; want exit 2 and one line naming %s and --force", code, stderr, b)
	}
	if old, _ := os.ReadFile(filepath.Join(b, reportFile)); string(old) != "b's report" {
		t.Fatalf("report A --out B replaced B's report.md:\n%.200s", old)
	}
	if code, _, stderr := runCLI("report", filepath.Join(a, rawFile), "--out", b, "--force"); code != 0 {
		t.Fatalf("report A --out B --force: exit %d: %s", code, stderr)
	}
	if md, _ := os.ReadFile(filepath.Join(b, reportFile)); !strings.Contains(string(md), "pinbench report: a") {
		t.Errorf("--force did not write A's report into B:\n%.200s", md)
	}
	for _, args := range [][]string{{a}, {a, "--out", a}, {filepath.Join(a, rawFile), filepath.Join(b, rawFile), "--out", b}} {
		if code, _, stderr := runCLI(append([]string{"report"}, args...)...); code != 0 {
			t.Errorf("report %q (its own folder): exit %d: %s", args, code, stderr)
		}
	}
	if code, _, _ := runCLI("report", a, "--force"); code != 0 {
		t.Errorf("report A --force: exit %d", code)
	}
}
