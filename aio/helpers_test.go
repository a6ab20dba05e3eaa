package aio

import (
	"flag"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pinbench/pinbench/affinity"
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
//
// The runtime never ends an idle thread (M), and it starts one whenever a
// thread blocks in a system call (an iothread asleep on its futex, a caller
// in Event.Wait) while goroutines wait for a P. So before counting,
// checkLeaks fills the runtime's idle pool (fillIdleThreads); threads the
// test needs then come from that pool rather than being created and kept,
// and an iothread's locked thread ends with it, taking one idle thread out
// of the count. A test may therefore end with fewer threads than it began
// with, never more.
func checkLeaks(t *testing.T) {
	t.Helper()
	fillIdleThreads()
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

// TestMain runs a round of iothreads before the tests, so that the
// runtime's one-off threads (sysmon, the template thread it uses to start
// threads from locked ones) exist before any leak check counts.
func TestMain(m *testing.M) {
	flag.Parse()
	warmThreads()
	os.Exit(m.Run())
}

// fillIdleThreads puts enough threads in the runtime's idle pool for a
// test's needs: many goroutines blocked in a system call at once each hold
// a thread, the runtime starts threads for the others, and they all go
// idle afterwards and stay.
func fillIdleThreads() {
	const blocked = 24
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

func warmThreads() {
	fillIdleThreads()
	var threads []*IOThread
	for range numContexts {
		it, err := NewIOThread(affinity.CPUSet{})
		if err != nil {
			panic(err)
		}
		threads = append(threads, it)
	}
	for _, it := range threads {
		it.Run(func() {})
	}
	for _, it := range threads {
		if err := it.Join(); err != nil {
			panic(err)
		}
	}
}

func runtimeGosched() { runtime.Gosched() }
