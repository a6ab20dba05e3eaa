package lab

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pinbench/pinbench/affinity"
)

// CheckOptions says what a lab run was asked to produce.
type CheckOptions struct {
	// Tune: the run included the tuning run of TuneFlags (OUTDIR/tune).
	Tune bool
	// PlanCheck is the tune mode, "quick" or "full", of a run that
	// included `pinbench tune --plan` (OUTDIR/plan.txt) and then a real
	// tune in that mode (OUTDIR/quick or OUTDIR/full), whose duration must
	// be within PlanTolerance of the plan's estimate for the mode; "" when
	// the run had neither.
	PlanCheck string
	// Place: after its tuning run, the run included the place step
	// (placeScript): the emitted taskset lines pin real threads as
	// planned, and place --verify ran. Runs made with lab.sh --tune have
	// it.
	Place bool
}

// PlanTolerance is how far a tune's duration may be from its plan's
// estimate, as a factor either way.
const PlanTolerance = 2.0

// ValidatePlanMode returns an error unless mode is a tune mode whose run a
// plan check can hold to the plan ("quick" or "full"), or "" for none.
func ValidatePlanMode(mode string) error {
	switch mode {
	case "", "quick", "full":
		return nil
	}
	return fmt.Errorf("lab: plan check mode %q: want quick or full", mode)
}

// CheckResult is what Check found: problems make the run fail; notes are
// for the reader (step times, skips that are by design).
type CheckResult struct {
	Problems []string
	Notes    []string
}

func (r *CheckResult) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

func (r *CheckResult) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// Check reads a lab run's output folder and compares it with what the
// declaration implies: every step finished in time with status 0; the
// guest's topology.json has the declared counts, exactly the declared
// placement classes, and representative pairs that are the declared
// relation apart; smoke.txt has a result, not a skip, at every declared
// class other than samecpu for every benchmark that runs per class (for
// node-wide pinning, pin=node: place=node, and place=remote with two
// nodes), no result at an undeclared class, and no failure; tests.txt has every
// package ok; and with opts.Tune, tune/ holds every file a tuning run
// writes and its report carries the virtual-machine and emulation
// warnings; with opts.PlanCheck, the tune in that mode's folder is
// complete too, and it took between 1/PlanTolerance and PlanTolerance
// times the duration plan.txt estimated for the mode.
func Check(dir string, d Decl, opts CheckOptions) CheckResult {
	var r CheckResult
	checkStatus(&r, dir, opts)
	checkTopology(&r, filepath.Join(dir, "topology.json"), d)
	checkSmoke(&r, filepath.Join(dir, "smoke.txt"), d)
	checkTests(&r, filepath.Join(dir, "tests.txt"))
	if opts.Tune {
		checkTune(&r, filepath.Join(dir, "tune"))
	}
	if opts.Place {
		checkPlace(&r, dir)
	}
	if opts.PlanCheck != "" {
		checkTune(&r, filepath.Join(dir, opts.PlanCheck))
		checkPlan(&r, dir, opts.PlanCheck)
	}
	return r
}

// Step is one line of the guest's status file.
type Step struct {
	Name    string
	Status  int
	Seconds int
	Timeout bool // the step ran into its time limit
}

// ReadStatus reads the guest's status file (one line per step: name, exit
// status or "-", seconds, and "timeout" when the step ran into its limit;
// names may hold spaces).
func ReadStatus(path string) ([]Step, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var steps []Step
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		timeout := false
		if len(f) > 3 && (f[len(f)-1] == "timeout" || f[len(f)-1] == "total-limit") {
			timeout = true
			f = f[:len(f)-1]
		}
		if len(f) < 3 {
			return nil, fmt.Errorf("lab: %s: malformed line %q", path, strings.TrimSpace(line))
		}
		secs, err := strconv.Atoi(f[len(f)-1])
		if err != nil {
			return nil, fmt.Errorf("lab: %s: malformed seconds in %q", path, strings.TrimSpace(line))
		}
		st := 0
		if s := f[len(f)-2]; s != "-" {
			if st, err = strconv.Atoi(s); err != nil {
				return nil, fmt.Errorf("lab: %s: malformed exit status in %q", path, strings.TrimSpace(line))
			}
		}
		steps = append(steps, Step{Name: strings.Join(f[:len(f)-2], " "), Status: st, Seconds: secs, Timeout: timeout})
	}
	return steps, nil
}

func checkStatus(r *CheckResult, dir string, opts CheckOptions) {
	steps, err := ReadStatus(filepath.Join(dir, "status"))
	if err != nil {
		r.problem("guest status: %v", err)
		return
	}
	done := false
	seen := map[string]bool{}
	testSecs := 0
	for _, s := range steps {
		seen[s.Name] = true
		switch {
		case s.Name == "done":
			done = true
			r.note("guest run: %ds in all", s.Seconds)
			continue
		case s.Name == "watchdog":
			r.problem("the in-guest watchdog ended the run after %ds: it passed its total time limit", s.Seconds)
			continue
		case s.Timeout:
			r.problem("step %q ran into its time limit (%ds, exit %d)", s.Name, s.Seconds, s.Status)
		case s.Status != 0:
			r.problem("step %q exited %d after %ds", s.Name, s.Status, s.Seconds)
		}
		if strings.HasPrefix(s.Name, "test ") {
			testSecs += s.Seconds
		} else {
			r.note("%s: %ds", s.Name, s.Seconds)
		}
	}
	r.note("tests: %ds", testSecs)
	if !done {
		r.problem("the guest did not finish its steps (no \"done\" in its status)")
	}
	want := []string{"topology", "smoke"}
	if opts.Tune {
		want = append(want, "tune")
	}
	if opts.Place {
		want = append(want, "place")
	}
	if opts.PlanCheck != "" {
		want = append(want, "plan", opts.PlanCheck)
	}
	for _, w := range want {
		if !seen[w] {
			r.problem("step %s did not run", w)
		}
	}
}

func checkTopology(r *CheckResult, path string, d Decl) {
	b, err := os.ReadFile(path)
	if err != nil {
		r.problem("topology: %v", err)
		return
	}
	var t affinity.TopologyJSON
	if err := json.Unmarshal(b, &t); err != nil {
		r.problem("topology: %s: %v", path, err)
		return
	}
	want := d.Counts()
	got := Counts{PUs: t.PUs, Cores: t.Cores, Packages: t.Packages, L3Groups: t.L3Groups, NUMANodes: t.NUMANodes}
	if got != want {
		r.problem("topology: the guest counts %+v, the declaration (%s) %+v", got, d, want)
	}
	var classes []affinity.Class
	for c, p := range t.Placements {
		classes = append(classes, c)
		if p[0] < 0 || p[1] < 0 || p[0] >= d.CPUs || p[1] >= d.CPUs {
			r.problem("topology: %s pair %d,%d is outside the declared %d CPUs", c, p[0], p[1], d.CPUs)
			continue
		}
		if rel := d.Relation(p[0], p[1]); rel != c {
			r.problem("topology: the %s pair %d,%d is %s apart in the declaration", c, p[0], p[1], rel)
		}
	}
	slices.SortFunc(classes, byClassOrder)
	if wantC := d.Classes(); !slices.Equal(classes, wantC) {
		r.problem("topology: the guest has classes %v, the declaration implies %v", classes, wantC)
	}
	if t.Identity.Hypervisor == "" {
		r.problem("topology: the guest reports no hypervisor (it runs under QEMU)")
	}
	r.note("topology: %s; classes %v; hypervisor %q", t.Summary, classes, t.Identity.Hypervisor)
}

// byClassOrder sorts classes innermost first.
func byClassOrder(a, b affinity.Class) int {
	all := affinity.Classes()
	return slices.Index(all, a) - slices.Index(all, b)
}

// Smoke is what a -test.v benchmark run printed, by benchmark.
type Smoke struct {
	// Results maps each benchmark name with a result line (without the
	// -GOMAXPROCS suffix) to its line.
	Results map[string]string
	// Skips maps each skipped benchmark to its reason.
	Skips map[string]string
	// Failures lists the failed benchmarks and panics.
	Failures []string
	// Passed: the run ended with PASS.
	Passed bool
}

var procsSuffix = regexp.MustCompile(`-[0-9]+$`)

// ReadSmoke reads the output of a benchmark binary run with -test.v.
func ReadSmoke(path string) (*Smoke, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := &Smoke{Results: map[string]string{}, Skips: map[string]string{}}
	var logged []string // indented lines since the last benchmark line
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "    "):
			logged = append(logged, strings.TrimSpace(line))
		case strings.HasPrefix(line, "--- SKIP: "):
			name := strings.TrimPrefix(strings.Fields(line)[2], "Benchmark")
			s.Skips[name] = strings.Join(logged, " ")
			logged = nil
		case strings.HasPrefix(line, "--- FAIL: "):
			s.Failures = append(s.Failures, strings.TrimPrefix(line, "--- FAIL: ")+": "+strings.Join(logged, " "))
			logged = nil
		case strings.HasPrefix(line, "panic: "), strings.HasPrefix(line, "fatal error: "), line == "FAIL":
			s.Failures = append(s.Failures, line)
		case line == "PASS":
			s.Passed = true
		case strings.HasPrefix(line, "Benchmark"):
			name, rest, ok := strings.Cut(line, "\t")
			if !ok || strings.TrimSpace(rest) == "" {
				logged = nil // the -v line that starts a benchmark
				continue
			}
			name = procsSuffix.ReplaceAllString(strings.TrimSpace(strings.TrimPrefix(name, "Benchmark")), "")
			s.Results[name] = line
			logged = nil
		}
	}
	return s, sc.Err()
}

// splitPlace returns a benchmark name without its place= part, and the
// class; ok is false when the name has none.
func splitPlace(name string) (stem string, class affinity.Class, ok bool) {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		if v, found := strings.CutPrefix(p, "place="); found {
			return strings.Join(slices.Delete(slices.Clone(parts), i, i+1), "/"), affinity.Class(v), true
		}
	}
	return name, "", false
}

// checkSmoke checks the guest's smoke run, read from path, against the
// declaration d: it passed, and each benchmark run per class ran at every
// class d declares (or was skipped by design) and at no other.
func checkSmoke(r *CheckResult, path string, d Decl) {
	s, err := ReadSmoke(path)
	if err != nil {
		r.problem("smoke: %v", err)
		return
	}
	for _, f := range s.Failures {
		r.problem("smoke: %s", f)
	}
	if !s.Passed {
		r.problem("smoke: the benchmark run did not end with PASS")
	}
	stems := smokeStems(s)
	if len(stems) == 0 {
		r.problem("smoke: no benchmark ran per placement class")
		return
	}
	perClassStems, bydesign := 0, 0
	for _, n := range slices.Sorted(maps.Keys(stems)) {
		p := stems[n]
		if !p.pinned() {
			continue
		}
		perClassStems++
		bydesign += checkStem(r, n, p, d)
	}
	r.note("smoke: %d results, %d skips, %d benchmarks per class; %d declared classes skipped by design (busy-waiting sides without a CPU each)", len(s.Results), len(s.Skips), perClassStems, bydesign)
}

// stemClasses is what one benchmark stem (its name without place=) did at
// each class: ran, or skipped with a reason.
type stemClasses struct {
	ran  map[affinity.Class]bool
	skip map[affinity.Class]string
}

// smokeStems groups the smoke run's results and skips that carry a
// place= by stem.
func smokeStems(s *Smoke) map[string]*stemClasses {
	stems := map[string]*stemClasses{}
	get := func(stem string) *stemClasses {
		if p, ok := stems[stem]; ok {
			return p
		}
		p := &stemClasses{ran: map[affinity.Class]bool{}, skip: map[affinity.Class]string{}}
		stems[stem] = p
		return p
	}
	for name := range s.Results {
		if stem, c, ok := splitPlace(name); ok {
			get(scheduleStem(stem)).ran[c] = true
		}
	}
	for name, why := range s.Skips {
		if stem, c, ok := splitPlace(name); ok {
			get(scheduleStem(stem)).skip[c] = why
		}
	}
	return stems
}

// pinned reports whether the stem runs per class: a benchmark run only
// unpinned (free goroutines) or on every allowed CPU (place=all) does not.
func (p *stemClasses) pinned() bool {
	for c := range p.ran {
		if isClass(c) {
			return true
		}
	}
	for c := range p.skip {
		if isClass(c) {
			return true
		}
	}
	return false
}

// checkStem checks that stem n ran at the classes the declaration d has,
// and only those, and returns how many it skipped by design.
func checkStem(r *CheckResult, n string, p *stemClasses, d Decl) (bydesign int) {
	want := d.Classes()
	if strings.Contains(n, "pin=node") {
		// Node-wide pinning runs at place=node on any machine (every
		// iothread in one node: the whole allowed set when there is one
		// node) and at place=remote with two nodes or more.
		want = []affinity.Class{affinity.Node}
		if len(d.Nodes) >= 2 {
			want = append(want, affinity.Remote)
		}
	}
	for c := range p.ran {
		if isClass(c) && !slices.Contains(want, c) {
			r.problem("smoke: %s ran at place=%s, which the declaration does not have", n, c)
		}
	}
	for _, c := range want {
		if c == affinity.SameCPU || p.ran[c] {
			continue
		}
		if why, ok := p.skip[c]; ok && strings.Contains(why, spinSkip) {
			// By design: more busy-waiting sides than CPUs to spin on.
			bydesign++
		} else if ok {
			r.problem("smoke: %s skipped place=%s, which the declaration has: %s", n, c, why)
		} else {
			r.problem("smoke: %s has no result at place=%s, which the declaration has", n, c)
		}
	}
	return bydesign
}

// spinSkip is in the reason of every skip the harness makes by design
// because busy-waiting sides would share CPUs (samecpu, unpinned on small
// machines, pin=node in a node with fewer CPUs than spinning iothreads).
const spinSkip = "measure the scheduler's time slice"

// isClass reports whether a place= value is a placement class (not
// unpinned, not all).
func isClass(c affinity.Class) bool { return slices.Contains(affinity.Classes(), c) }

// scheduleStem folds Schedule's contexts=N part, which depends on how
// many CPUs the class spreads over, out of the stem.
func scheduleStem(stem string) string {
	parts := strings.Split(stem, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, "contexts=") {
			parts[i] = "contexts=N"
		}
	}
	return strings.Join(parts, "/")
}

func checkTests(r *CheckResult, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		r.problem("tests: %v", err)
		return
	}
	ok, skips := 0, 0
	for line := range strings.Lines(string(b)) {
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "ok\t"):
			ok++
		case strings.HasPrefix(line, "FAIL\t"):
			r.problem("tests: %s", line)
		case strings.HasPrefix(strings.TrimSpace(line), "--- FAIL: "):
			r.problem("tests: %s", strings.TrimSpace(line))
		case strings.HasPrefix(strings.TrimSpace(line), "--- SKIP: "):
			skips++
		case strings.HasPrefix(line, "panic: "):
			r.problem("tests: %s", line)
		case strings.HasPrefix(line, "lab: known failure skipped: "):
			r.note("tests: %s", strings.TrimPrefix(line, "lab: "))
		}
	}
	if ok == 0 {
		r.problem("tests: no package passed (%s)", path)
	}
	r.note("tests: %d packages ok, %d tests skipped", ok, skips)
}

// TuneFiles are the files a tuning run writes.
var TuneFiles = []string{"bench.txt", "matrix.csv", "matrix-samples.csv", "topology.json", "report.md", "heatmap.png", "heatmap.svg"}

func checkTune(r *CheckResult, dir string) {
	for _, f := range TuneFiles {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Size() == 0 {
			r.problem("tune: %s missing or empty", filepath.Join(dir, f))
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		return
	}
	if !strings.Contains(string(b), "virtual machine") {
		r.problem("tune: report.md has no virtual-machine warning")
	}
	if !strings.Contains(string(b), "emulated (QEMU TCG)") {
		r.problem("tune: report.md does not say its timings are emulated")
	}
}

// PlanEstimate returns the estimated duration that `pinbench tune --plan`
// printed for mode ("quick" or "full"): the "estimated duration:"
// line of the section headed "MODE mode:".
func PlanEstimate(plan, mode string) (time.Duration, error) {
	in := false
	for line := range strings.Lines(plan) {
		if f := strings.Fields(line); len(f) > 1 && f[1] == "mode:" && !strings.HasPrefix(line, " ") {
			if in {
				break // the next mode's section, and none in ours
			}
			in = f[0] == mode
			continue
		}
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "estimated duration: ")
		if !ok || !in {
			continue
		}
		v, _, _ := strings.Cut(rest, " ")
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("lab: plan: %s mode's estimated duration %q is not a positive duration", mode, v)
		}
		return d, nil
	}
	return 0, fmt.Errorf("lab: plan: no estimated duration for %s mode", mode)
}

// checkPlan holds the duration of the tune in mode ("quick" or "full":
// the guest's step of that name) to the plan's estimate for the mode.
func checkPlan(r *CheckResult, dir, mode string) {
	b, err := os.ReadFile(filepath.Join(dir, "plan.txt"))
	if err != nil {
		r.problem("plan: %v", err)
		return
	}
	est, err := PlanEstimate(string(b), mode)
	if err != nil {
		r.problem("%v", err)
		return
	}
	steps, err := ReadStatus(filepath.Join(dir, "status"))
	if err != nil {
		return // checkStatus reported it
	}
	i := slices.IndexFunc(steps, func(s Step) bool { return s.Name == mode })
	if i < 0 || steps[i].Status != 0 {
		return // checkStatus reported it
	}
	took := time.Duration(steps[i].Seconds) * time.Second
	ratio := took.Seconds() / est.Seconds()
	msg := fmt.Sprintf("plan: the %s tune took %v, %.2fx its plan's estimate of %v (allowed: %.1fx either way)", mode, took, ratio, est, PlanTolerance)
	if ratio > PlanTolerance || ratio < 1/PlanTolerance {
		r.problem("%s", msg)
		return
	}
	r.note("%s", msg)
}
