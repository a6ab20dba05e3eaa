package aio

// A port of QEMU's tests/unit/test-aio-multithread.c (the tests the seed
// patch introduced): /aio/multi/lifecycle here; /aio/multi/schedule, with
// its workload, is in internal/randsched.

import (
	"testing"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/leakcheck"
)

// numContexts is QEMU's NUM_CONTEXTS.
const numContexts = 5

// createAioContexts starts numContexts iothreads (QEMU's
// create_aio_contexts). This machine may have fewer CPUs than iothreads,
// so iothread i is pinned to allowed CPU i mod count: several share a CPU,
// which the adaptive wait handles (busy polling would need GOMAXPROCS > 5).
func createAioContexts(t *testing.T, opts ...Option) []*IOThread {
	t.Helper()
	allowed, err := affinity.Allowed()
	if err != nil {
		t.Fatal(err)
	}
	cpus := allowed.CPUs()
	threads := make([]*IOThread, numContexts)
	for i := range threads {
		it, err := NewIOThread(affinity.NewCPUSet(cpus[i%len(cpus)]), opts...)
		if err != nil {
			t.Fatal(err)
		}
		threads[i] = it
	}
	// QEMU's ctx_run(i, set_id_cb, &i): each thread learns its id. Here
	// the id is captured by each coroutine's closure; Run still checks that
	// every iothread answers, and that it runs where it is pinned.
	for i, it := range threads {
		want := cpus[i%len(cpus)]
		var got int
		mustRun(t, it, func() { got = affinity.CurrentCPU() })
		if got != want {
			t.Errorf("iothread %d runs on CPU %d, pinned to %d", i, got, want)
		}
	}
	return threads
}

// joinAioContexts stops the iothreads (QEMU's join_aio_contexts).
func joinAioContexts(t *testing.T, threads []*IOThread) {
	t.Helper()
	for _, it := range threads {
		if err := it.Join(); err != nil {
			t.Error(err)
		}
	}
}

func TestAioMulti(t *testing.T) {
	t.Run("lifecycle", func(t *testing.T) {
		leakcheck.Check(t)
		joinAioContexts(t, createAioContexts(t))
	})
}
