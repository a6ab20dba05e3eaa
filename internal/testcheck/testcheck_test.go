package testcheck

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestPanicsReturnsTheValue(t *testing.T) {
	err := errors.New("coroutine: entering finished coroutine")
	if v := Panics(t, "finished", func() { panic(err) }); v != err {
		t.Errorf("Panics returned %v, want the panic value %v", v, err)
	}
}

// A call that does not panic, or panics with other words, fails the test.
func TestPanicsFails(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func()
	}{
		{"no panic", func() {}},
		{"other words", func() { panic("something else") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !fatals(t, func(ft testing.TB) { Panics(ft, "finished", tc.fn) }) {
				t.Error("Panics did not fail the test")
			}
		})
	}
}

// fatals runs fn with a fatalT on a goroutine of its own (t.Fatalf ends
// the goroutine it runs on) and reports whether fn called Fatalf.
func fatals(t testing.TB, fn func(testing.TB)) bool {
	ft := &fatalT{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(ft)
	}()
	<-done
	return ft.failed
}

// fatalT records a Fatalf and ends the goroutine, as testing's does.
type fatalT struct {
	testing.TB
	failed bool
}

func (f *fatalT) Helper() {}

func (f *fatalT) Fatalf(string, ...any) {
	f.failed = true
	runtime.Goexit()
}

var sink []byte

func TestHeapBytesCountsAnAllocation(t *testing.T) {
	if n := HeapBytes(func() { sink = make([]byte, 1<<20) }); n < 1<<20 {
		t.Errorf("a 1 MiB allocation counted %d bytes", n)
	}
}

// Golden writes the file under update, passes on the same bytes and fails
// on others or on a missing file.
func TestGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.golden")
	Golden(t, path, []byte("a\nb\n"), true, "-update")
	if data, err := os.ReadFile(path); err != nil || string(data) != "a\nb\n" {
		t.Fatalf("under update the golden holds %q (%v), want what was given", data, err)
	}
	Golden(t, path, []byte("a\nb\n"), false, "-update")
	for name, got := range map[string][]byte{"other text": []byte("a\nc\n"), "binary": {0xff, 0xfe}} {
		ft := &errorT{TB: t}
		Golden(ft, path, got, false, "-update")
		if !ft.failed {
			t.Errorf("%s: Golden did not fail the test", name)
		}
	}
	missing := filepath.Join(t.TempDir(), "missing.golden")
	if !fatals(t, func(ft testing.TB) { Golden(ft, missing, nil, false, "-update") }) {
		t.Error("Golden did not fail on a missing golden file")
	}
}

// errorT records an Errorf.
type errorT struct {
	testing.TB
	failed bool
}

func (e *errorT) Helper() {}

func (e *errorT) Errorf(string, ...any) { e.failed = true }
