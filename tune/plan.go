package tune

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
	"github.com/pinbench/pinbench/internal/handoff"
	"github.com/pinbench/pinbench/matrix/measure"
)

// Plan (tune --plan): what a tuning run would do, and how long it would
// take, without measuring anything that matters. The benchmark list comes
// from the benchmark binary itself (its -plan mode skips every benchmark
// that would run with bench.PlanSkip, and every other with its reason), so
// the plan names exactly what the run will; the estimate comes from a cost
// model whose few constants are measured on this machine in a second or
// two, or are the documented defaults below when planning for a capture.

// Plan writes to w what a run with o would measure and how long it would
// take: the machine's placement classes and their pairs, the cost model,
// then, for each mode, the matrix pairs, the benchmarks that would run and
// those skipped with the reason, and the estimated duration. A run in
// Quick or Full mode is planned in both, side by side; another mode
// alone. Count, Benchtime and Sweep apply to each mode planned, but the
// matrix is estimated at each mode's own repetitions and transfers
// (MatrixReps and MatrixTransfers do not change the plan, as they never
// have). With Root, it plans for the captured machine at documented
// default costs; otherwise it measures this machine's costs first, a few
// seconds of ping-pong and sample benchmarks, with progress on progress.
// A mistake in o is an *OptionError. A nil progress discards the
// progress.
func Plan(ctx context.Context, o Options, w, progress io.Writer) error {
	if progress == nil {
		progress = io.Discard
	}
	if err := o.check(true); err != nil {
		return err
	}
	prog, err := suiteProgram(o.BenchBin)
	if err != nil {
		return err
	}
	modes := []Mode{Quick, Full}
	if o.Mode != Quick && o.Mode != Full {
		modes = []Mode{o.Mode}
	}
	for i, m := range modes {
		p := o
		p.Mode, p.MatrixReps, p.MatrixTransfers = m, 0, 0
		modes[i] = p.resolved()
	}
	pl := planner{ctx: ctx, root: o.Root, prog: prog, filter: o.Bench, parallel: o.Parallel, modes: modes, work: o}
	return pl.write(w, progress)
}

// planner is one plan under way.
type planner struct {
	ctx      context.Context
	root     string      // sysfs capture to plan for; "" for this machine
	prog     suiteProg   // the program that runs the suite
	filter   string      // -bench
	parallel Parallelism // --parallel matrix
	modes    []Mode
	work     Options // the placement's workload (Threads, Pattern, Graph), if any
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

func (pl *planner) write(stdout, stderr io.Writer) error {
	t, cleanup, err := pl.discover()
	if err != nil {
		return err
	}
	defer cleanup()
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	where := "this machine"
	if pl.root != "" {
		where = "the capture " + t.Root
	}
	fmt.Fprintf(w, "pinbench tune --plan for %s: %s (%s)\n\n", where, t.MachineID(), t.Summary())

	fmt.Fprintln(w, "Placement classes and their CPU pairs:")
	WritePlacements(w, t, "(none here)")
	fmt.Fprintf(w, "  %-8s the OS places the threads\n\n", affinity.Unpinned)

	c, err := pl.costs(t, stderr)
	if err != nil {
		return err
	}
	c.write(w)

	// Per-leaf overheads timed on sample leaves, once per time-based
	// benchtime (modes that share one share the timing).
	fixed := map[string]map[string]time.Duration{}
	for _, m := range pl.modes {
		fmt.Fprintf(stderr, "plan: listing the %s-mode benchmarks\n", m.Name)
		leaves, skipped, err := planBenchmarks(pl.prog, t, pl.filter, m, pl.root)
		if err != nil {
			return err
		}
		mc := c
		if c.measured && !strings.HasSuffix(m.Benchtime, "x") {
			f, ok := fixed[m.Benchtime]
			if !ok {
				if f, err = timeLeafOverhead(pl.ctx, pl.prog, leaves, m, c, stderr); err != nil {
					return err
				}
				fixed[m.Benchtime] = f
			}
			mc.leafFixed = f
		}
		writeModePlan(w, t, m, pl.parallel, mc, leaves, skipped, pl.work)
	}
	return nil
}

// discover returns the machine to plan for: the capture at pl.root
// (extracted, when an archive, until cleanup; pl.root then names the
// extraction, for the benchmark binary, and the topology's Root the
// capture as given), or this one.
func (pl *planner) discover() (t *affinity.Topology, cleanup func(), err error) {
	if pl.root == "" {
		t, err = affinity.Discover()
		return t, func() {}, err
	}
	dir, cleanup, err := capture.Root(pl.root)
	if err != nil {
		return nil, nil, err
	}
	if t, err = affinity.DiscoverRoot(dir); err != nil {
		cleanup()
		return nil, nil, err
	}
	t.Root, pl.root = pl.root, dir
	return t, cleanup, nil
}

// costs returns the cost model: the documented defaults for a capture, or
// this machine's, measured (saying so on stderr).
func (pl *planner) costs(t *affinity.Topology, stderr io.Writer) (costs, error) {
	if pl.root != "" {
		return defaultCosts, nil
	}
	fmt.Fprintln(stderr, "plan: measuring this machine's costs (a few seconds)")
	c, err := measureCosts(t)
	if err != nil {
		return c, err
	}
	if d, err := timeEmptyRound(pl.ctx, pl.prog); err == nil {
		c.roundOverhead = d
	}
	return c, nil
}

// write prints the cost model's line (and the transfer by class, where
// measured).
func (c costs) write(w io.Writer) {
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
func timeLeafOverhead(ctx context.Context, prog suiteProg, leaves []string, mode Mode, c costs, stderr io.Writer) (map[string]time.Duration, error) {
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
	fmt.Fprintf(stderr, "plan: timing %d sample benchmarks (one a group) at -benchtime %s\n", len(groups), mode.Benchtime)
	fixed := map[string]time.Duration{}
	for _, g := range groups {
		name := byGroup[g][len(byGroup[g])/2]
		start := time.Now()
		cmd := prog.command(ctx, benchArgs(exactBenchPattern(name), mode, 1, mode.Benchtime))
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if out, err := childOutput(cmd, false); err != nil {
			return nil, fmt.Errorf("timing the sample benchmark %s: %v %s", name, err, lastLines(errb.String()+string(out), 3))
		}
		wall := time.Since(start)
		fixed[g] = max(wall-c.roundOverhead-leafTimed(name, mode.Benchtime), floor)
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
func writeModePlan(w io.Writer, t *affinity.Topology, m Mode, parallel Parallelism, c costs, leaves []string, skipped []Skipped, work Options) {
	fmt.Fprintf(w, "\n%s mode: %d interleaved rounds of the suite, -benchtime %s%s\n", m.Name, m.Count, m.Benchtime, map[bool]string{true: ", poll-window sweep"}[m.Sweep])
	mo := Options{Parallel: parallel}.matrixOptions(m, t)
	matrixTime := writeMatrixPlan(w, t, mo, parallel == ParallelAuto, c)
	var perRound time.Duration
	for _, name := range leaves {
		perRound += leafCost(name, m.Benchtime, c)
	}
	perRound += c.roundOverhead
	dry := c.roundOverhead + time.Duration(len(leaves))*2*c.leafStart
	overhead := ""
	if len(c.leafFixed) > 0 {
		var sum time.Duration
		for _, name := range leaves {
			sum += leafCost(name, m.Benchtime, c) - leafTimed(name, m.Benchtime)
		}
		overhead = fmt.Sprintf(" (%v a benchmark beyond its benchtime on average, timed on one sample of each of %d groups)",
			(sum / time.Duration(max(len(leaves), 1))).Round(time.Millisecond), len(c.leafFixed))
	}
	fmt.Fprintf(w, "  benchmarks: %d run, %d skipped; %d samples of each, about %v a round%s\n", len(leaves), len(skipped), m.Count, perRound.Round(time.Second/10), overhead)
	for _, name := range leaves {
		fmt.Fprintf(w, "    %s\n", name)
	}
	if len(skipped) > 0 {
		fmt.Fprintln(w, "  skipped:")
		for _, s := range skipped {
			fmt.Fprintf(w, "    %s: %s\n", s.Name, s.Reason)
		}
	}
	placing := writePlacementPlan(w, work, m)
	total := matrixTime + dry + time.Duration(m.Count)*perRound + placing + reportCost
	placed := ""
	if placing > 0 {
		placed = fmt.Sprintf(", placement %v", placing.Round(time.Second/10))
	}
	fmt.Fprintf(w, "  estimated duration: %v (matrix %v, dry run %v, %d rounds of %v%s, report %v)\n",
		total.Round(time.Second), matrixTime.Round(time.Second/10), dry.Round(time.Second/10), m.Count, perRound.Round(time.Second/10), placed, reportCost)
}

// writeMatrixPlan prints the matrix part of a mode's plan, o's pairs and
// their classes, and returns its estimated duration (measure's estimate).
// auto says that o.Parallel is the default for the machine's size, not
// the user's choice.
func writeMatrixPlan(w io.Writer, t *affinity.Topology, o measure.Options, auto bool, c costs) time.Duration {
	est := o.Estimate(t, c.Costs)
	how := "every pair"
	if o.Sample {
		how = "a stratified sample"
		if len(est.Pairs) == len(t.AllPairs()) {
			how = "every pair (few enough to take all)"
		}
	}
	fmt.Fprintf(w, "  matrix: %s, %d of %d pairs, %d repetitions of %d transfers each", how, len(est.Pairs), len(t.AllPairs()), o.Reps, o.Transfers)
	if o.Parallel {
		fmt.Fprintf(w, ", in %d parallel rounds of pairs on disjoint cores, then %d cells again alone", est.Rounds, est.Checks)
		if auto {
			fmt.Fprintf(w, " (the default above %d CPUs; --parallel=false: one pair at a time)", measure.ParallelAbove)
		}
	}
	fmt.Fprintf(w, ": about %v\n", est.Duration.Round(time.Second/10))
	byClass := map[affinity.Class]int{}
	for _, p := range est.Pairs {
		byClass[t.Relation(p.A, p.B)]++
	}
	var parts []string
	for _, cl := range affinity.Classes() {
		if byClass[cl] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", cl, byClass[cl]))
		}
	}
	fmt.Fprintf(w, "    pairs per class: %s\n", strings.Join(parts, ", "))
	return est.Duration
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
func planBenchmarks(prog suiteProg, t *affinity.Topology, filter string, mode Mode, root string) (run []string, skipped []Skipped, err error) {
	if prog.self {
		f, err := bench.NewFilter(filter)
		if err != nil {
			return nil, nil, err
		}
		run, skipped = SuitePlan(t, f, mode.Sweep)
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
		} else if !slices.ContainsFunc(skipped, func(s Skipped) bool { return s.Name == name }) {
			skipped = append(skipped, Skipped{name, reason})
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
		if _, err := handoff.RunAio(handoff.Config{Wait: aio.WaitBlock, Hops: 10}); err != nil {
			return c, fmt.Errorf("measuring benchmark start-up: %w", err)
		}
	}
	c.leafStart = time.Since(start) / probes
	return c, nil
}

// timeEmptyRound times one run of the suite's program that runs no
// benchmark: its start-up and warm-up, paid once per round.
func timeEmptyRound(ctx context.Context, prog suiteProg) (time.Duration, error) {
	start := time.Now()
	err := runChild(prog.command(ctx, []string{"-test.run", "^$", "-test.bench", "^$"}))
	return time.Since(start), err
}

// Skipped is a benchmark of the suite that does not run on a machine, and
// why.
type Skipped struct {
	Name   string // the leaf's full name: BenchmarkFloor/place=l2
	Reason string // its skip message
}

// SuitePlan returns the leaves of the suite on t that match filter and
// would run, and those skipped there with their reasons: what the suite's
// own -plan mode lists, from the catalogue.
func SuitePlan(t *affinity.Topology, filter *bench.Filter, sweep bool) (run []string, skipped []Skipped) {
	for _, l := range bench.Leaves(bench.Suite(t, bench.SuiteOptions{Sweep: sweep})) {
		switch {
		case !filter.Match(l.Name):
		case l.Skip != "":
			skipped = append(skipped, Skipped{l.Name, l.Skip})
		default:
			run = append(run, l.Name)
		}
	}
	return run, skipped
}

// WritePlacements writes one line per placement class: its representative
// pair, or absent when the machine has none.
func WritePlacements(w io.Writer, t *affinity.Topology, absent string) {
	pl := t.Placements()
	for _, c := range affinity.Classes() {
		if p, ok := pl[c]; ok {
			fmt.Fprintf(w, "  %-8s %s\n", c, p)
		} else {
			fmt.Fprintf(w, "  %-8s %s\n", c, absent)
		}
	}
}
