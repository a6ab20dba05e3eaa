package colock

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/internal/leakcheck"
)

// long turns on the slow variants (QEMU's non-quick mode): go test -long.
var long = flag.Bool("long", false, "run the long variants of the stress tests (10 s mutex tests, TestCoQueueStress)")

// numContexts is QEMU's NUM_CONTEXTS.
const numContexts = 5

// TestMain runs a round of iothreads before the tests, so that the
// runtime's one-off threads exist before any leak check counts.
func TestMain(m *testing.M) {
	flag.Parse()
	leakcheck.WarmThreads(24)
	threads, err := startIOThreads(numContexts)
	if err != nil {
		panic(err)
	}
	if err := joinIOThreads(threads, 5*time.Second); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

// startIOThreads starts n iothreads, iothread i pinned to allowed CPU i
// mod count (QEMU's create_aio_contexts, which leaves them unpinned; here
// they are spread so that each test sees the same placement), waiting
// adaptively, and checks that each one answers Run.
func startIOThreads(n int) ([]*aio.IOThread, error) {
	allowed, err := affinity.Allowed()
	if err != nil {
		return nil, err
	}
	cpus := allowed.CPUs()
	threads := make([]*aio.IOThread, 0, n)
	for i := range n {
		it, err := aio.NewIOThread(affinity.NewCPUSet(cpus[i%len(cpus)]))
		if err != nil {
			joinIOThreads(threads, 5*time.Second)
			return nil, err
		}
		threads = append(threads, it)
	}
	for _, it := range threads {
		if err := it.Run(func() {}); err != nil {
			joinIOThreads(threads, 5*time.Second)
			return nil, err
		}
	}
	return threads, nil
}

// joinIOThreads joins every iothread, giving up with an error naming the
// first one that did not stop within limit (a coroutine stuck on it, not
// asleep, would keep it from running the stop request).
func joinIOThreads(threads []*aio.IOThread, limit time.Duration) error {
	for i, it := range threads {
		done := make(chan error, 1)
		go func() { done <- it.Join() }()
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("iothread %d: %w", i, err)
			}
		case <-time.After(limit):
			return fmt.Errorf("iothread %d (thread %d) did not stop within %v: a coroutine on it is stuck running", i, it.Tid(), limit)
		}
	}
	return nil
}

// ensureProcs raises GOMAXPROCS to n for the rest of the test: QEMU's
// threads are scheduled by the kernel alone, and here an iothread that
// runs Go code needs a P as well.
func ensureProcs(t *testing.T, n int) {
	if old := runtime.GOMAXPROCS(0); old < n {
		runtime.GOMAXPROCS(n)
		t.Cleanup(func() { runtime.GOMAXPROCS(old) })
	}
}
