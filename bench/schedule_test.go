package bench

import (
	"fmt"
	"testing"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/bench/internal/workload"
	"github.com/pinbench/pinbench/internal/harness"
	"github.com/pinbench/pinbench/internal/leakcheck"
)

// BenchmarkSchedule runs the non-stalling random schedule of QEMU's
// test-aio-multithread (aio.ScheduleCirculating) among N iothreads with the
// adaptive wait: each coroutine takes a coroutine published in a random
// slot and schedules it on that coroutine's home context. One op is one
// take attempted (a schedule, or a retry on an empty slot). N is 5, or as
// many CPUs as the class can spread over; with pin=cpu the iothreads sit on
// CPUs that are pairwise the class apart, with pin=node each is pinned to a
// NUMA node's allowed CPUs (place=node: all in one node; place=remote:
// spread over the nodes), and unpinned the OS places them. Extra metrics:
// schedules/s, retry/op (takes that found a slot empty), here/op (schedules
// onto the scheduler's own context). A run takes at least b.N, or stops at
// a time-based -benchtime (the cost of a run is not linear in its takes);
// its figures count the takes made (it reports no allocations), and
// testing's iteration column shows the b.N asked for.
func BenchmarkSchedule(b *testing.B) { runFamily(b) }

// The circulating schedule keeps running and keeps its slot invariants on
// every placement this machine has, and joins every thread it started.
func TestScheduleCirculates(t *testing.T) {
	ops := 20000
	if *long {
		ops = 5000000
	}
	harness.EnsureProcs(t, scheduleContexts+1)
	for _, pin := range []pinMode{pinCPU, pinNode} {
		classes := append(affinity.Classes(), affinity.Unpinned)
		if pin == pinNode {
			classes = nodeClasses
		}
		for _, class := range classes {
			t.Run(fmt.Sprintf("pin=%s/place=%s", pin, class), func(t *testing.T) {
				sets, skip := scheduleSets(topo, pin, class)
				if skip != "" {
					t.Skip(skip)
				}
				leakcheck.Goroutines(t)
				res, err := workload.RunSchedule(sets, ops, 0, nil)
				if err != nil {
					t.Fatal(err)
				}
				if res.Counts.Total() < int64(ops) {
					t.Fatalf("%v: fewer than %d takes", res.Counts, ops)
				}
				t.Logf("%d contexts: %v", len(sets), res.Counts)
			})
		}
	}
}
