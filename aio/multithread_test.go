package aio

// A port of QEMU's tests/unit/test-aio-multithread.c (the tests the seed
// patch introduced): /aio/multi/lifecycle and /aio/multi/schedule, plus the
// non-stalling variant of the schedule test.

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

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
	seconds := 1
	if *long {
		seconds = 10
	}
	d := time.Duration(seconds) * time.Second

	// QEMU's own test, faithfully: it stalls once every coroutine has
	// parked, after exactly one failed take per coroutine.
	t.Run("schedule", func(t *testing.T) {
		leakcheck.Check(t)
		threads := createAioContexts(t)
		defer joinAioContexts(t, threads)
		r := NewRandomSchedule(threads, ScheduleStalling, uint64(time.Now().UnixNano()))
		r.Start()
		time.Sleep(d)
		c := r.Stop()
		t.Logf("%v", c)
		if err := r.Err(); err != nil {
			t.Error(err)
		}
		if c.Retry != numContexts || c.Queued != numContexts {
			t.Errorf("%v: want queued %d, retry %d (QEMU's stall)", c, numContexts, numContexts)
		}
	})

	// The variant in which a failed take tries the other slots: it never
	// stalls, and every coroutine keeps circulating to the end.
	t.Run("schedule-circulating", func(t *testing.T) {
		leakcheck.Check(t)
		threads := createAioContexts(t)
		defer joinAioContexts(t, threads)
		r := NewRandomSchedule(threads, ScheduleCirculating, uint64(time.Now().UnixNano()))
		r.Start()
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
				t.Errorf("context %d stopped circulating: %d takes at half time, %d at the end and 3 s later\n%s", i, before[i], after, describeIOThread(threads[i]))
			} else {
				t.Logf("context %d made no take in %v, then moved again (a loaded machine?)", i, d-d/2)
			}
		}
		c := r.Stop()
		t.Logf("%v", c)
		if err := r.Err(); err != nil {
			t.Error(err)
		}
		if c.Scheduled == 0 {
			t.Errorf("%v: nothing was scheduled across contexts", c)
		}
	})
}

// describeIOThread says what an iothread is doing, for failure messages:
// its context's handshake state and counters, and the kernel's view of its
// thread (state, CPU) from /proc.
func describeIOThread(it *IOThread) string {
	c := it.Context()
	stat, _ := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/stat", it.Tid()))
	fields := strings.Fields(string(stat[min(len(stat), strings.LastIndexByte(string(stat), ')')+1):]))
	state, cpu := "?", "?"
	if len(fields) > 36 {
		state, cpu = fields[0], fields[36]
	}
	return fmt.Sprintf("  tid %d (kernel state %s, last on CPU %s): notified %v, notifyMe %d, event %d, schedule queue empty %v, %+v",
		it.Tid(), state, cpu, c.notified.Load(), c.notifyMe.Load(), c.event.Load(), c.sched.Empty(), c.Stats())
}
