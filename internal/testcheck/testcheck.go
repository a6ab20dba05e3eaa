// Package testcheck holds the small checks that the tests of several
// packages share: that a call panics with a sentence containing some text,
// how many bytes a call allocates on the heap, and a process id that no
// process holds.
//
// It is imported by tests only, and imports nothing of the module, so any
// package's internal tests may use it.
package testcheck

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
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
