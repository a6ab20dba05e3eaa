package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/tune"
	"golang.org/x/perf/benchfmt"
)

// runCLI runs the command line in-process and returns its exit status and
// output.
func runCLI(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// The tuning run in test mode (tiny benchmark times, two samples) goes end
// to end and writes every file it promises, taking the samples in
// interleaved rounds.
func TestTuneEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the benchmark binary")
	}
	out := t.TempDir()
	code, stdout, stderr := runCLI("tune", "--out", out, "--count", "2", "--benchtime", "2x",
		"--matrix-reps", "1", "--matrix-transfers", "200", "--bench", "Floor|Notify|Coroutine/op=switch|Handoff/via=aio/wait=block/place")
	if code != 0 {
		t.Fatalf("tune exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, name := range []string{rawFile, topologyFile, reportFile, "heatmap.svg", "heatmap.png", matrixFile, matrixLongFile} {
		st, err := os.Stat(filepath.Join(out, name))
		if err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty after tune: %v", name, err)
		}
	}
	raw, _ := os.ReadFile(filepath.Join(out, rawFile))
	for _, want := range []string{"machine: ", "topology: ", "BenchmarkFloor/place=", "BenchmarkNotify/target=asleep"} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("%s lacks %q", rawFile, want)
		}
	}
	// Two rounds: each benchmark's two samples are a whole suite apart.
	var order []string
	rd := benchfmt.NewReader(bytes.NewReader(raw), rawFile)
	for rd.Scan() {
		switch rec := rd.Result().(type) {
		case *benchfmt.Result:
			order = append(order, string(rec.Name))
		case *benchfmt.SyntaxError:
			t.Error(rec)
		}
	}
	if n := len(order); n < 4 || n%2 != 0 || !slices.Equal(order[:n/2], order[n/2:]) {
		t.Errorf("results not in two identical rounds: %q", order)
	}
	if !strings.Contains(stderr, "round 2/2") {
		t.Errorf("no round progress on stderr:\n%s", stderr)
	}
	if !strings.Contains(stderr, "[4/5") || !strings.Contains(stderr, "left") {
		t.Errorf("no progress on stderr:\n%s", stderr)
	}
	if !strings.Contains(stdout, "report: ") {
		t.Errorf("no report summary on stdout:\n%s", stdout)
	}

	// The report rebuilds from the raw file alone, and compare reads it.
	code, _, stderr = runCLI("report", "--out", t.TempDir(), filepath.Join(out, rawFile))
	if code != 0 {
		t.Fatalf("report exited %d: %s", code, stderr)
	}
	code, stdout, stderr = runCLI("compare", out, filepath.Join(out, rawFile))
	if code != 0 || !strings.Contains(stdout, "place") {
		t.Fatalf("compare exited %d: %s\n%s", code, stderr, stdout)
	}
}

// Bad input gets one line on stderr and a non-zero exit, before any
// measuring, and no report.
func TestTuneAndReportBadInput(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-folder")
	writeFile(t, file, "x")
	garbage := filepath.Join(t.TempDir(), "bench.txt")
	writeFile(t, garbage, "BenchmarkX 12 abc ns/op\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tune", "--out", filepath.Join(file, "sub")}, "output folder"},
		{[]string{"tune", "--count", "-1"}, "must not be negative"},
		{[]string{"tune", "--bench-bin", "/nonexistent/bench.test", "--out", t.TempDir(), "--matrix-reps", "1", "--matrix-transfers", "100"}, "/nonexistent/bench.test"},
		{[]string{"report", filepath.Join(t.TempDir(), "missing.txt")}, "missing.txt"},
		{[]string{"report", garbage}, "bench.txt"},
		{[]string{"report"}, "at least one"},
		{[]string{"compare", garbage}, "two or more"},
		{[]string{"matrix", "--reps", "0"}, "--reps"},
	} {
		code, _, stderr := runCLI(tc.args...)
		if code == 0 {
			t.Errorf("%v: exit 0, want an error", tc.args)
			continue
		}
		// Progress lines may come first; the error is one last line.
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		last := lines[len(lines)-1]
		if !strings.HasPrefix(last, "pinbench ") || !strings.Contains(last, tc.want) {
			t.Errorf("%v: stderr %q, want a last line \"pinbench ...\" mentioning %q", tc.args, stderr, tc.want)
		}
	}
	// The failed report left no report.md beside the garbage file.
	if _, err := os.Stat(filepath.Join(filepath.Dir(garbage), reportFile)); err == nil {
		t.Error("a report.md was written from a malformed raw file")
	}
}

// --sweep adds the poll-window sweep to quick mode, beside the figures'
// own flags (the topology lab's tuning run is made of these).
func TestTuneSweepFlag(t *testing.T) {
	o, plan, err := tuneOptions([]string{"--sweep", "--benchtime", "10x", "--matrix-reps", "3"}, io.Discard)
	if err != nil || plan || o.Mode != tune.Quick || !o.Sweep || o.Benchtime != "10x" || o.MatrixReps != 3 {
		t.Errorf("tune --sweep --benchtime 10x --matrix-reps 3: %+v, plan %v, %v; want quick mode with the sweep and those figures", o, plan, err)
	}
	if o, _, _ := tuneOptions(nil, io.Discard); o.Sweep {
		t.Error("tune without --sweep: Sweep set")
	}
}
