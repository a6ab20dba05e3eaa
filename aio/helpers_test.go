package aio

import (
	"flag"
	"os"
	"runtime"
	"testing"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/leakcheck"
)

// long turns on the slow variants (QEMU's non-quick mode): go test -long.
var long = flag.Bool("long", false, "run the long variants of the stress tests (10 s schedule test)")

// quickOrSlow returns quick, or slow under go test -long: how many rounds
// a stress test makes.
func quickOrSlow(quick, slow int) int {
	if *long {
		return slow
	}
	return quick
}

// TestMain runs a round of iothreads before the tests, so that the
// runtime's one-off threads (sysmon, the template thread it uses to start
// threads from locked ones) exist before any leak check counts.
func TestMain(m *testing.M) {
	flag.Parse()
	warmThreads()
	os.Exit(m.Run())
}

func warmThreads() {
	leakcheck.WarmThreads(24)
	var threads []*IOThread
	for range numContexts {
		it, err := NewIOThread(affinity.CPUSet{})
		if err != nil {
			panic(err)
		}
		threads = append(threads, it)
	}
	for _, it := range threads {
		if err := it.Run(func() {}); err != nil {
			panic(err)
		}
	}
	for _, it := range threads {
		if err := it.Join(); err != nil {
			panic(err)
		}
	}
}

func runtimeGosched() { runtime.Gosched() }

// newIOThread starts an unpinned iothread with opts, failing the test
// when it cannot.
func newIOThread(t testing.TB, opts ...Option) *IOThread {
	t.Helper()
	it, err := NewIOThread(affinity.CPUSet{}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// mustRun runs fn on it, failing the test (from the caller's goroutine)
// when Run returns an error.
func mustRun(t testing.TB, it *IOThread, fn func()) {
	t.Helper()
	if err := it.Run(fn); err != nil {
		t.Fatal(err)
	}
}

// mainTid is the main thread's id: the process id.
func mainTid() int { return os.Getpid() }
