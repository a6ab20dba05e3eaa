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
