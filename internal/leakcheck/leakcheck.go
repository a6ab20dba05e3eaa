// Package leakcheck checks that a test leaves no goroutine and no OS thread
// behind: every thread and goroutine it started has been joined.
//
// The Go runtime never ends an idle thread (M), and a thread blocked in a
// system call (an iothread asleep on its futex) makes it start another one
// for the P it hands off. So a test may end with fewer threads than it
// started with, never more, once WarmThreads has filled the runtime's idle
// pool; a locked goroutine that exits takes its thread with it.
package leakcheck

import (
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Threads returns the number of OS threads of this process.
func Threads(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatalf("reading /proc/self/task: %v", err)
	}
	return len(ents)
}

// Check fills the runtime's idle thread pool, records the goroutine and
// OS thread counts and, when the test ends, fails it unless both are back
// to (at most) where they were within a few seconds (an exiting thread
// takes a moment to disappear). Threads the test needs then come from the
// pool rather than being created and kept, and a locked thread that ends
// takes one thread out of the count: a test may end with fewer threads
// than it began with, never more.
func Check(t *testing.T) {
	t.Helper()
	WarmThreads(24)
	g0, th0 := runtime.NumGoroutine(), Threads(t)
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			g, th := runtime.NumGoroutine(), Threads(t)
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

// Goroutines records the goroutine count now and, when the test ends,
// fails it unless the count is back to (at most) where it was. Use it with
// a check that each thread the test started has ended (osthread.Gone), where
// the runtime's own thread pool may legitimately grow: a locked goroutine
// blocked in a channel receive makes the runtime start a thread for the P
// it hands off, and that thread stays idle for ever.
func Goroutines(t *testing.T) {
	t.Helper()
	g0 := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > g0 {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("leak: %d goroutines (started with %d)\n%s", runtime.NumGoroutine(), g0, buf)
				return
			}
			time.Sleep(time.Millisecond)
		}
	})
}

// WarmThreads fills the runtime's pool of idle threads (call it from
// TestMain): many goroutines blocked in a system call at once each hold a
// thread, and the runtime starts threads for the others; they all go idle
// afterwards and stay, so threads the tests need later come from the pool.
func WarmThreads(blocked int) {
	done := make(chan struct{})
	for range blocked {
		go func() {
			ts := unix.NsecToTimespec(int64(20 * time.Millisecond))
			unix.Nanosleep(&ts, nil)
			done <- struct{}{}
		}()
	}
	for range blocked {
		<-done
	}
}
