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
// many CPUs as the class can spread over; the iothreads sit on CPUs that are
// pairwise the class apart (unpinned: the OS places them). Extra metrics:
// schedules/s, retry/op (takes that found a slot empty), here/op (schedules
// onto the scheduler's own context).
func BenchmarkSchedule(b *testing.B) {
	for _, class := range append(affinity.Classes(), affinity.Unpinned) {
		cpus, skip := scheduleCPUs(topo, class)
		name := fmt.Sprintf("contexts=%d/place=%s", len(cpus), class)
		if skip != "" {
			name = fmt.Sprintf("contexts=%d/place=%s", ScheduleContexts, class)
		}
		b.Run(name, func(b *testing.B) {
			if skip != "" {
				b.Skip(skip)
			}
			ensureProcs(b, len(cpus)+1)
			res, err := RunSchedule(cpus, b.N)
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

// scheduleCPUs returns the iothreads' CPUs for class (Unpinned entries for
// the unpinned baseline), or why the class cannot run here.
func scheduleCPUs(t *affinity.Topology, class affinity.Class) ([]int, string) {
	if class == affinity.Unpinned {
		n := min(ScheduleContexts, t.Allowed.Count())
		cpus := make([]int, max(n, 2))
		for i := range cpus {
			cpus[i] = Unpinned
		}
		return cpus, ""
	}
	cpus, err := t.Group(class, ScheduleContexts)
	if err != nil {
		return nil, err.Error()
	}
	if len(cpus) < 2 {
		return nil, fmt.Sprintf("fewer than two allowed CPUs are %s apart", class)
	}
	return cpus, ""
}

// ScheduleResult is what one RunSchedule measured.
type ScheduleResult struct {
	Counts  aio.ScheduleCounts
	Elapsed time.Duration
}

// RunSchedule starts one iothread per CPU (Unpinned: not pinned), runs the
// circulating random schedule until at least ops takes were made, stops it,
// joins the iothreads and checks the slot invariants.
func RunSchedule(cpus []int, ops int) (res ScheduleResult, err error) {
	threads := make([]*aio.IOThread, 0, len(cpus))
	defer func() {
		for _, t := range threads {
			if jerr := t.Join(); jerr != nil && err == nil {
				err = jerr
			}
		}
	}()
	for i, cpu := range cpus {
		var set affinity.CPUSet
		if cpu >= 0 {
			set = affinity.NewCPUSet(cpu)
		}
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
	for _, class := range append(affinity.Classes(), affinity.Unpinned) {
		t.Run("place="+string(class), func(t *testing.T) {
			cpus, skip := scheduleCPUs(topo, class)
			if skip != "" {
				t.Skip(skip)
			}
			leakcheck.Goroutines(t)
			res, err := RunSchedule(cpus, ops)
			if err != nil {
				t.Fatal(err)
			}
			if res.Counts.Total() < int64(ops) {
				t.Fatalf("%v: fewer than %d takes", res.Counts, ops)
			}
			t.Logf("%d contexts: %v", len(cpus), res.Counts)
		})
	}
}
