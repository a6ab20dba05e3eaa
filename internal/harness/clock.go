package harness

import (
	"runtime"
	"testing"
	"time"
)

// ClockStart is called just before a run's clock starts, on whichever
// thread starts it, with every side's set-up done. A benchmark passes
// b.ResetTimer, so that testing's timer, from which it sizes b.N, covers
// the measured part alone: counting the set-up of threads too, testing
// grows b.N by a few times per run instead of up to 100 times, and needed
// six or seven runs instead of four to six to reach a benchtime of
// 100ms. It must not block. The caller's goroutine does not touch what
// the hook may touch until the run returns: the hook synchronizes before
// the run's return (through the run's own hand-offs and its join).
type ClockStart func()

// Call calls f, when set.
func (f ClockStart) Call() {
	if f != nil {
		f()
	}
}

// epoch anchors MonoNow.
var epoch = time.Now()

// MonoNow is a monotonic clock in nanoseconds, comparable across threads:
// the runtime's vDSO clock read (unix.ClockGettime would be a real system
// call, several times dearer, and would inflate every sampled operation).
func MonoNow() int64 { return int64(time.Since(epoch)) }

// EnsureProcs raises GOMAXPROCS to at least n for the rest of the test or
// benchmark, restoring it afterwards: every busy side holds a P, and the
// test's own goroutine (the watchdog) needs one more.
func EnsureProcs(tb testing.TB, n int) {
	if old := runtime.GOMAXPROCS(0); old < n {
		runtime.GOMAXPROCS(n)
		tb.Cleanup(func() { runtime.GOMAXPROCS(old) })
	}
}
