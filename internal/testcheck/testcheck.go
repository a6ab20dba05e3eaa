// Package testcheck holds the small checks that the tests of several
// packages share: that a call panics with a sentence containing some text,
// how many bytes a call allocates on the heap, a process id that no
// process holds, and output against its golden file.
//
// It is imported by tests only, and imports nothing of the module, so any
// package's internal tests may use it.
package testcheck

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// Panics runs fn and returns the value it panicked with, failing the test
// (t.Fatalf) when fn returns normally or when the panic's text, as
// fmt.Sprint writes it, does not contain want. Call it from the test's own
// goroutine, as t.Fatalf requires.
func Panics(t testing.TB, want string, fn func()) (v any) {
	t.Helper()
	defer func() {
		t.Helper()
		v = recover()
		if v == nil {
			t.Fatalf("no panic, want one containing %q", want)
		}
		if s := fmt.Sprint(v); !strings.Contains(s, want) {
			t.Fatalf("panic %q, want one containing %q", s, want)
		}
	}()
	fn()
	return nil
}

// HeapBytes returns the bytes f allocates on the heap (the growth of
// runtime.MemStats.TotalAlloc across the call, after a collection). Other
// goroutines' allocations meanwhile count too, so a test compares it with a
// bound or another call's figure, not an exact size.
func HeapBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// DeadPid returns the id of a process that has exited and been reaped: the
// test binary run again with no test to run.
func DeadPid(t testing.TB) int {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// Golden compares got with the golden file at path or, when update is
// set, rewrites the file with got. updateFlag is the go test flag that
// sets update ("-update"), for the messages. A difference is shown by the
// sizes and, where both are text, the first line that differs.
func Golden(t testing.TB, path string, got []byte, update bool, updateFlag string) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test %s writes it)", err, updateFlag)
	}
	if bytes.Equal(got, want) {
		return
	}
	first := ""
	if utf8.Valid(got) && utf8.Valid(want) {
		g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		i := 0
		for i < len(g) && i < len(w) && g[i] == w[i] {
			i++
		}
		first = fmt.Sprintf("; first at line %d:\n got: %q\nwant: %q", i+1, lineOf(g, i), lineOf(w, i))
	}
	t.Errorf("%s differs (%d bytes, want %d; go test %s rewrites it if on purpose)%s", path, len(got), len(want), updateFlag, first)
}

// lineOf returns lines[i], or "(none)" past the end.
func lineOf(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(none)"
}
