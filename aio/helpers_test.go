package aio

import (
	"flag"
	"os"
	"runtime"
	"testing"
	"time"
)

// long turns on the slow variants (QEMU's non-quick mode): go test -long.
var long = flag.Bool("long", false, "run the long variants of the stress tests (10 s schedule test)")

// threadCount returns the number of OS threads of this process.
func threadCount(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatalf("reading /proc/self/task: %v", err)
	}
	return len(ents)
}

// checkLeaks records the goroutine and OS thread counts now and, when the
// test ends, fails it unless both are back to (at most) where they were.
// The runtime keeps idle threads (Ms) for ever, so a test may end with
// fewer threads than it started with, never more: an iothread's thread
// ends with it, and threads the runtime needed meanwhile come from its idle
// pool, which TestMain fills.
func checkLeaks(t *testing.T) {
	t.Helper()
	g0, th0 := runtime.NumGoroutine(), threadCount(t)
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			g, th := runtime.NumGoroutine(), threadCount(t)
			if g <= g0 && th <= th0 {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("leak: %d goroutines (started with %d), %d OS threads (started with %d)\n%s", g, g0, th, th0, buf)
				return
			}
			time.Sleep(time.Millisecond)
		}
	})
}
