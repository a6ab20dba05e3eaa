package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/bench"
	"github.com/pinbench/pinbench/internal/capture"
	"github.com/pinbench/pinbench/matrix/measure"
)

// tune --plan: what a tuning run would do, and how long it would take,
// without measuring anything that matters. The benchmark list comes from
// the benchmark binary itself (its -plan mode skips every benchmark that
// would run with bench.PlanSkip, and every other with its reason), so the
// plan names exactly what the run will; the estimate comes from a cost
// model whose few constants are measured on this machine in a second or
// two, or are the documented defaults below when planning for a capture.

// namedMode is a tuning mode with its name ("quick", "full", "lab").
type namedMode struct {
	name string
	mode tuneMode
}

// planRequest is what tune --plan was asked.
type planRequest struct {
	root     string    // sysfs capture to plan for; "" for this machine
	prog     suiteProg // the program that runs the suite
	filter   string    // -bench
	parallel bool      // --parallel matrix
	modes    []namedMode
}

// costs are the cost model's constants.
type costs struct {
	measure.Costs // the matrix's: its ping-pong's transfers and fixed cost
	// leafFixed is what one benchmark leaf of each group (leafGroup)
	// costs beyond its timed runs (every run's set-up and tear-down along
	// testing's b.N ramp, the counting runs), timed on one sample leaf
	// per group for time-based benchtimes; nil when not timed, and the
	// model's runsPerLeaf x leafStart stands in.
	leafFixed     map[string]time.Duration
	leafStart     time.Duration // one benchmark run's fixed cost: iothreads started and joined
	roundOverhead time.Duration // one run of the benchmark binary with nothing to run (TestMain)
	measured      bool          // measured here, not the defaults
}

// defaultCosts are used when planning for a capture (the costs of this
// machine say nothing about the captured one): a 100 ns cross-core
// transfer, thread start-up of a few hundred microseconds, and a
// benchmark binary that starts in half a second.
var defaultCosts = costs{Costs: measure.Costs{TransferNs: 100, PingFixed: 400 * time.Microsecond}, leafStart: 3 * time.Millisecond, roundOverhead: 500 * time.Millisecond}

// Benchmark time model: testing runs a benchmark with b.N = 1, then with
// growing b.N until one run takes -benchtime, so a leaf costs about 1.3x
// its benchtime plus the fixed cost of a few runs; via=aio handoffs add a
// counting run of a quarter of the timed one.
const (
	benchtimeFactor        = 1.3
	handoffBenchtimeFactor = 1.55
	runsPerLeaf            = 4
	defaultOpNs            = 1000 // per iteration, for -benchtime Nx
	reportCost             = time.Second
)

func runPlan(req planRequest, stdout, stderr io.Writer) error {
	var t *affinity.Topology
	var err error
	if req.root != "" {
		dir, cleanup, err := capture.Root(req.root)
		if err != nil {
			return err
		}
		defer cleanup()
		shown := req.root
		req.root = dir
		t, err = affinity.DiscoverRoot(dir)
		if err != nil {
			return err
		}
		t.Root = shown
	} else {
		t, err = affinity.Discover()
	}
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	where := "this machine"
	if req.root != "" {
		where = "the capture " + t.Root
	}
	fmt.Fprintf(w, "pinbench tune --plan for %s: %s (%s)\n\n", where, bench.MachineID(t), t.Summary())

	fmt.Fprintln(w, "Placement classes and their CPU pairs:")
	writePlacements(w, t, "(none here)")
	fmt.Fprintf(w, "  %-8s the OS places the threads\n\n", affinity.Unpinned)

	c := defaultCosts
	if req.root == "" {
		fmt.Fprintln(stderr, "plan: measuring this machine's costs (a few seconds)")
		if c, err = measureCosts(t); err != nil {
			return err
		}
	}
	if req.root == "" {
		if d, err := timeEmptyRound(req.prog); err == nil {
			c.roundOverhead = d
		}
	}
	src := "documented defaults, planning for a capture"
	if c.measured {
		src = "measured here"
	}
	fmt.Fprintf(w, "Cost model (%s): matrix transfer %.0f ns, ping-pong start-up %v, benchmark start-up %v, benchmark binary start %v.\n",
		src, c.TransferNs, c.PingFixed.Round(time.Microsecond), c.leafStart.Round(time.Microsecond), c.roundOverhead.Round(time.Millisecond))
	if len(c.ClassNs) > 0 {
		var parts []string
		for _, cl := range affinity.Classes() {
			if ns, ok := c.ClassNs[cl]; ok {
				parts = append(parts, fmt.Sprintf("%s %.0f ns", cl, ns))
			}
		}
		fmt.Fprintf(w, "Matrix transfer by class (at each class's pair): %s.\n", strings.Join(parts, ", "))
	}

	// Per-leaf overheads timed on sample leaves, once per time-based
	// benchtime (modes that share one share the timing).
	fixed := map[string]map[string]time.Duration{}
	for _, nm := range req.modes {
		fmt.Fprintf(stderr, "plan: listing the %s-mode benchmarks\n", nm.name)
		leaves, skipped, err := planBenchmarks(req.prog, t, req.filter, nm.mode, req.root)
		if err != nil {
			return err
		}
		mc := c
		if c.measured && !strings.HasSuffix(nm.mode.benchtime, "x") {
			f, ok := fixed[nm.mode.benchtime]
			if !ok {
				if f, err = timeLeafOverhead(req.prog, leaves, nm.mode, c, stderr); err != nil {
					return err
				}
				fixed[nm.mode.benchtime] = f
			}
			mc.leafFixed = f
		}
		writeModePlan(w, t, nm, req.parallel, mc, leaves, skipped)
	}
	return nil
}

// leafGroup is the group a leaf's overhead is timed for: the first two
// levels of its name ("BenchmarkMutex/impl=mcs"), which fix its threads
// and its kind of wait; the leaves of a group differ in placement.
func leafGroup(name string) string {
	if i := strings.Index(name, "/"); i >= 0 {
		if j := strings.Index(name[i+1:], "/"); j >= 0 {
			return name[:i+1+j]
		}
	}
	return name
}

// timeLeafOverhead times one sample leaf of each group (the middle one),
// alone in one run of the suite's program at the mode's benchtime, and
// returns each group's per-leaf cost beyond what the model's timed part
// covers: the program's start (c.roundOverhead) and the benchtime share
// (benchtimeFactor x benchtime) are taken off. The model's own guess
// (runsPerLeaf x leafStart) is the floor. Under emulation, or wherever
// starting threads is slow, this is most of a round, and it differs by
// group: an MCS lock's spinning waiters crawl where a channel does not.
func timeLeafOverhead(prog suiteProg, leaves []string, mode tuneMode, c costs, stderr io.Writer) (map[string]time.Duration, error) {
	floor := runsPerLeaf * c.leafStart
	byGroup := map[string][]string{}
	var groups []string
	for _, l := range leaves {
		g := leafGroup(l)
		if byGroup[g] == nil {
			groups = append(groups, g)
		}
		byGroup[g] = append(byGroup[g], l)
	}
	fmt.Fprintf(stderr, "plan: timing %d sample benchmarks (one a group) at -benchtime %s\n", len(groups), mode.benchtime)
	fixed := map[string]time.Duration{}
	for _, g := range groups {
		name := byGroup[g][len(byGroup[g])/2]
		start := time.Now()
		cmd := prog.command(context.Background(), benchArgs(exactBenchPattern(name), mode, 1, mode.benchtime))
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if out, err := childOutput(cmd, false); err != nil {
			return nil, fmt.Errorf("timing the sample benchmark %s: %v %s", name, err, lastLines(errb.String()+string(out), 3))
		}
		wall := time.Since(start)
		fixed[g] = max(wall-c.roundOverhead-leafTimed(name, mode.benchtime), floor)
		fmt.Fprintf(stderr, "plan:   %s took %v (%v beyond its benchtime)\n", name, wall.Round(time.Millisecond), fixed[g].Round(time.Millisecond))
	}
	return fixed, nil
}

// exactBenchPattern is the -test.bench pattern that matches the leaf name
// alone: each level of the name anchored and quoted.
func exactBenchPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// writeModePlan prints one mode's plan and its estimate.
func writeModePlan(w io.Writer, t *affinity.Topology, nm namedMode, parallel bool, c costs, leaves []string, skipped [][2]string) {
	m := nm.mode
	mo := measure.Options{Params: m.matrix, Sample: m.sample, Parallel: parallel}
	est := mo.Estimate(t, c.Costs)
	pairs, rounds, matrixTime := est.Pairs, est.Rounds, est.Duration
	how := "every pair"
	if m.sample {
		how = "a stratified sample"
		if len(pairs) == len(t.AllPairs()) {
			how = "every pair (few enough to take all)"
		}
	}
	fmt.Fprintf(w, "\n%s mode: %d interleaved rounds of the suite, -benchtime %s%s\n", nm.name, m.count, m.benchtime, map[bool]string{true: ", poll-window sweep"}[m.sweep])
	fmt.Fprintf(w, "  matrix: %s, %d of %d pairs, %d repetitions of %d transfers each", how, len(pairs), len(t.AllPairs()), m.matrix.Reps, m.matrix.Transfers)
	if parallel {
		fmt.Fprintf(w, ", in %d parallel rounds", rounds)
	}
	fmt.Fprintf(w, ": about %v\n", matrixTime.Round(time.Second/10))
	byClass := map[affinity.Class]int{}
	for _, p := range pairs {
		byClass[t.Relation(p.A, p.B)]++
	}
	var parts []string
	for _, cl := range affinity.Classes() {
		if byClass[cl] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", cl, byClass[cl]))
		}
	}
	fmt.Fprintf(w, "    pairs per class: %s\n", strings.Join(parts, ", "))
	var perRound time.Duration
	for _, name := range leaves {
		perRound += leafCost(name, m.benchtime, c)
	}
	perRound += c.roundOverhead
	dry := c.roundOverhead + time.Duration(len(leaves))*2*c.leafStart
	overhead := ""
	if len(c.leafFixed) > 0 {
		var sum time.Duration
		for _, name := range leaves {
			sum += leafCost(name, m.benchtime, c) - leafTimed(name, m.benchtime)
		}
		overhead = fmt.Sprintf(" (%v a benchmark beyond its benchtime on average, timed on one sample of each of %d groups)",
			(sum / time.Duration(max(len(leaves), 1))).Round(time.Millisecond), len(c.leafFixed))
	}
	fmt.Fprintf(w, "  benchmarks: %d run, %d skipped; %d samples of each, about %v a round%s\n", len(leaves), len(skipped), m.count, perRound.Round(time.Second/10), overhead)
	for _, name := range leaves {
		fmt.Fprintf(w, "    %s\n", name)
	}
	if len(skipped) > 0 {
		fmt.Fprintln(w, "  skipped:")
		for _, s := range skipped {
			fmt.Fprintf(w, "    %s: %s\n", s[0], s[1])
		}
	}
	total := matrixTime + dry + time.Duration(m.count)*perRound + reportCost
	fmt.Fprintf(w, "  estimated duration: %v (matrix %v, dry run %v, %d rounds of %v, report %v)\n",
		total.Round(time.Second), matrixTime.Round(time.Second/10), dry.Round(time.Second/10), m.count, perRound.Round(time.Second/10), reportCost)
}

// leafCost estimates one round's run of benchmark name at benchtime: its
// timed part and its fixed cost.
func leafCost(name, benchtime string, c costs) time.Duration {
	fixed := runsPerLeaf * c.leafStart
	if f, ok := c.leafFixed[leafGroup(name)]; ok {
		fixed = f
	}
	return leafTimed(name, benchtime) + fixed
}

// leafTimed is the part of a leaf's run that its benchtime sizes: the
// iterations at benchtime Nx (at defaultOpNs each), or the benchtime
// times the factor of testing's b.N ramp.
func leafTimed(name, benchtime string) time.Duration {
	if n, ok := strings.CutSuffix(benchtime, "x"); ok {
		iters, _ := strconv.Atoi(n)
		return time.Duration(iters) * defaultOpNs
	}
	d, err := time.ParseDuration(benchtime)
	if err != nil {
		return 0
	}
	f := benchtimeFactor
	if strings.HasPrefix(name, "BenchmarkHandoff/via=aio/") {
		f = handoffBenchtimeFactor
	}
	return time.Duration(f * float64(d))
}

// planBenchmarks returns the benchmarks of the suite on t that would run,
// and the skipped ones with their reasons: from the catalogue itself for
// this binary's suite, from a test binary's -plan mode otherwise.
func planBenchmarks(prog suiteProg, t *affinity.Topology, filter string, mode tuneMode, root string) (run []string, skipped [][2]string, err error) {
	if prog.self {
		f, err := bench.NewFilter(filter)
		if err != nil {
			return nil, nil, err
		}
		run, skipped = planSuite(t, f, mode.sweep)
		if len(run) == 0 {
			return nil, nil, fmt.Errorf("benchmark plan: no benchmark would run (filter %q)", filter)
		}
		return run, skipped, nil
	}
	bin := prog.path
	args := append(benchArgs(filter, mode, 1, "1x"), "-test.v", "-plan")
	if root != "" {
		args = append(args, "-topology-root", root)
	}
	cmd := exec.Command(bin, args...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := childOutput(cmd, false)
	if err != nil {
		return nil, nil, fmt.Errorf("benchmark plan with %s failed: %v %s", bin, err, lastLines(errb.String()+string(out), 3))
	}
	// A skipped benchmark prints its name, its skip message indented
	// ("    file_test.go:123: the reason"), then "--- SKIP: name".
	reason := ""
	for line := range strings.Lines(string(out)) {
		line = strings.TrimRight(line, "\n")
		if strings.HasPrefix(line, "Benchmark") {
			reason = ""
			continue
		}
		if r, ok := strings.CutPrefix(line, "    "); ok {
			if _, after, ok := strings.Cut(r, ": "); ok {
				reason = after
			}
			continue
		}
		name, ok := strings.CutPrefix(line, "--- SKIP: ")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(name, " (")
		if reason == bench.PlanSkip {
			run = append(run, name)
		} else if !slices.ContainsFunc(skipped, func(s [2]string) bool { return s[0] == name }) {
			skipped = append(skipped, [2]string{name, reason})
		}
	}
	if len(run) == 0 {
		return nil, nil, fmt.Errorf("benchmark plan with %s: no benchmark would run (filter %q)", bin, filter)
	}
	return run, skipped, nil
}

// measureCosts measures the cost model's constants on this machine: a
// short and a longer ping-pong at the first placement pair of two CPUs
// (the transfer cost and the fixed cost), and a 10-hop handoff between two
// iothreads (the fixed cost of a benchmark run).
func measureCosts(t *affinity.Topology) (costs, error) {
	c := defaultCosts
	c.measured = true
	var err error
	if c.Costs, err = measure.MeasureCosts(t, c.Costs); err != nil {
		return c, err
	}
	start := time.Now()
	const probes = 5
	for range probes {
		if _, err := bench.RunAioHandoff(bench.HandoffConfig{Wait: aio.WaitBlock, Hops: 10}); err != nil {
			return c, fmt.Errorf("measuring benchmark start-up: %w", err)
		}
	}
	c.leafStart = time.Since(start) / probes
	return c, nil
}

// timeEmptyRound times one run of the suite's program that runs no
// benchmark: its start-up and warm-up, paid once per round.
func timeEmptyRound(prog suiteProg) (time.Duration, error) {
	start := time.Now()
	err := runChild(prog.command(context.Background(), []string{"-test.run", "^$", "-test.bench", "^$"}))
	return time.Since(start), err
}
