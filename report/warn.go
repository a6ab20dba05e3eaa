package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/benchtab"
	"github.com/pinbench/pinbench/internal/quantile"
	"github.com/pinbench/pinbench/matrix"
	"golang.org/x/perf/benchmath"
)

// Warning is something about the measurement conditions a careful engineer
// would want to know before trusting the figures.
type Warning struct {
	// Kind classifies the warning.
	Kind WarningKind
	// Title is a few words for one-line summaries.
	Title string
	// Message says what was found and what to do about it.
	Message string
}

// WarningKind classifies a Warning.
type WarningKind string

// The kinds of warning.
const (
	WarnMixed         WarningKind = "mixed"          // files from several machines
	WarnSettings      WarningKind = "settings"       // files measured with different settings (quick and full)
	WarnEmulated      WarningKind = "emulated"       // QEMU TCG: timings mean nothing
	WarnTopologyInput WarningKind = "topology-input" // sysfs files discovery did not take at their word
	WarnPartial       WarningKind = "partial"        // the run saw only some of the CPUs online
	WarnVM            WarningKind = "vm"             // a hypervisor under the run
	WarnGovernor      WarningKind = "governor"       // frequency governor not performance, or unknown
	WarnSamples       WarningKind = "samples"        // too few samples
	WarnCI            WarningKind = "ci"             // wide confidence intervals
	WarnRegimes       WarningKind = "two-regime"     // samples in two separated clusters
	WarnDrift         WarningKind = "drift"          // the floor drifted during the run
	WarnTopology      WarningKind = "topology"       // the matrix contradicts the declared topology
	WarnParallel      WarningKind = "parallel"       // matrix cells measured in parallel disagree
	WarnUnstable      WarningKind = "unstable"       // matrix cells unstable between repetitions
)

// Warnings inspects the run's configuration lines, its samples and the
// latency matrix, when given (m may be nil).
func Warnings(run *Run, m *matrix.Matrix, th Thresholds) []Warning {
	var out []Warning
	out = append(out, envWarnings(run)...)
	out = append(out, th.sampleWarnings(run)...)
	out = append(out, driftWarnings(run)...)
	if m != nil {
		out = append(out, th.MatrixWarnings(m, run)...)
	}
	return out
}

func envWarnings(run *Run) []Warning {
	var out []Warning
	seen := map[string]bool{}
	var machines []string
	for _, e := range run.Envs {
		if m := e.Get("machine"); m != "" && !slices.Contains(machines, m) {
			machines = append(machines, m)
		}
	}
	if len(machines) > 1 {
		out = append(out, Warning{WarnMixed, "results from several machines", fmt.Sprintf("The files come from %d machines (%s): their results are pooled in one sample per benchmark, which mixes different hardware. Build one report per machine and use compare to set them side by side.",
			len(machines), strings.Join(machines, ", "))})
	}
	if w, ok := settingsWarning(run); ok {
		out = append(out, w)
	}
	add := func(w Warning) {
		if !seen[w.Message] {
			seen[w.Message] = true
			out = append(out, w)
		}
	}
	for _, e := range run.Envs {
		if e.IsEmulated() {
			add(Warning{WarnEmulated, "emulated (QEMU TCG): these timings mean nothing", "Emulated machine (QEMU's TCG): every instruction of the guest is emulated on the host's cores, so no figure here, ratios included, says anything about the cost of a handoff on any machine. The run shows that discovery, placement, pinning and the report work on this topology, nothing more."})
		}
		if tw := e.Get("topology-warnings"); tw != "" {
			add(Warning{WarnTopologyInput, "sysfs topology files not taken at their word", "Topology discovery found sysfs files it could not take at their word, and says what it did instead: " + tw + ". Check the machine's topology (pinbench topology) before trusting the placement classes."})
		}
		if allowed, online := e.Get("allowed"), e.Get("online"); allowed != "" && online != "" && allowed != online {
			add(Warning{WarnPartial, "saw only part of the machine (CPUs " + allowed + " of " + online + ")", fmt.Sprintf("The run was restricted to CPUs %s of the %s online (taskset, a cpuset or a container's CPU limit): the placement classes, pairs and latency matrix cover only those CPUs, so classes and pairs the rest of the machine has are missing. Run without the restriction to see the whole machine.", allowed, online)})
		}
		if e.IsVM() {
			add(Warning{WarnVM, "virtual machine (" + e.Get("hypervisor") + ")", fmt.Sprintf("Virtual machine (hypervisor: %s): the declared topology is what the hypervisor shows, not the host's; vCPUs may share host cores or move between them. Trust the measured latency matrix over the declared topology, and expect more noise than on bare metal.", e.Get("hypervisor"))})
		}
		g, ok := e.Values["governor"]
		g = strings.TrimSpace(g)
		switch {
		case !ok || g == "performance":
		case g == "" || g == "unknown":
			add(Warning{WarnGovernor, "governor unknown", "Frequency governor unknown (no cpufreq interface, common in virtual machines): clock-frequency changes between runs were not ruled out."})
		default:
			add(Warning{WarnGovernor, "governor " + g, fmt.Sprintf("Frequency governor is %q, not \"performance\": the clock speed changes with load, so latencies vary between runs and sides of a handoff. Set the governor to performance (cpupower frequency-set -g performance) before measuring.", g)})
		}
	}
	return out
}

// settingsWarning flags files measured with different settings (a quick
// and a full tuning run, another benchtime or count), as compare does
// for runs: the report pools their results in one sample per benchmark.
func settingsWarning(run *Run) (Warning, bool) {
	srcs := make([]settingSource, len(run.Envs))
	for i, e := range run.Envs {
		srcs[i] = settingSource{benchtab.Printable(e.File), []Env{e}}
	}
	d := differentSettings(srcs)
	if len(d) == 0 {
		return Warning{}, false
	}
	return Warning{WarnSettings, "runs measured with different settings pooled", fmt.Sprintf("The files were measured with different settings: %s. Their results are pooled in one sample per benchmark, which mixes runs measured differently (pinbench compare warns the same). Build one report per run and use compare to set them side by side.",
		strings.Join(d, "; "))}, true
}

// sampleWarnings flags benchmarks with too few samples, and benchmarks
// whose sec/op confidence interval is too wide.
func (o Thresholds) sampleWarnings(run *Run) []Warning {
	type key struct{ file, name string }
	type hit struct {
		name string
		n    int
		ci   float64
		two  bool // in two regimes
	}
	var order []key
	vals := map[key][]float64{}
	counts := map[key]int{}
	for _, r := range run.Results {
		k := key{fileOf(r), r.Name.String()}
		if _, ok := counts[k]; !ok {
			order = append(order, k)
		}
		counts[k]++
		if v, ok := r.Value("sec/op"); ok {
			vals[k] = append(vals[k], v)
		}
	}
	var few, wide []hit
	var split []string // the two-regime benchmarks, each with its regimes
	th := &benchmath.Thresholds{CompareAlpha: o.alpha()}
	for _, k := range order {
		name := strings.TrimPrefix(k.name, "Benchmark")
		if len(run.Files) > 1 {
			name = benchtab.Printable(k.file) + ": " + name
		}
		if counts[k] < o.minSamples() {
			few = append(few, hit{name: name, n: counts[k]})
			continue
		}
		if len(vals[k]) == 0 {
			continue
		}
		c := &benchtab.Cell{Sample: benchmath.NewSample(slices.Clone(vals[k]), th)}
		c.Summary = benchmath.AssumeNothing.Summary(c.Sample, 0.95)
		r, two := twoRegimes(vals[k])
		if two {
			split = append(split, name+": "+r.describe("sec/op"))
		}
		if ci := c.CIFrac(); ci > o.wideCI() {
			wide = append(wide, hit{name, counts[k], ci, two})
		}
	}
	var out []Warning
	count := max(10, o.minSamples())
	if len(few) > 0 {
		minN := few[0].n
		for _, h := range few {
			minN = min(minN, h.n)
		}
		out = append(out, Warning{WarnSamples, "too few samples", fmt.Sprintf("Too few samples: %d of %d benchmarks have fewer than %d (as few as %d), too few for a confidence interval or a significant comparison. Rerun with -count %d or more. First: %s.",
			len(few), len(order), o.minSamples(), minN, count, examples(few, func(h hit) string { return fmt.Sprintf("%s (n=%d)", h.name, h.n) }))})
	}
	if len(wide) > 0 {
		// Widest first.
		slices.SortStableFunc(wide, func(a, b hit) int { return cmp.Compare(b.ci, a.ci) })
		out = append(out, Warning{WarnCI, "wide confidence intervals", fmt.Sprintf("Wide confidence intervals: %d of %d benchmarks vary by more than ±%.0f%% around their median time per op. Rerun on an idle machine with a larger -count (%d or more) and a longer -benchtime. Widest: %s.",
			len(wide), len(order), o.wideCI()*100, 2*count, examples(wide, func(h hit) string { return fmt.Sprintf("%s (±%.0f%%%s)", h.name, h.ci*100, regimeMark(h.two)) }))})
	}
	if len(split) > 0 {
		out = append(out, regimeWarning(split, len(order)))
	}
	return out
}

// driftFactor is how far apart the fastest and slowest floor samples of one
// placement class may be before the run is called drifting: a cache-line
// transfer between two fixed CPUs does not double in cost unless the
// machine under it changed.
const driftFactor = 2

// driftWarnings flags a machine whose speed changed during the run, seen in
// the floor: the same two CPUs measured a one-way transfer more than
// driftFactor apart between samples. On a VM that is the host moving the
// vCPUs (or sharing their cores); it widens every interval at once.
func driftWarnings(run *Run) []Warning {
	places, floors := groups[affinity.Class](run, floorAt, "/place", "sec/op")
	var drifted []string
	for _, place := range places {
		lo, hi := slices.Min(floors[place].vals), slices.Max(floors[place].vals)
		if lo > 0 && hi > driftFactor*lo {
			drifted = append(drifted, fmt.Sprintf("place=%s from %s to %s (%.1fx, n=%d)",
				place, fmtVal(lo, "sec/op"), fmtVal(hi, "sec/op"), hi/lo, len(floors[place].vals)))
		}
	}
	if len(drifted) == 0 {
		return nil
	}
	return []Warning{{WarnDrift, "the machine's speed drifted", fmt.Sprintf("The machine's speed changed during the run: the floor between the same two CPUs ranged %s. On a virtual machine the host moved or shared the vCPUs. Every benchmark's interval widens with it; the tuning run takes its samples in interleaved rounds so that the drift hits every benchmark alike, and ratios within one round stay fair. Rerun when the machine is quiet for tighter intervals.",
		strings.Join(drifted, "; "))}}
}

func examples[T any](xs []T, f func(T) string) string {
	var parts []string
	for i, x := range xs {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(xs)-3))
			break
		}
		parts = append(parts, f(x))
	}
	return strings.Join(parts, ", ")
}

// separateCores are the classes whose pairs are declared to be on different
// physical cores.
var separateCores = []affinity.Class{affinity.L2, affinity.LLC, affinity.Node, affinity.Remote}

// MatrixWarnings checks the latency matrix against the declared topology:
// pairs declared on separate cores (l2, llc, node, remote) that measure below
// SMTLike times the median of their class (like SMT siblings), and cells
// whose samples spread more than UnstableSpread times their median between
// repetitions. run, when not nil, supplies the CPU pairs the benchmarks used
// ("pair-<class>" lines) so that a suspicious pair among them is named.
func (o Thresholds) MatrixWarnings(m *matrix.Matrix, run *Run) []Warning {
	var out []Warning
	if w, ok := o.smtLikeWarning(m, run); ok {
		out = append(out, w)
	}
	if len(m.ParallelNotes) > 0 {
		out = append(out, Warning{WarnParallel, fmt.Sprintf("%d matrix cell(s) measured in parallel disagree with a measurement alone", len(m.ParallelNotes)),
			fmt.Sprintf("The matrix was measured with several pairs at once (tune's default for every pair of a large machine, or --parallel), and %d of the cells checked again alone differ beyond their spread: %s. Pairs running at once disturbed each other (shared caches, memory bandwidth, a lower all-core clock, or a host with fewer real cores than vCPUs); measure with --parallel=false, one pair at a time, for figures to rely on.",
				len(m.ParallelNotes), examples(m.ParallelNotes, func(s string) string { return s }))})
	}
	if w, ok := o.unstableWarning(m); ok {
		out = append(out, w)
	}
	return out
}

// smtLikeWarning is MatrixWarnings' topology check: the pairs declared on
// separate cores that measure like SMT siblings, if any (none without the
// matrix's classes).
func (o Thresholds) smtLikeWarning(m *matrix.Matrix, run *Run) (Warning, bool) {
	if m.Class == nil {
		return Warning{}, false
	}
	classMed := classMedians(m)
	var lines []string
	var suspects [][2]int
	n := len(m.CPUs)
	for i := range n {
		for j := i + 1; j < n; j++ {
			c := m.Class[i][j]
			if !slices.Contains(separateCores, c) {
				continue
			}
			v := pairLatency(m, i, j)
			if math.IsNaN(v) || v >= o.smtLike()*classMed[c] {
				continue
			}
			suspects = append(suspects, [2]int{m.CPUs[i], m.CPUs[j]})
			lines = append(lines, fmt.Sprintf("CPUs %d and %d (declared %s) measure %.0f ns, %.2fx the %s median of %.0f ns",
				m.CPUs[i], m.CPUs[j], c, v, v/classMed[c], c, classMed[c]))
		}
	}
	if len(lines) == 0 {
		return Warning{}, false
	}
	msg := fmt.Sprintf("Measured latency contradicts the declared topology: %d pair(s) declared on separate cores measure like SMT siblings: %s.",
		len(lines), examples(lines, func(s string) string { return s }))
	if med, ok := classMed[affinity.SMT]; ok {
		msg += fmt.Sprintf(" (Declared SMT siblings measure %.0f ns.)", med)
	}
	msg += " The host probably runs these vCPUs on one physical core; measured latency beats declared topology."
	msg += suspectBenchmarks(run, suspects)
	return Warning{WarnTopology, fmt.Sprintf("%d pair(s) declared on separate cores measure like SMT siblings", len(lines)), msg}, true
}

// classMedians is the median latency of each class's measured cells.
func classMedians(m *matrix.Matrix) map[affinity.Class]float64 {
	byClass := map[affinity.Class][]float64{}
	for i := range m.CPUs {
		for j := range m.CPUs {
			if c := m.Class[i][j]; i != j && !math.IsNaN(m.NS[i][j]) {
				byClass[c] = append(byClass[c], m.NS[i][j])
			}
		}
	}
	classMed := map[affinity.Class]float64{}
	for c, v := range byClass {
		slices.Sort(v)
		classMed[c] = quantile.Median(v)
	}
	return classMed
}

// suspectBenchmarks names the benchmarks of run (nil: none) whose CPU pair
// is one of the suspects.
func suspectBenchmarks(run *Run, suspects [][2]int) string {
	if run == nil {
		return ""
	}
	var msg string
	for _, e := range run.Envs {
		for _, p := range e.Pairs() {
			a, b, ok := parsePair(p.CPUs)
			if ok && slices.ContainsFunc(suspects, func(s [2]int) bool {
				return (s[0] == a && s[1] == b) || (s[0] == b && s[1] == a)
			}) {
				msg += fmt.Sprintf(" The %s benchmarks ran on CPUs %d,%d, one of these pairs: their %s figures are really SMT figures.", p.Class, a, b, p.Class)
			}
		}
	}
	return msg
}

// unstableWarning is MatrixWarnings' stability check: the cells whose
// samples spread more than UnstableSpread times their median, if any.
func (o Thresholds) unstableWarning(m *matrix.Matrix) (Warning, bool) {
	if m.Samples == nil {
		return Warning{}, false
	}
	var lines []string
	for i := range m.CPUs {
		for j := range m.CPUs {
			s := m.Samples[i][j]
			if i == j || len(s) < 2 {
				continue
			}
			med := quantile.Median(s)
			spread := (s[len(s)-1] - s[0]) / med
			if med > 0 && spread > o.unstableSpread() {
				lines = append(lines, fmt.Sprintf("%d->%d from %.0f to %.0f ns (median %.0f)", m.CPUs[i], m.CPUs[j], s[0], s[len(s)-1], med))
			}
		}
	}
	if len(lines) == 0 {
		return Warning{}, false
	}
	return Warning{WarnUnstable, fmt.Sprintf("%d matrix cell(s) unstable between repetitions", len(lines)), fmt.Sprintf("Unstable latency between repetitions: %d cell(s) spread more than %.0f%% of their median: %s. The vCPUs may be moving between host cores; rerun the matrix and prefer placements whose latency is stable.",
		len(lines), o.unstableSpread()*100, examples(lines, func(s string) string { return s }))}, true
}

// pairLatency is the lower of the two directions between m.CPUs[i] and
// m.CPUs[j] (NaN when neither is measured, or when i or j is -1, a CPU
// not in m). It takes indices, not CPU ids: a CPU's index is a linear
// search (Matrix.Index), which in MatrixWarnings' loop over the pairs
// made the check O(n^3).
func pairLatency(m *matrix.Matrix, i, j int) float64 {
	if i < 0 || j < 0 {
		return math.NaN()
	}
	a, b := m.NS[i][j], m.NS[j][i]
	switch {
	case math.IsNaN(a):
		return b
	case math.IsNaN(b):
		return a
	}
	return math.Min(a, b)
}

func parsePair(s string) (a, b int, ok bool) {
	x, y, found := strings.Cut(strings.TrimSpace(s), ",")
	if !found {
		return 0, 0, false
	}
	a, err1 := strconv.Atoi(strings.TrimSpace(x))
	b, err2 := strconv.Atoi(strings.TrimSpace(y))
	return a, b, err1 == nil && err2 == nil
}
