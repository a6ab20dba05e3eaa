package randsched_test

// QEMU's /aio/multi/schedule (tests/unit/test-aio-multithread.c), and the
// non-stalling variant the benchmarks use.

import (
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/internal/leakcheck"
	"github.com/pinbench/pinbench/internal/randsched"
)

var long = flag.Bool("long", false, "run the 10 s schedule test (QEMU's slow mode)")

func TestMain(m *testing.M) {
	flag.Parse()
	leakcheck.WarmThreads(24)
	os.Exit(m.Run())
}

// numContexts is QEMU's NUM_CONTEXTS.
const numContexts = 5

// createAioContexts starts numContexts iothreads, iothread i pinned to
// allowed CPU i mod count (QEMU's create_aio_contexts).
func createAioContexts(t *testing.T) []*aio.IOThread {
	t.Helper()
	allowed, err := affinity.Allowed()
	if err != nil {
		t.Fatal(err)
	}
	cpus := allowed.CPUs()
	threads := make([]*aio.IOThread, numContexts)
	for i := range threads {
		it, err := aio.NewIOThread(affinity.NewCPUSet(cpus[i%len(cpus)]))
		if err != nil {
			t.Fatal(err)
		}
		threads[i] = it
	}
	for _, it := range threads {
		if err := it.Run(func() {}); err != nil {
			t.Fatal(err)
		}
	}
	return threads
}

func joinAioContexts(t *testing.T, threads []*aio.IOThread) {
	t.Helper()
	for _, it := range threads {
		if err := it.Join(); err != nil {
			t.Error(err)
		}
	}
}

// startSchedule checks t for leaked threads, starts variant v's schedule
// on numContexts new iothreads, joined when t ends, and returns it with
// the iothreads.
func startSchedule(t *testing.T, v randsched.Variant) (*randsched.Schedule, []*aio.IOThread) {
	t.Helper()
	leakcheck.Check(t)
	threads := createAioContexts(t)
	t.Cleanup(func() { joinAioContexts(t, threads) })
	r := randsched.New(threads, v, uint64(time.Now().UnixNano()))
	r.Start()
	return r, threads
}

// stopSchedule stops r, logs its counts and fails t if r saw its slot
// invariants broken.
func stopSchedule(t *testing.T, r *randsched.Schedule) randsched.Counts {
	t.Helper()
	c := r.Stop()
	t.Logf("%v", c)
	if err := r.Err(); err != nil {
		t.Error(err)
	}
	return c
}

func TestSchedule(t *testing.T) {
	seconds := 1
	if *long {
		seconds = 10
	}
	d := time.Duration(seconds) * time.Second

	// QEMU's own test, faithfully: it stalls once every coroutine has
	// parked, after exactly one failed take per coroutine.
	t.Run("schedule", func(t *testing.T) {
		r, _ := startSchedule(t, randsched.Stalling)
		time.Sleep(d)
		c := stopSchedule(t, r)
		if c.Retry != numContexts || c.Queued != numContexts {
			t.Errorf("%v: want queued %d, retry %d (QEMU's stall)", c, numContexts, numContexts)
		}
	})

	// The variant in which a failed take tries the other slots: it never
	// stalls, and every coroutine keeps circulating to the end.
	t.Run("schedule-circulating", func(t *testing.T) {
		r, threads := startSchedule(t, randsched.Circulating)
		time.Sleep(d / 2)
		before := make([]int64, numContexts)
		for i := range before {
			before[i] = r.CountsOf(i).Total()
		}
		time.Sleep(d - d/2)
		// A context that made no take in the second half is given a few
		// more seconds: on a loaded machine an iothread may wait that
		// long for a CPU or a Go P, but a coroutine lost by a missed
		// wake-up never moves again.
		for i := range before {
			if r.CountsOf(i).Total() > before[i] {
				continue
			}
			grace := time.Now().Add(3 * time.Second)
			for r.CountsOf(i).Total() <= before[i] && time.Now().Before(grace) {
				time.Sleep(time.Millisecond)
			}
			if after := r.CountsOf(i).Total(); after <= before[i] {
				t.Errorf("context %d stopped circulating: %d takes at half time, %d at the end and 3 s later\n%s", i, before[i], after, fmt.Sprintf("%+v", threads[i].Stats()))
			} else {
				t.Logf("context %d made no take in %v, then moved again (a loaded machine?)", i, d-d/2)
			}
		}
		c := stopSchedule(t, r)
		if c.Scheduled == 0 {
			t.Errorf("%v: nothing was scheduled across contexts", c)
		}
	})
}
