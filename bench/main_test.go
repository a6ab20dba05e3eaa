package bench

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/handoff"
	"github.com/pinbench/pinbench/internal/leakcheck"
	"github.com/pinbench/pinbench/internal/outlier"
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
	// window for each slow sampled via=aio handoff (see internal/outlier).
	explainOutliers = flag.Bool("explain-outliers", false, "keep a flight recorder of the execution trace and save its window to -outlier-dir when a sampled via=aio handoff takes more than -outlier-factor times the running median")
	outlierDir      = flag.String("outlier-dir", "outliers", "folder for -explain-outliers trace files (NAME-N.trace)")
	outlierFactor   = flag.Float64("outlier-factor", outlier.DefaultFactor, "with -explain-outliers: a sampled hop slower than this many times the running median is an outlier")
)

// suite is the benchmark catalogue for topo, built once in TestMain.
var suite []*Node

// runFamily runs the family of the suite that b names (BenchmarkFloor:
// the Floor family) with b.Run, in -plan mode skipping every leaf that
// would run with PlanSkip.
func runFamily(b *testing.B) {
	n := Find(suite, b.Name())
	if n == nil {
		b.Fatalf("no family %s in the suite", b.Name())
	}
	RunTree(b, n, *plan)
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
		suite = Suite(t, SuiteOptions{Sweep: *sweep})
		os.Exit(m.Run())
	}
	// Fill the runtime's idle thread pool, then run each kind of side
	// once, so the leak checks see the tests' own threads end rather than
	// threads the runtime starts once for its own use (the template thread
	// that creates threads on behalf of locked ones).
	leakcheck.WarmThreads(24)
	if err := handoff.WarmUp(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
	if err := startOutliersFlag(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(2)
	}
	suite = Suite(t, SuiteOptions{Sweep: *sweep, Outliers: outliers})
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
