package place

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"

	"github.com/pinbench/pinbench/internal/benchtab"
	"github.com/pinbench/pinbench/internal/quantile"
)

// Verification is what Verify measured, and how it compares with what
// the model predicted.
type Verification struct {
	// Workload and Wait are what ran, and how the iothreads waited.
	Workload *Workload
	Wait     Wait
	// Rounds, RunTime and Alpha are the options it ran with.
	Rounds  int
	RunTime time.Duration
	Alpha   float64
	// Placements are the plan, then the baselines in the plan's order.
	Placements []VerifiedPlacement
	// Comparisons compare each baseline with the plan, in Placements'
	// order.
	Comparisons []Comparison
	// PredictedOrder and MeasuredOrder list the placements that ran
	// (with a prediction), cheapest first.
	PredictedOrder, MeasuredOrder []string
	// Inversions are the pairs measured in the other order than
	// predicted, each a sentence with its p-value; none when the orders
	// match.
	Inversions []string
	// Significant tells whether any inversion is statistically
	// significant.
	Significant bool

	runs   []sampleRun
	tables *benchtab.Tables
}

// sampleRun is one run's result, in the order the runs ran.
type sampleRun struct {
	placement string
	ns        float64
	hops      int64
}

// Comparison compares one baseline with the plan, as benchstat does with
// the plan as the base column.
type Comparison struct {
	// Baseline is the baseline's name; SameAs is the placement it shares
	// its CPUs with ("" when it ran itself).
	Baseline, SameAs string
	// PlanNs and BaselineNs are the medians, ns per handoff.
	PlanNs, BaselineNs float64
	// Delta is benchstat's delta of the baseline against the plan
	// ("+12.50%", or "~" when not significant); PN its note ("p=0.002
	// n=6").
	Delta, PN string
	// P is the Mann-Whitney U test's p-value; Significant is P < Alpha.
	P           float64
	Significant bool
}

// PlanBetter reports whether the plan is significantly cheaper than the
// baseline.
func (c Comparison) PlanBetter() bool {
	return c.SameAs == "" && c.Significant && c.PlanNs < c.BaselineNs
}

// Sentence says plainly what the comparison shows.
func (c Comparison) Sentence() string {
	switch {
	case c.SameAs != "":
		return fmt.Sprintf("plan vs %s: the same CPUs as the %s placement, not run again", c.Baseline, c.SameAs)
	case c.PlanBetter():
		return fmt.Sprintf("plan vs %s: %s %s against the plan (%s): the plan is significantly faster", c.Baseline, c.Baseline, c.Delta, c.PN)
	case c.Significant:
		return fmt.Sprintf("plan vs %s: %s %s against the plan (%s): the plan is significantly SLOWER than %s", c.Baseline, c.Baseline, c.Delta, c.PN, c.Baseline)
	}
	return fmt.Sprintf("plan vs %s: %s %s against the plan (%s): the plan is NOT significantly better than %s", c.Baseline, c.Baseline, c.Delta, c.PN, c.Baseline)
}

// summarise computes the medians, benchstat's tables and comparisons, and
// the two orders.
func (v *Verification) summarise() error {
	h := handoffsPerRound(v.Workload)
	for i := range v.Placements {
		pl := &v.Placements[i]
		if pl.SameAs != "" {
			src := v.placement(pl.SameAs)
			pl.Samples, pl.MedianNs = src.Samples, src.MedianNs
		} else {
			pl.MedianNs = quantile.Median(pl.Samples)
		}
		pl.RoundNs = pl.MedianNs * h
	}
	if err := v.buildTables(); err != nil {
		return err
	}
	v.compare()
	v.orders()
	return nil
}

// placement returns the placement called name.
func (v *Verification) placement(name string) *VerifiedPlacement {
	for i := range v.Placements {
		if v.Placements[i].Name == name {
			return &v.Placements[i]
		}
	}
	return nil
}

// Raw returns the runs in Go's benchmark format, one line per run in the
// order they ran: BenchmarkPlace/pattern=P/threads=N/wait=W/placement=X,
// the run's handoffs, and ns per handoff as ns/op. benchstat reads it:
// `benchstat -col /placement`.
func (v *Verification) Raw() string {
	var b strings.Builder
	for _, r := range v.runs {
		fmt.Fprintf(&b, "BenchmarkPlace/pattern=%s/threads=%d/wait=%s/placement=%s \t%d\t%.1f ns/op\n",
			v.Workload.Pattern, len(v.Workload.Threads), v.Wait, r.placement, max(r.hops, 1), r.ns)
	}
	return b.String()
}

// buildTables runs the samples through benchstat's statistics, the plan
// as the base column.
func (v *Verification) buildTables() error {
	b, err := benchtab.NewBuilder(benchtab.Options{Col: "/placement", Alpha: v.Alpha})
	if err != nil {
		return fmt.Errorf("place: verify: %w", err)
	}
	r := benchfmt.NewReader(strings.NewReader(v.Raw()), "verify")
	for r.Scan() {
		if res, ok := r.Result().(*benchfmt.Result); ok {
			b.Add(res)
		}
	}
	if err := r.Err(); err != nil {
		return fmt.Errorf("place: verify: %w", err)
	}
	if v.tables, err = b.ToTables(nil); err != nil {
		return fmt.Errorf("place: verify: %w", err)
	}
	return nil
}

// compare fills Comparisons from the table's cells.
func (v *Verification) compare() {
	t := v.tables.Tables[0]
	plan := v.Placements[0]
	for _, pl := range v.Placements[1:] {
		c := Comparison{Baseline: pl.Name, SameAs: pl.SameAs, PlanNs: plan.MedianNs, BaselineNs: pl.MedianNs}
		if j := t.Col(pl.Name); pl.SameAs == "" && j >= 0 && t.Cells[0][j] != nil {
			cell := t.Cells[0][j]
			c.Delta, c.PN, c.P = cell.Delta(), cell.PN(), cell.Comparison.P
			c.Significant = cell.Comparison.P < cell.Comparison.Alpha
		}
		v.Comparisons = append(v.Comparisons, c)
	}
}

// orders fills the predicted and measured orders of the placements that
// ran and have a prediction, and the pairs they disagree on.
func (v *Verification) orders() {
	var ran []VerifiedPlacement
	for _, pl := range v.Placements {
		if pl.SameAs == "" && !math.IsNaN(pl.PredictedNs) {
			ran = append(ran, pl)
		}
	}
	byPred := slices.Clone(ran)
	slices.SortStableFunc(byPred, func(a, b VerifiedPlacement) int { return cmp.Compare(a.PredictedNs, b.PredictedNs) })
	byMeas := slices.Clone(ran)
	slices.SortStableFunc(byMeas, func(a, b VerifiedPlacement) int { return cmp.Compare(a.MedianNs, b.MedianNs) })
	for i := range ran {
		v.PredictedOrder = append(v.PredictedOrder, byPred[i].Name)
		v.MeasuredOrder = append(v.MeasuredOrder, byMeas[i].Name)
	}
	for i, a := range byPred {
		for _, b := range byPred[i+1:] {
			if a.PredictedNs < b.PredictedNs && a.MedianNs > b.MedianNs {
				v.inversion(a, b)
			}
		}
	}
}

// inversion records that a was predicted cheaper than b and measured
// dearer.
func (v *Verification) inversion(a, b VerifiedPlacement) {
	th := &benchmath.Thresholds{CompareAlpha: v.Alpha}
	c := benchmath.AssumeNothing.Compare(benchmath.NewSample(slices.Clone(a.Samples), th), benchmath.NewSample(slices.Clone(b.Samples), th))
	word := "not significant"
	if c.P < c.Alpha {
		word, v.Significant = "significant", true
	}
	v.Inversions = append(v.Inversions, fmt.Sprintf("%s was predicted cheaper than %s (%s < %s ns per round) but measured dearer (%s > %s ns per handoff; %s, %s)",
		a.Name, b.Name, fmtNs(a.PredictedNs), fmtNs(b.PredictedNs), fmtNs(a.MedianNs), fmtNs(b.MedianNs), c, word))
}

// measured is the Document's measured costs: per round, with notes.
func (v *Verification) measured() []Measured {
	out := make([]Measured, 0, len(v.Placements))
	for i, pl := range v.Placements {
		note := fmt.Sprintf("median of %d rounds, %s ns per handoff", len(pl.Samples), fmtNs(pl.MedianNs))
		if i > 0 {
			c := v.Comparisons[i-1]
			note += fmt.Sprintf("; vs plan %s (%s)", c.Delta, c.PN)
		}
		if pl.SameAs != "" {
			note = "the same CPUs as the " + pl.SameAs + " placement: its figure"
		}
		out = append(out, Measured{Placement: pl.Name, NsPerRound: pl.RoundNs, Note: note})
	}
	return out
}

// WriteText writes the verification for a reader: what ran, benchstat's
// table, each baseline against the plan in a sentence, and the predicted
// and measured orders.
func (v *Verification) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "verify: %d threads (%s), wait=%s, on this machine: %d interleaved rounds, %v per placement per round; ns per handoff, a round weighted as the workload weights its edges\n",
		len(v.Workload.Threads), v.Workload.Pattern, v.Wait, v.Rounds, v.RunTime)
	for _, pl := range v.Placements {
		same := ""
		if pl.SameAs != "" {
			same = " (= " + pl.SameAs + ", not run again)"
		}
		fmt.Fprintf(w, "  %-8s %s%s\n", pl.Name, cpuWords(pl.CPUs), same)
	}
	fmt.Fprintln(w)
	if err := v.tables.WriteText(w, benchtab.RenderOptions{}); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, c := range v.Comparisons {
		fmt.Fprintln(w, c.Sentence())
	}
	_, err := fmt.Fprintln(w, v.orderSentence())
	return err
}

// Verdict says in one line whether the plan is significantly better
// than the baselines it ran against (those with CPUs of their own):
// "the plan is significantly faster than compact and unpinned", or
// which baselines it is NOT significantly better than, or slower than.
func (v *Verification) Verdict() string {
	var faster, same, slower []string
	for _, c := range v.Comparisons {
		switch {
		case c.SameAs != "":
		case c.PlanBetter():
			faster = append(faster, c.Baseline)
		case c.Significant:
			slower = append(slower, c.Baseline)
		default:
			same = append(same, c.Baseline)
		}
	}
	var parts []string
	if len(slower) > 0 {
		parts = append(parts, "the plan is significantly SLOWER than "+andList(slower))
	}
	if len(same) > 0 {
		parts = append(parts, "the plan is NOT significantly better than "+andList(same))
	}
	if len(faster) > 0 {
		parts = append(parts, "the plan is significantly faster than "+andList(faster))
	}
	if len(parts) == 0 {
		return "nothing to compare: every baseline has the plan's CPUs"
	}
	return strings.Join(parts, "; ")
}

// andList joins words as "a", "a and b", "a, b and c".
func andList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// verified is the conclusion kept with the plan (Plan.Verified).
func (v *Verification) verified() *Verified {
	out := &Verified{Rounds: v.Rounds, RunTime: v.RunTime, Verdict: v.Verdict()}
	for _, c := range v.Comparisons {
		out.Sentences = append(out.Sentences, c.Sentence())
	}
	out.Sentences = append(out.Sentences, v.orderSentence())
	return out
}

// orderSentence compares the predicted and measured orders in words.
func (v *Verification) orderSentence() string {
	s := fmt.Sprintf("predicted order: %s; measured: %s: ", strings.Join(v.PredictedOrder, " < "), strings.Join(v.MeasuredOrder, " < "))
	switch {
	case len(v.PredictedOrder) < 2:
		return s + "nothing to order"
	case len(v.Inversions) == 0:
		return s + "the measured order matches the predicted one"
	case !v.Significant:
		return s + "the measured order does not match the predicted one, but no swap is significant: " + strings.Join(v.Inversions, "; ")
	}
	return s + "the measured order does NOT match the predicted one: " + strings.Join(v.Inversions, "; ")
}
