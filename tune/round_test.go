package tune

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/report"
)

// fakeSuite returns a suite program that prints stdout and exits with
// status code: a shell script standing in for a benchmark binary.
func fakeSuite(t *testing.T, stdout string, code int) suiteProg {
	t.Helper()
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh for a fake benchmark binary")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out.txt")
	if err := os.WriteFile(out, []byte(stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "suite.test")
	body := "#!/bin/sh\ncat '" + out + "'\nexit " + strconv.Itoa(code) + "\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return suiteProg{path: script}
}

// runRound reads the round's results with benchfmt: the names it reports,
// the output it copies (every line, a cut last line ended), and the errors
// it gives for output that is malformed or cut short (naming the line) or
// a program that failed (with its failure lines).
func TestRunRound(t *testing.T) {
	const good = "goos: linux\nBenchmarkFloor/place=smt-2   \t     100\t        12.5 ns/op\n" +
		"BenchmarkNotify\n" + // go test -v prints a name alone: not a result
		"BenchmarkNotify/target=asleep-2 \t 10\t 800 ns/op\t 0 B/op\n" +
		"--- BENCH: BenchmarkNotify\n    notify_test.go:10: a log line\n"
	cases := []struct {
		name   string
		stdout string
		code   int
		n      int
		err    string // "" for none
	}{
		{"good", good, 0, 2, ""},
		{"malformed", good + "BenchmarkHandoff/via=aio-2\t10\tfast ns/op\nBenchmarkFloor/place=llc-2\t10\t20 ns/op\n", 0, 3,
			"suite.test (stdout):7: parsing measurement: invalid syntax"},
		{"cut short", good + "BenchmarkHandoff/via=aio-2\t10", 0, 2,
			"suite.test (stdout):7: missing measurements"},
		{"failed", good + "BenchmarkHandoff/via=aio-2 \t--- FAIL: BenchmarkHandoff/via=aio-2\n    handoff_test.go:5: stalled\nFAIL\n", 1, 2,
			"benchmark run failed (exit status 1): --- FAIL: BenchmarkHandoff/via=aio-2; handoff_test.go:5: stalled; FAIL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			prog := fakeSuite(t, tc.stdout, tc.code)
			var w, stderr bytes.Buffer
			var names []string
			n, err := runRound(context.Background(), prog, nil, &w, &stderr, func(name string) { names = append(names, name) })
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.HasSuffix(err.Error(), tc.err)) {
				t.Errorf("error %v, want one ending %q", err, tc.err)
			}
			// A failed program's error wraps its exit status.
			if exit := new(exec.ExitError); tc.code != 0 && (!errors.As(err, &exit) || exit.ExitCode() != tc.code) {
				t.Errorf("error %v does not wrap the program's exit status %d", err, tc.code)
			}
			if n != tc.n || len(names) != tc.n || names[0] != "BenchmarkFloor/place=smt-2" || names[1] != "BenchmarkNotify/target=asleep-2" {
				t.Errorf("%d results %q, want %d starting BenchmarkFloor/place=smt-2, BenchmarkNotify/target=asleep-2", n, names, tc.n)
			}
			want := tc.stdout
			if !strings.HasSuffix(want, "\n") {
				want += "\n"
			}
			if w.String() != want {
				t.Errorf("copied output:\n%s\nwant:\n%s", w.String(), want)
			}
		})
	}
}

// finiteLines passes the output on line by line, however it is cut into
// writes, leaving out the NaN and infinite metrics of result lines with a
// warning for each, and everything else as it is.
func TestFiniteLines(t *testing.T) {
	const in = "goos: linux\nBenchmarkA-2 \t 10\t 5.0 ns/op\t NaN x/op\n--- BENCH: BenchmarkA\n" +
		"BenchmarkB-2 \t 10\t Inf ns/op\nBenchmarkC-2 \t 10\t 7.0 ns/op\n"
	const want = "goos: linux\nBenchmarkA-2 \t 10\t 5.0 ns/op\n--- BENCH: BenchmarkA\nBenchmarkC-2 \t 10\t 7.0 ns/op\n"
	for _, size := range []int{1, 7, len(in)} {
		var w, warn bytes.Buffer
		f := &finiteLines{w: &w, warn: &warn}
		for p := in; p != ""; {
			k := min(size, len(p))
			if n, err := f.Write([]byte(p[:k])); n != k || err != nil {
				t.Fatalf("Write: %d, %v", n, err)
			}
			p = p[k:]
		}
		if w.String() != want || len(f.line) != 0 {
			t.Errorf("writes of %d bytes: passed on %q (held %q), want %q", size, w.String(), f.line, want)
		}
		// Each warning on a line of its own, after any progress line.
		if got := warn.String(); strings.Count(got, "\nwarning: ") != 3 || strings.Count(got, "\n") != 6 || !strings.Contains(got, "warning: BenchmarkA-2: NaN x/op ") ||
			!strings.Contains(got, "warning: BenchmarkB-2: Inf ns/op ") || !strings.Contains(got, "warning: BenchmarkB-2: no finite") {
			t.Errorf("writes of %d bytes: warnings\n%s", size, got)
		}
	}
}

// runBenchmarks writes a results file that the report reads when the
// program reports NaN and infinite metrics: without them.
func TestRunBenchmarksNonFinite(t *testing.T) {
	prog := fakeSuite(t, "goos: linux\nBenchmarkFloor/place=smt-2 \t 100\t 12.5 ns/op\t NaN ratio/op\t -Inf x/s\n", 0)
	raw := filepath.Join(t.TempDir(), RawFile)
	// Locked, as Run's progress is: the child's stderr is copied into it
	// while runBenchmarks writes to it.
	var stderr bytes.Buffer
	mode := Mode{Name: "test", Count: 2, Benchtime: "1x"}
	if err := runBenchmarks(context.Background(), prog, ".", mode, nil, raw, &lockedWriter{w: &stderr}); err != nil {
		t.Fatal(err)
	}
	run, err := report.ReadFiles(raw)
	if err != nil {
		t.Fatalf("report.ReadFiles: %v", err)
	}
	if len(run.Results) != 2 || len(run.Results[0].Values) != 1 {
		t.Errorf("%d results, want 2 with ns/op alone", len(run.Results))
	}
	if !strings.Contains(stderr.String(), "warning: BenchmarkFloor/place=smt-2: NaN ratio/op ") || !strings.Contains(stderr.String(), "warning: BenchmarkFloor/place=smt-2: -Inf x/s ") {
		t.Errorf("progress lacks the warnings:\n%s", stderr.String())
	}
}

// A round whose every result is left out fails as a round without
// results, naming the cause, rather than passing on a results file the
// report cannot use.
func TestRunBenchmarksNoFiniteResult(t *testing.T) {
	prog := fakeSuite(t, "goos: linux\nBenchmarkFloor/place=smt-2 \t 100\t NaN ns/op\n", 0)
	raw := filepath.Join(t.TempDir(), RawFile)
	var stderr bytes.Buffer
	mode := Mode{Name: "test", Count: 2, Benchtime: "1x"}
	err := runBenchmarks(context.Background(), prog, ".", mode, nil, raw, &lockedWriter{w: &stderr})
	if err == nil || !strings.Contains(err.Error(), "round 1 of 2 produced no result with a finite measurement") {
		t.Fatalf("error %v, want round 1 refused for having no finite result", err)
	}
}
