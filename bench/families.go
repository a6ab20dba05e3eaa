package bench

import (
	"errors"
	"flag"
	"fmt"
	"iter"
	"runtime"
	"testing"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/bench/internal/workload"
	"github.com/pinbench/pinbench/coroutine"
	"github.com/pinbench/pinbench/internal/harness"
	"github.com/pinbench/pinbench/internal/spinwait"
)

// The benchmark families of the suite. Each family's doc (what one op is,
// its names and extra metrics) is on its BenchmarkX function in the test
// files; the leaves here are the bodies both `go test` and the pinbench
// binary run.

// spinning marks a benchmark whose sides busy-wait: on one CPU they would
// measure the scheduler's time slice, so samecpu is skipped.
type spinning bool

// body is a leaf body for one CPU pair of a placement (both Unpinned for
// the unpinned baseline).
type pairBody func(b *testing.B, full string, a, c int) error

// placements returns a leaf `place=P` for every placement class
// (innermost first) and for unpinned; a class the machine lacks is
// skipped with the reason.
func (s suiteBuilder) placements(spin spinning, allocs bool, body pairBody) []*Node {
	var out []*Node
	for _, class := range append(affinity.Classes(), affinity.Unpinned) {
		a, c, reason := placementCPUs(s.t, class, bool(spin))
		out = append(out, leaf("place="+string(class), reason, allocs, func(b *testing.B, full string) error {
			return body(b, full, a, c)
		}))
	}
	return out
}

// pinnedPlacements is placements for the families with a pin= key: pinned
// classes are `pin=cpu/place=P`, the unpinned baseline `place=unpinned`
// (its threads are not pinned at all).
func (s suiteBuilder) pinnedPlacements(spin spinning, allocs bool, body pairBody) []*Node {
	out := s.placements(spin, allocs, body)
	for _, n := range out {
		if n.Name != "place="+string(affinity.Unpinned) {
			n.Name = "pin=cpu/" + n.Name
		}
	}
	return out
}

// nodePlacements returns leaves `pin=node/place=P` for P in nodeClasses,
// with n iothreads pinned per NUMA node (see nodeSets), or skipped with
// the reason. The "pin-node" configuration line says which node sets
// they are.
func (s suiteBuilder) nodePlacements(spin spinning, n int, allocs bool, body func(b *testing.B, full string, sets []affinity.CPUSet) error) []*Node {
	var out []*Node
	for _, class := range nodeClasses {
		sets, reason := nodeSets(s.t, class, n, bool(spin))
		out = append(out, leaf("pin=node/place="+string(class), reason, allocs, func(b *testing.B, full string) error {
			return body(b, full, sets)
		}))
	}
	return out
}

// placementCPUs returns the CPU pair for class, or why it cannot run here.
func placementCPUs(t *affinity.Topology, class affinity.Class, spin bool) (a, c int, skip string) {
	if class == affinity.Unpinned {
		if spin && t.Allowed.Count() < 3 {
			return 0, 0, fmt.Sprintf("both sides busy-wait and only %d CPUs are allowed: unpinned, the OS time-shares them with the rest of the process, which measures the scheduler", t.Allowed.Count())
		}
		return harness.Unpinned, harness.Unpinned, ""
	}
	if spin && class == affinity.SameCPU {
		return 0, 0, "both sides busy-wait: on one CPU they would measure the scheduler's time slice"
	}
	p, ok := t.Pair(class)
	if !ok {
		return 0, 0, fmt.Sprintf("no two allowed CPUs of this machine are %s apart (allowed %s; topology %s)", class, t.Allowed, t.Summary())
	}
	return p.A, p.B, ""
}

// Floor: one one-way cache-line transfer between two pinned threads.

func (s suiteBuilder) floorFamily() []*Node {
	return s.placements(true, false, func(b *testing.B, _ string, a, c int) error {
		harness.EnsureProcs(b, 3)
		timeout, err := harness.StallTimeout()
		if err != nil {
			return err
		}
		elapsed, n, err := pingPong(a, c, b.N, timeout, b.ResetTimer)
		if err != nil {
			return err
		}
		b.ReportMetric(float64(elapsed.Nanoseconds())/float64(n), "ns/op")
		return nil
	})
}

// Coroutine: one enter+yield, or one create-enter-finish, on one locked
// thread.

func coroutineFamily() []*Node {
	return append(switchLeaves(), lifecycleLeaves()...)
}

// switchLeaves are op=switch: one enter+yield round trip.
func switchLeaves() []*Node {
	return []*Node{
		leaf("op=switch/impl=coro", "", true, func(b *testing.B, _ string) error {
			lockForBenchmark(b)
			th := coroutine.NewLockedThread() // as an iothread has
			defer th.Close()
			co := th.New(func(self *coroutine.Coroutine) {
				for {
					self.Yield()
				}
			})
			th.Enter(co)
			for b.Loop() {
				th.Enter(co)
			}
			b.StopTimer()
			th.Destroy(co)
			return nil
		}),
		leaf("op=switch/impl=pull", "", true, func(b *testing.B, _ string) error {
			lockForBenchmark(b)
			next, stop := iter.Pull(func(yield func(struct{}) bool) {
				for yield(struct{}{}) {
				}
			})
			defer stop()
			for b.Loop() {
				next()
			}
			return nil
		}),
		leaf("op=switch/impl=goroutine", "", true, func(b *testing.B, _ string) error {
			lockForBenchmark(b)
			resume, yielded := make(chan struct{}), make(chan struct{})
			go func() {
				for range resume {
					yielded <- struct{}{}
				}
			}()
			defer close(resume)
			for b.Loop() {
				resume <- struct{}{}
				<-yielded
			}
			return nil
		}),
	}
}

// lifecycleLeaves are op=lifecycle: one create-enter-finish.
func lifecycleLeaves() []*Node {
	return []*Node{
		leaf("op=lifecycle/impl=coro", "", true, func(b *testing.B, _ string) error {
			lockForBenchmark(b)
			th := coroutine.NewLockedThread() // as an iothread has
			defer th.Close()
			empty := func(*coroutine.Coroutine) {}
			for b.Loop() {
				th.Enter(th.New(empty))
			}
			return nil
		}),
		leaf("op=lifecycle/impl=pull", "", true, func(b *testing.B, _ string) error {
			lockForBenchmark(b)
			seq := func(yield func(struct{}) bool) {}
			for b.Loop() {
				next, stop := iter.Pull(seq)
				next()
				stop()
			}
			return nil
		}),
		leaf("op=lifecycle/impl=goroutine", "", true, func(b *testing.B, _ string) error {
			lockForBenchmark(b)
			done := make(chan struct{})
			for b.Loop() {
				go func() { done <- struct{}{} }()
				<-done
			}
			return nil
		}),
	}
}

// lockForBenchmark locks the benchmark's goroutine to its thread, as an
// iothread is, for the duration of the benchmark.
func lockForBenchmark(b *testing.B) {
	runtime.LockOSThread()
	b.Cleanup(runtime.UnlockOSThread)
}

// Notify: one aio Notify as its caller sees it.

func notifyFamily() []*Node {
	var out []*Node
	for _, tc := range []struct {
		target string
		wait   aio.WaitMode
	}{{"awake", aio.WaitPoll}, {"asleep", aio.WaitBlock}} {
		out = append(out, leaf("target="+tc.target, "", false, func(b *testing.B, _ string) (err error) {
			harness.EnsureProcs(b, 3)
			it, err := aio.NewIOThread(affinity.CPUSet{}, aio.WithWaitMode(tc.wait))
			if err != nil {
				return err
			}
			defer func() { err = errors.Join(err, it.Join()) }()
			ctx := it.Context()
			wakes0 := ctx.Stats().Wakes
			var spent time.Duration
			var sleeps uint64 // the owner's sleeps seen before the last Notify
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if tc.wait == aio.WaitBlock {
					// Untimed: wait until the owner starts its next
					// sleep, so this Notify finds it asleep.
					n, err := waitNextSleep(ctx, sleeps)
					if err != nil {
						return err
					}
					sleeps = n
				}
				t0 := time.Now()
				ctx.Notify()
				spent += time.Since(t0)
			}
			b.StopTimer()
			b.ReportMetric(float64(spent.Nanoseconds())/float64(b.N), "ns/op")
			b.ReportMetric(float64(ctx.Stats().Wakes-wakes0)/float64(b.N), "wakeups/op")
			return nil
		}))
	}
	return out
}

// waitNextSleep spins until the context's owner has begun more sleeps
// than seen, and returns the new count.
func waitNextSleep(ctx *aio.AioContext, seen uint64) (uint64, error) {
	timeout, err := harness.StallTimeout()
	if err != nil {
		return 0, err
	}
	deadline := time.Now().Add(timeout)
	for {
		if n := ctx.Stats().Sleeps; n > seen {
			return n, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("stalled: the iothread did not go back to sleep within %v", timeout)
		}
		spinwait.Pause()
	}
}

// Queue: one item delivered from N pinned producers to one pinned
// consumer.

// queueVariants are the implementations compared: the project's queue at
// both paddings, then what a Go programmer would otherwise use.
var queueVariants = []struct {
	impl string
	pad  int // 0: no pad part in the name
}{{"mpsc", 128}, {"mpsc", 64}, {"chan", 0}, {"mutex", 0}}

func queueName(impl string, pad int) string {
	if pad == 0 {
		return "impl=" + impl
	}
	return fmt.Sprintf("impl=%s/pad=%d", impl, pad)
}

// queueMaxProducers caps the producers of BenchmarkQueue's place=all
// variant, so that its cost (and the number of threads it starts) stays
// bounded on machines with hundreds of CPUs; 16 producers already contend
// on the queue head from every corner of a large machine.
const queueMaxProducers = 16

func (s suiteBuilder) queueFamily() []*Node {
	var out []*Node
	for _, v := range queueVariants {
		g := group(queueName(v.impl, v.pad), group("producers=1", s.placements(true, true, func(b *testing.B, _ string, a, c int) error {
			return benchQueue(b, v.impl, v.pad, a, []int{c})
		})...))
		if all := s.t.Allowed.CPUs(); len(all) >= 3 { // below, one producer is already every other CPU
			consumer, producers := allProducers(all)
			g.Children = append(g.Children, leaf(fmt.Sprintf("producers=%d/place=all", len(producers)), "", true, func(b *testing.B, _ string) error {
				return benchQueue(b, v.impl, v.pad, consumer, producers)
			}))
		}
		out = append(out, g)
	}
	return out
}

// allProducers picks place=all's CPUs from the allowed ones (ascending):
// the last as the consumer, and up to queueMaxProducers of the others,
// evenly spaced so that they span every package and node.
func allProducers(all []int) (consumer int, producers []int) {
	consumer = all[len(all)-1] // avoid CPU 0 for the consumer
	rest := all[:len(all)-1]
	n := min(len(rest), queueMaxProducers)
	for i := range n {
		producers = append(producers, rest[i*len(rest)/n])
	}
	return consumer, producers
}

func benchQueue(b *testing.B, impl string, pad, consumer int, producers []int) error {
	q, err := workload.NewQueueImpl(impl, pad)
	if err != nil {
		return err
	}
	harness.EnsureProcs(b, len(producers)+2)
	run, err := workload.RunQueue(q, consumer, producers, b.N, b.ResetTimer)
	if err != nil {
		return err
	}
	b.ReportMetric(float64(run.Elapsed.Nanoseconds())/float64(run.Items), "ns/op")
	reportRatio(b, float64(run.Items), run.Elapsed.Seconds(), "items/s")
	return nil
}

// Mutex: one lock-increment-unlock of QEMU's test-aio-multithread loop.

// mutexContexts is how many iothreads the place=all and contended runs of
// BenchmarkMutex use: QEMU's NUM_CONTEXTS.
const mutexContexts = 5

func (s suiteBuilder) mutexFamily() []*Node {
	var out []*Node
	for _, impl := range workload.MutexImpls {
		out = append(out,
			group("impl="+impl+"/contexts=2", s.placements(false, true, func(b *testing.B, _ string, a, c int) error {
				return benchMutex(b, impl, []int{a, c})
			})...),
			leaf(fmt.Sprintf("impl=%s/contexts=%d/place=all", impl, mutexContexts), "", true, func(b *testing.B, _ string) error {
				return benchMutex(b, impl, spreadCPUs(s.t, mutexContexts))
			}),
			leaf(fmt.Sprintf("impl=%s/contexts=%d/place=unpinned", impl, mutexContexts), "", true, func(b *testing.B, _ string) error {
				cpus := make([]int, mutexContexts)
				for i := range cpus {
					cpus[i] = harness.Unpinned
				}
				return benchMutex(b, impl, cpus)
			}))
	}
	return out
}

// spreadCPUs returns n CPUs for n iothreads: the allowed CPUs in order,
// round robin.
func spreadCPUs(t *affinity.Topology, n int) []int {
	allowed := t.Allowed.CPUs()
	cpus := make([]int, n)
	for i := range cpus {
		cpus[i] = allowed[i%len(allowed)]
	}
	return cpus
}

// benchTimeLimit is the -test.benchtime of a time-based run (0 for an
// Nx count, which runs exactly its iterations): the bound of each run of
// a benchmark whose cost is not linear in b.N (see bench/internal/workload's mutexRun.startLine).
// Testing's iteration column then shows the b.N asked for; every per-op
// figure the benchmark reports divides by the iterations made (see
// madeAllocs).
func benchTimeLimit() time.Duration {
	f := flag.Lookup("test.benchtime")
	if f == nil {
		return 0
	}
	d, err := time.ParseDuration(f.Value.String())
	if err != nil {
		return 0
	}
	return d
}

// madeAllocs reports B/op and allocs/op over the iterations a run made
// when its time limit ended it before b.N: testing divides its own by b.N,
// which would hide a per-iteration allocation. ReportMetric's override of
// the built-in units is documented; b.N itself is testing's to set.
type madeAllocs struct{ start runtime.MemStats }

// clockStart is the run's ClockStart: the allocation count is read, then
// the timer reset, so the read is not timed.
func (m *madeAllocs) clockStart(b *testing.B) func() {
	return func() {
		runtime.ReadMemStats(&m.start)
		b.ResetTimer()
	}
}

// report overrides testing's B/op and allocs/op when made < b.N.
func (m *madeAllocs) report(b *testing.B, made int64) {
	if made <= 0 || made >= int64(b.N) {
		return
	}
	var end runtime.MemStats
	runtime.ReadMemStats(&end)
	b.ReportMetric(float64(end.Mallocs-m.start.Mallocs)/float64(made), "allocs/op")
	b.ReportMetric(float64(end.TotalAlloc-m.start.TotalAlloc)/float64(made), "B/op")
}

func benchMutex(b *testing.B, impl string, cpus []int) error {
	harness.EnsureProcs(b, len(cpus)+1)
	var allocs madeAllocs
	res, err := workload.RunMutex(workload.MutexConfig{Impl: impl, CPUs: cpus, Ops: b.N, OnStart: allocs.clockStart(b), TimeLimit: benchTimeLimit()})
	if err != nil {
		return err
	}
	allocs.report(b, res.Ops)
	n := float64(res.Ops)
	b.ReportMetric(float64(res.Elapsed.Nanoseconds())/n, "ns/op")
	reportRatio(b, n, res.Elapsed.Seconds(), "ops/s")
	if res.Handoffs >= 0 {
		b.ReportMetric(float64(res.Handoffs)/n, "handoffs/op")
	}
	b.ReportMetric(float64(res.Wakes)/n, "wakeups/op")
	return nil
}

// Schedule: one take of QEMU's random schedule among N iothreads.

// scheduleContexts is how many iothreads QEMU's test-aio-multithread uses.
const scheduleContexts = 5

func (s suiteBuilder) scheduleFamily() []*Node {
	type variant struct {
		pin   pinMode
		class affinity.Class
	}
	var variants []variant
	for _, class := range append(affinity.Classes(), affinity.Unpinned) {
		variants = append(variants, variant{pinCPU, class})
	}
	for _, class := range nodeClasses {
		variants = append(variants, variant{pinNode, class})
	}
	var out []*Node
	for _, v := range variants {
		sets, skip := scheduleSets(s.t, v.pin, v.class)
		n := len(sets)
		if skip != "" {
			n = scheduleContexts
		}
		name := fmt.Sprintf("contexts=%d/pin=%s/place=%s", n, v.pin, v.class)
		if v.class == affinity.Unpinned {
			name = fmt.Sprintf("contexts=%d/place=%s", n, v.class)
		}
		out = append(out, leaf(name, skip, false, func(b *testing.B, _ string) error {
			harness.EnsureProcs(b, len(sets)+1)
			res, err := workload.RunSchedule(sets, b.N, benchTimeLimit(), b.ResetTimer)
			if err != nil {
				return err
			}
			total := float64(res.Counts.Total())
			b.ReportMetric(float64(res.Elapsed.Nanoseconds())/total, "ns/op")
			reportRatio(b, total, res.Elapsed.Seconds(), "schedules/s")
			b.ReportMetric(float64(res.Counts.Retry)/total, "retry/op")
			b.ReportMetric(float64(res.Counts.Queued)/total, "here/op")
			return nil
		}))
	}
	return out
}

// scheduleSets returns the iothreads' pin sets for pin mode and class
// (empty sets for the unpinned baseline), or why they cannot run here.
func scheduleSets(t *affinity.Topology, pin pinMode, class affinity.Class) ([]affinity.CPUSet, string) {
	if pin == pinNode {
		return nodeSets(t, class, scheduleContexts, false)
	}
	if class == affinity.Unpinned {
		n := min(scheduleContexts, t.Allowed.Count())
		return make([]affinity.CPUSet, max(n, 2)), ""
	}
	if _, _, skip := placementCPUs(t, class, false); skip != "" {
		return nil, skip // the same reason as every other benchmark's
	}
	cpus, err := t.Group(class, scheduleContexts)
	if err != nil {
		return nil, err.Error()
	}
	if len(cpus) < 2 {
		return nil, fmt.Sprintf("fewer than two allowed CPUs are %s apart", class)
	}
	sets := make([]affinity.CPUSet, len(cpus))
	for i, c := range cpus {
		sets[i] = harness.OnCPU(c)
	}
	return sets, ""
}
