package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// builtBench builds the benchmark binary for one test (the go command's
// cache makes the second build a link).
func builtBench(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the benchmark binary")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command to build the benchmark binary")
	}
	path := filepath.Join(t.TempDir(), "pinbench-bench.test")
	build := exec.Command("go", "test", "-c", "-o", path, "github.com/pinbench/pinbench/bench")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go test -c ./bench: %v\n%s", err, out)
	}
	return path
}

// tune --explain-outliers: a hop slowed by the benchmark binary's test
// hook becomes a trace file in <out>/outliers, beside the traced round's
// output, and report.md explains it; an earlier run's outliers folder is
// replaced (with --force, the whole run folder is), and no staging
// folder is left.
func TestTuneExplainOutliers(t *testing.T) {
	bin := builtBench(t)
	out := t.TempDir()
	stale := filepath.Join(out, outliersDir, "Stale-1.trace")
	if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, stale, "x")
	// Hop 600 of each watched run sleeps 30 ms: 500x a traced blocking
	// hop's median is 2.5-10 ms, and the flight recorder keeps 50-100 ms.
	t.Setenv("PINBENCH_TEST_FORCE_OUTLIER", "600:30ms")
	code, stdout, stderr := runCLI("tune", "--out", out, "--force", "--bench-bin", bin, "--count", "1", "--benchtime", "1000x",
		"--matrix-reps", "1", "--matrix-transfers", "200", "--bench", "Handoff/via=aio/wait=block/place=unpinned",
		"--explain-outliers", "--outlier-factor", "500")
	if code != 0 {
		t.Fatalf("tune exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	traces, _ := filepath.Glob(filepath.Join(out, outliersDir, "Handoff_via_aio_wait_block_place_unpinned-*.trace"))
	if len(traces) == 0 || len(traces) > 3 {
		t.Fatalf("outlier traces %q, want 1 to 3 (the forced one, and any natural one)", traces)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("the earlier run's outliers folder was not replaced")
	}
	traced, err := os.ReadFile(filepath.Join(out, outliersDir, tracedRawFile))
	if err != nil || !strings.Contains(string(traced), "BenchmarkHandoff/via=aio/wait=block/place=unpinned") {
		t.Errorf("%s: %v; want the traced round's result in it:\n%s", tracedRawFile, err, traced)
	}
	left, _ := filepath.Glob(filepath.Join(out, "."+outliersDir+stagingMark+"*"))
	more, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+stagingMark+"*"))
	left = append(left, more...)
	if len(left) != 0 {
		t.Errorf("staging folders left: %q", left)
	}
	md, _ := os.ReadFile(filepath.Join(out, reportFile))
	for _, want := range []string{"## Outliers", "`outliers/Handoff_via_aio_wait_block_place_unpinned-", "hop 600 of BenchmarkHandoff/via=aio/wait=block/place=unpinned took", "blocked (sleep)"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	if !strings.Contains(stdout, "outlier: hop 600 of") || !strings.Contains(stderr, "explaining outliers") {
		t.Errorf("no outlier line on stdout or no stage on stderr:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}

	// A run without --explain-outliers leaves no outliers folder that its
	// report does not list.
	code, stdout, stderr = runCLI("tune", "--out", out, "--force", "--bench-bin", bin, "--count", "1", "--benchtime", "1x",
		"--matrix-reps", "1", "--matrix-transfers", "200", "--bench", "Floor")
	if code != 0 {
		t.Fatalf("tune exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, outliersDir)); err == nil {
		t.Errorf("outliers folder after a run without --explain-outliers: %v; stderr:\n%s", err, stderr)
	}
}

// Where the benchmark binary's flight recorder cannot start, tune
// --explain-outliers fails before the benchmarks with one line that says
// so, and leaves no outliers folder.
func TestTuneExplainOutliersWithoutFlightRecorder(t *testing.T) {
	bin := builtBench(t)
	out := t.TempDir()
	t.Setenv("PINBENCH_TEST_NO_FLIGHT_RECORDER", "1")
	code, _, stderr := runCLI("tune", "--out", out, "--bench-bin", bin, "--count", "1", "--benchtime", "1x",
		"--matrix-reps", "1", "--matrix-transfers", "100", "--bench", "Floor", "--explain-outliers")
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	if code != 1 || !strings.HasPrefix(last, "pinbench tune: --explain-outliers: the benchmark binary") ||
		!strings.Contains(last, "flight recorder is unavailable") || strings.Contains(stderr, "[4/5") {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 before the benchmarks, a last line saying the flight recorder is unavailable", code, stderr)
	}
	if left, _ := filepath.Glob(filepath.Join(out, "*outliers*")); len(left) != 0 {
		t.Errorf("left %q", left)
	}
	if code, _, stderr := runCLI("tune", "--outlier-factor", "1"); code != 2 || !strings.Contains(stderr, "--outlier-factor 1: want more than 1") {
		t.Errorf("--outlier-factor 1: exit %d, %q", code, stderr)
	}
}
