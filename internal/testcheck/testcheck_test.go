package testcheck

import (
	"errors"
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
			ft := &fatalT{TB: t}
			done := make(chan struct{})
			go func() { // t.Fatalf ends the goroutine it runs on
				defer close(done)
				Panics(ft, "finished", tc.fn)
			}()
			<-done
			if !ft.failed {
				t.Error("Panics did not fail the test")
			}
		})
	}
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
