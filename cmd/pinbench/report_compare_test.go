package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompareNameWithNewline: a run whose path holds a newline is shown
// quoted ("x\ny") in compare's table header and warnings, so that every
// header stays one line (issue 20, item 15).
func TestCompareNameWithNewline(t *testing.T) {
	var dirs []string
	for i, name := range []string{"plain", "two\nlines"} {
		dir := filepath.Join(t.TempDir(), name)
		data := "count: " + string(rune('5'+i)) + "\n" + strings.Repeat("BenchmarkFloor/place=llc-2 \t 1000 \t 50.0 ns/op\n", 6)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, rawFile), data)
		dirs = append(dirs, dir)
	}
	for _, args := range [][]string{{"compare"}, {"compare", "--markdown"}} {
		code, stdout, stderr := runCLI(append(args, dirs...)...)
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, stderr)
		}
		for _, out := range []string{stdout, stderr} {
			if strings.Contains(out, "two\nlines") || !strings.Contains(out, `two\nlines"`) {
				t.Errorf("%q: the path with a newline is not quoted:\n%s", args, out)
			}
		}
		for _, l := range strings.Split(stdout, "\n") {
			if strings.HasPrefix(l, "lines") {
				t.Errorf("%q: a line starts with the path's second line: %q\n%s", args, l, stdout)
			}
		}
	}
}
