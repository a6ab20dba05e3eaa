package tune

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/atomicfile"
	"github.com/pinbench/pinbench/internal/benchtab"
	"github.com/pinbench/pinbench/place"
	"github.com/pinbench/pinbench/report"
)

// PlacementFile is the run's verified placement (tune --threads or
// --graph): the plan's place.Document, schema pinbench.place/v1. A
// report rebuilt from the folder shows it again.
const PlacementFile = place.DocumentFile

// The handoff benchmarks a placement is planned from.
const placementBench = "BenchmarkHandoff/via=aio/"

// placementRuns is how many placements a verification runs at most: the
// plan and its three baselines.
const placementRuns = 4

// placementStart is what one run of a placement costs beyond its run
// time, for the estimate: iothreads started, pinned, warmed up, joined.
const placementStart = 20 * time.Millisecond

// wantsPlacement reports whether the run places a workload (Threads and
// Pattern, or Graph).
func (o Options) wantsPlacement() bool { return o.Threads != 0 || o.Pattern != "" || o.Graph != "" }

// placementWhat names the workload: "4 threads (ring)", "the graph FILE".
func (o Options) placementWhat() string {
	if o.Graph != "" {
		return "the graph " + o.Graph
	}
	return fmt.Sprintf("%d threads (%s)", o.Threads, o.Pattern)
}

// checkPlacement refuses a workload no run can place, by its flags:
// the pattern's and the graph's own errors, and more threads than
// place.Verify runs.
func (o Options) checkPlacement() error {
	switch {
	case !o.wantsPlacement():
		return nil
	case o.Graph != "" && (o.Threads != 0 || o.Pattern != ""):
		return optionError("--graph excludes --threads and --pattern")
	case o.Graph == "" && (o.Threads == 0 || o.Pattern == ""):
		return optionError("--threads and --pattern go together: --threads N --pattern %s (or --graph FILE)", strings.Join(place.Patterns(), "|"))
	}
	wl, err := o.workload()
	if err != nil {
		return err
	}
	if n := len(wl.Threads); n > place.MaxVerifyThreads {
		return optionError("%d threads: a run verifies at most %d (pinbench place plans more, without --verify)", n, place.MaxVerifyThreads)
	}
	return nil
}

// workload is the workload Options asks to place: the pattern (its
// mistakes an *OptionError), or the graph file.
func (o Options) workload() (*place.Workload, error) {
	if o.Graph != "" {
		return place.ReadGraphFile(o.Graph)
	}
	wl, err := place.Pattern(o.Pattern, o.Threads)
	if err != nil {
		return nil, &OptionError{err.Error()}
	}
	return wl, nil
}

// checkPlacementRun refuses, before anything is measured, a placement
// this run could not make: more threads than the run may use CPUs (one
// thread a CPU), or a suite (--bench) without the via=aio handoffs the
// plan is costed from. run lists the benchmarks that will run.
func (o Options) checkPlacementRun(t *affinity.Topology, run []string) error {
	if !o.wantsPlacement() {
		return nil
	}
	wl, err := o.workload()
	if err != nil {
		return err
	}
	if n, cpus := len(wl.Threads), t.Allowed.Count(); n > cpus {
		return optionError("%d threads to place, but this run may use %d CPUs (%s): at most one thread a CPU", n, cpus, t.Allowed)
	}
	for _, name := range run {
		if strings.HasPrefix(name, placementBench) && !strings.HasSuffix(name, "place="+string(affinity.Unpinned)) {
			return nil
		}
	}
	return optionError("--bench %q runs no pinned via=aio handoff (%swait=W/pin=cpu/place=C), which a placement is costed from: widen --bench, or leave --threads out", o.Bench, placementBench)
}

// verifyOptions are the verification's rounds in mode m: the mode's,
// else place's defaults.
func verifyOptions(m Mode, progress io.Writer) place.VerifyOptions {
	o := place.VerifyOptions{Rounds: m.VerifyRounds, RunTime: m.VerifyRunTime, Progress: progress}
	if o.Rounds == 0 {
		o.Rounds = place.DefaultVerifyRounds
	}
	if o.RunTime == 0 {
		o.RunTime = place.DefaultVerifyRunTime
	}
	return o
}

// placementEstimate is how long the placement step takes in mode m:
// each placement run once a round, its run time and start-up.
func placementEstimate(m Mode) time.Duration {
	o := verifyOptions(m, nil)
	return time.Duration(o.Rounds*placementRuns) * (o.RunTime + placementStart)
}

// writePlacementPlan prints the placement step of a mode's plan and
// returns its estimate; nothing (0) without a workload.
func writePlacementPlan(w io.Writer, o Options, m Mode) time.Duration {
	if !o.wantsPlacement() {
		return 0
	}
	vo := verifyOptions(m, nil)
	d := placementEstimate(m)
	fmt.Fprintf(w, "  placement: %s planned from the run's via=aio handoffs and matrix for its recommended wait mode, on its allowed CPUs, then verified here against compact, spread and unpinned in %d interleaved rounds of %v per placement: about %v\n",
		o.placementWhat(), vo.Rounds, vo.RunTime, d.Round(time.Second/10))
	return d
}

// placeRun plans the run's placement from its own results (run, the
// matrix, the topology) and verifies it. It returns the plan's document,
// or, when the measured figures rule a plan out or the graph file can no
// longer be read, nil and why. A
// verification that fails keeps the plan, its document saying why it is
// not verified. Either is a warning on progress: the run is kept.
func (r *runner) placeRun(run *report.Run) (doc *place.Document, why string) {
	// The graph file is read again here, after the measuring: one edited
	// or removed meanwhile costs the placement, never the measured run.
	wl, err := r.o.workload()
	if err != nil {
		fmt.Fprintf(r.progress, "warning: no placement: %v\n", err)
		return nil, err.Error()
	}
	res := &place.Results{Dir: r.folder.final, Machine: r.res.Machine, Run: run, Matrix: r.res.Matrix, Topology: r.res.Topology}
	plan, err := r.plan(res, wl)
	if err != nil {
		fmt.Fprintf(r.progress, "warning: no placement: %v\n", err)
		return nil, err.Error()
	}
	vo := verifyOptions(r.mode, r.progress)
	fmt.Fprintf(r.progress, "verifying the placement of %d threads (%s, wait=%s) on CPUs %s: %d interleaved rounds of %v per placement\n",
		len(wl.Threads), wl.Pattern, plan.Wait, cpuWords(plan.CPUs), vo.Rounds, vo.RunTime)
	if _, err := place.Verify(plan, vo); err != nil {
		fmt.Fprintf(r.progress, "warning: the placement is not verified: %v\n", err)
		plan.Verified = &place.Verified{Error: err.Error()}
	}
	return plan.Document(), ""
}

// placementSection writes the run's placement for its final folder: doc
// into dir's PlacementFile, naming final as its results folder, and the
// report's section of it; without doc, a section saying why there is
// none.
func (r *runner) placementSection(dir, final string, doc *place.Document, why string) (string, error) {
	if doc == nil {
		return fmt.Sprintf("## Placement\n\nNo placement of %s: %s\n", benchtab.EscapeMarkdown(r.o.placementWhat()), benchtab.EscapeMarkdown(why)), nil
	}
	doc.Results = final
	if err := atomicfile.Write(filepath.Join(dir, PlacementFile), doc.Encode); err != nil {
		return "", err
	}
	var b bytes.Buffer
	err := place.WriteDocumentMarkdown(&b, doc)
	return b.String(), err
}

// plan is the placement for the run's recommended wait mode, on its
// allowed CPUs.
func (r *runner) plan(res *place.Results, wl *place.Workload) (*place.Plan, error) {
	wait, note, err := res.RecommendedWait()
	if err != nil {
		return nil, err
	}
	if note != "" {
		fmt.Fprintf(r.progress, "note: %s; placing for wait=%s\n", note, wait)
	}
	m, err := place.NewModel(res, wait)
	if err != nil {
		return nil, err
	}
	return place.NewPlan(m, wl, place.Options{})
}

// cpuWords lists CPUs as "0 1 4".
func cpuWords(cpus []int) string {
	s := make([]string, len(cpus))
	for i, c := range cpus {
		s[i] = fmt.Sprint(c)
	}
	return strings.Join(s, " ")
}
