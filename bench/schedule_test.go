package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/internal/leakcheck"
)

// ScheduleContexts is how many iothreads QEMU's test-aio-multithread uses.
const ScheduleContexts = 5

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
// onto the scheduler's own context).
func BenchmarkSchedule(b *testing.B) {
	type variant struct {
		pin   PinMode
		class affinity.Class
	}
	var variants []variant
	for _, class := range append(affinity.Classes(), affinity.Unpinned) {
		variants = append(variants, variant{PinCPU, class})
	}
	for _, class := range NodeClasses {
		variants = append(variants, variant{PinNode, class})
	}
	for _, v := range variants {
		sets, skip := scheduleSets(topo, v.pin, v.class)
		n := len(sets)
		if skip != "" {
			n = ScheduleContexts
		}
		name := fmt.Sprintf("contexts=%d/pin=%s/place=%s", n, v.pin, v.class)
		if v.class == affinity.Unpinned {
			name = fmt.Sprintf("contexts=%d/place=%s", n, v.class)
		}
		b.Run(name, func(b *testing.B) {
			if skip != "" {
				b.Skip(skip)
			}
			planLeaf(b)
			ensureProcs(b, len(sets)+1)
			res, err := RunSchedule(sets, b.N)
			if err != nil {
				b.Fatal(err)
			}
			total := float64(res.Counts.Total())
			b.ReportMetric(float64(res.Elapsed.Nanoseconds())/total, "ns/op")
			b.ReportMetric(total/res.Elapsed.Seconds(), "schedules/s")
			b.ReportMetric(float64(res.Counts.Retry)/total, "retry/op")
			b.ReportMetric(float64(res.Counts.Queued)/total, "here/op")
		})
	}
}

// scheduleSets returns the iothreads' pin sets for pin mode and class
// (empty sets for the unpinned baseline), or why they cannot run here.
func scheduleSets(t *affinity.Topology, pin PinMode, class affinity.Class) ([]affinity.CPUSet, string) {
	if pin == PinNode {
		return nodeSets(t, class, ScheduleContexts, false)
	}
	if class == affinity.Unpinned {
		n := min(ScheduleContexts, t.Allowed.Count())
		return make([]affinity.CPUSet, max(n, 2)), ""
	}
	if _, _, skip := placementCPUs(t, class, false); skip != "" {
		return nil, skip // the same reason as every other benchmark's
	}
	cpus, err := t.Group(class, ScheduleContexts)
	if err != nil {
		return nil, err.Error()
	}
	if len(cpus) < 2 {
		return nil, fmt.Sprintf("fewer than two allowed CPUs are %s apart", class)
	}
	sets := make([]affinity.CPUSet, len(cpus))
	for i, c := range cpus {
		sets[i] = OnCPU(c)
	}
	return sets, ""
}

// ScheduleResult is what one RunSchedule measured.
type ScheduleResult struct {
	Counts  aio.ScheduleCounts
	Elapsed time.Duration
}

// RunSchedule starts one iothread per pin set (empty: not pinned), runs the
// circulating random schedule until at least ops takes were made, stops it,
// joins the iothreads and checks the slot invariants.
func RunSchedule(sets []affinity.CPUSet, ops int) (res ScheduleResult, err error) {
	threads := make([]*aio.IOThread, 0, len(sets))
	defer func() {
		for _, t := range threads {
			if jerr := t.Join(); jerr != nil && err == nil {
				err = jerr
			}
		}
	}()
	for i, set := range sets {
		t, err := aio.NewIOThread(set, aio.WithWaitMode(aio.WaitAdaptive))
		if err != nil {
			return res, fmt.Errorf("iothread %d: %w", i, err)
		}
		threads = append(threads, t)
	}
	rs := aio.NewRandomSchedule(threads, aio.ScheduleCirculating, uint64(time.Now().UnixNano()))
	start := time.Now()
	rs.Start()
	last, lastChange := int64(-1), time.Now()
	for {
		n := rs.Counts().Total()
		if n >= int64(ops) {
			break
		}
		if n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) > DefaultStallTimeout {
			rs.Stop()
			return res, fmt.Errorf("stalled: the random schedule made no take for %v (after %d of %d)", DefaultStallTimeout, n, ops)
		}
		time.Sleep(time.Millisecond)
	}
	res.Counts = rs.Stop()
	res.Elapsed = time.Since(start)
	return res, rs.Err()
}

// The circulating schedule keeps running and keeps its slot invariants on
// every placement this machine has, and joins every thread it started.
func TestScheduleCirculates(t *testing.T) {
	ops := 20000
	if *long {
		ops = 5000000
	}
	ensureProcs(t, ScheduleContexts+1)
	for _, pin := range []PinMode{PinCPU, PinNode} {
		classes := append(affinity.Classes(), affinity.Unpinned)
		if pin == PinNode {
			classes = NodeClasses
		}
		for _, class := range classes {
			t.Run(fmt.Sprintf("pin=%s/place=%s", pin, class), func(t *testing.T) {
				sets, skip := scheduleSets(topo, pin, class)
				if skip != "" {
					t.Skip(skip)
				}
				leakcheck.Goroutines(t)
				res, err := RunSchedule(sets, ops)
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
