package bench

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"testing"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/internal/leakcheck"
)

var (
	// sweep adds the poll-window sweep (BenchmarkHandoff with pollmax= and
	// rate= parts) that the tuning run's full mode asks for.
	sweep = flag.Bool("sweep", false, "also run the adaptive poll-window sweep of BenchmarkHandoff")
	// long makes the stress tests run for seconds instead of a fraction.
	long = flag.Bool("long", false, "run stress tests for longer")
	// plan lists the benchmarks without running any: every leaf that
	// would run skips with PlanSkip instead (run with -test.v to see the
	// names); skips keep their reasons. pinbench tune --plan reads it.
	plan = flag.Bool("plan", false, "list the benchmarks that would run (each skips with \""+PlanSkip+"\"), running none")
	// topologyRoot reads the topology from a sysfs capture instead of the
	// live machine: with -plan, what would run there.
	topologyRoot = flag.String("topology-root", "", "with -plan: read the topology from this sysfs capture instead of the live machine")
	// explainOutliers keeps the flight recorder running and saves its
	// window for each slow sampled via=aio handoff (see OutlierRecorder).
	explainOutliers = flag.Bool("explain-outliers", false, "keep a flight recorder of the execution trace and save its window to -outlier-dir when a sampled via=aio handoff takes more than -outlier-factor times the running median")
	outlierDir      = flag.String("outlier-dir", "outliers", "folder for -explain-outliers trace files (NAME-N.trace)")
	outlierFactor   = flag.Float64("outlier-factor", DefaultOutlierFactor, "with -explain-outliers: a sampled hop slower than this many times the running median is an outlier")
)

// planLeaf skips a leaf benchmark that would run, in -plan mode. Call it
// at the start of every leaf, after the skips that name a reason.
func planLeaf(b *testing.B) {
	if *plan {
		b.Skip(PlanSkip)
	}
}

// topo is the live machine, discovered once.
var topo *affinity.Topology

func TestMain(m *testing.M) {
	flag.Parse()
	if *topologyRoot != "" && !*plan {
		fmt.Fprintln(os.Stderr, "bench: -topology-root needs -plan: benchmarks run on the live machine only")
		os.Exit(2)
	}
	discover := affinity.Discover
	if *topologyRoot != "" {
		discover = func() (*affinity.Topology, error) { return affinity.DiscoverRoot(*topologyRoot) }
	}
	t, err := discover()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: topology discovery failed: %v\n", err)
		os.Exit(1)
	}
	topo = t
	if *plan {
		// Nothing runs: no warm-up, and the configuration lines of the
		// topology planned for.
		fmt.Print(FormatConfig(Config(t)))
		os.Exit(m.Run())
	}
	// Fill the runtime's idle thread pool, then run each kind of side
	// once, so the leak checks see the tests' own threads end rather than
	// threads the runtime starts once for its own use (the template thread
	// that creates threads on behalf of locked ones).
	leakcheck.WarmThreads(24)
	procs := runtime.GOMAXPROCS(3)
	for _, w := range []aio.WaitMode{aio.WaitBlock, aio.WaitPoll} {
		if _, err := RunAioHandoff(HandoffConfig{Wait: w, Hops: 100}); err != nil {
			fmt.Fprintf(os.Stderr, "bench: warm-up handoff failed: %v\n", err)
			os.Exit(1)
		}
	}
	if _, err := RunChanHandoff([2]int{Unpinned, Unpinned}, 0, 100); err != nil {
		fmt.Fprintf(os.Stderr, "bench: warm-up handoff failed: %v\n", err)
		os.Exit(1)
	}
	runtime.GOMAXPROCS(procs)
	if err := startOutliersFlag(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(2)
	}
	if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" {
		// Configuration lines go to stdout before any result, where
		// benchfmt and benchstat read them.
		fmt.Print(FormatConfig(Config(t)))
	}
	code := m.Run()
	if outliers != nil {
		outliers.Stop()
	}
	os.Exit(code)
}

// spinning marks a benchmark whose sides busy-wait: on one CPU they would
// measure the scheduler's time slice, so samecpu is skipped.
type spinning bool

// forEachPlacement runs body as a sub-benchmark `place=P` for every
// placement class (innermost first) and for unpinned. A class the machine
// lacks is skipped with the reason. body gets the two CPUs to use (both
// Unpinned for the unpinned baseline).
func forEachPlacement(b *testing.B, spin spinning, body func(b *testing.B, class affinity.Class, a, c int)) {
	for _, class := range append(affinity.Classes(), affinity.Unpinned) {
		b.Run("place="+string(class), func(b *testing.B) {
			a, c, reason := placementCPUs(topo, class, bool(spin))
			if reason != "" {
				b.Skip(reason)
			}
			planLeaf(b)
			body(b, class, a, c)
		})
	}
}

// forEachPinnedPlacement is forEachPlacement for the families with a pin=
// key: pinned classes run as `pin=cpu/place=P`, the unpinned baseline as
// `place=unpinned` (its threads are not pinned at all).
func forEachPinnedPlacement(b *testing.B, spin spinning, body func(b *testing.B, class affinity.Class, a, c int)) {
	for _, class := range append(affinity.Classes(), affinity.Unpinned) {
		name := "pin=cpu/place=" + string(class)
		if class == affinity.Unpinned {
			name = "place=unpinned"
		}
		b.Run(name, func(b *testing.B) {
			a, c, reason := placementCPUs(topo, class, bool(spin))
			if reason != "" {
				b.Skip(reason)
			}
			planLeaf(b)
			body(b, class, a, c)
		})
	}
}

// forEachNodePlacement runs body as `pin=node/place=P` for P in
// NodeClasses, with n iothreads pinned per NUMA node (see nodeSets), or
// skips with the reason. The "pin-node" configuration line says which
// node sets they are.
func forEachNodePlacement(b *testing.B, spin spinning, n int, body func(b *testing.B, sets []affinity.CPUSet)) {
	for _, class := range NodeClasses {
		b.Run("pin=node/place="+string(class), func(b *testing.B) {
			sets, reason := nodeSets(topo, class, n, bool(spin))
			if reason != "" {
				b.Skip(reason)
			}
			planLeaf(b)
			body(b, sets)
		})
	}
}

// placementCPUs returns the CPU pair for class, or why it cannot run here.
func placementCPUs(t *affinity.Topology, class affinity.Class, spin bool) (a, c int, skip string) {
	if class == affinity.Unpinned {
		if spin && t.Allowed.Count() < 3 {
			return 0, 0, fmt.Sprintf("both sides busy-wait and only %d CPUs are allowed: unpinned, the OS time-shares them with the rest of the process, which measures the scheduler", t.Allowed.Count())
		}
		return Unpinned, Unpinned, ""
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

// ensureProcs raises GOMAXPROCS to at least n for the rest of the test or
// benchmark, restoring it afterwards: every busy side holds a P, and the
// test's own goroutine (the watchdog) needs one more.
func ensureProcs(tb testing.TB, n int) {
	if old := runtime.GOMAXPROCS(0); old < n {
		runtime.GOMAXPROCS(n)
		tb.Cleanup(func() { runtime.GOMAXPROCS(old) })
	}
}
