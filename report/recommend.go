package report

import (
	"fmt"
	"slices"

	"golang.org/x/perf/benchmath"
)

// Recommendation is one piece of advice with the evidence behind it. When
// the evidence is not statistically significant (p > alpha) or rests on too
// few samples, Withheld is set, Choice is empty and Summary says why.
type Recommendation struct {
	// Topic is what the advice is about.
	Topic Topic
	// Choice is the recommended value (e.g. "llc", "adaptive",
	// "pollmax=32us", "pad=128"); empty when withheld.
	Choice string
	// Withheld tells that no recommendation is made.
	Withheld bool
	// Summary is one sentence a reader can act on.
	Summary string
	// Evidence lists the figures behind it: medians, ratios, p-values and
	// sample counts, as benchstat computes them.
	Evidence []string

	figures []*point // the samples the advice rests on (noteRegimes)
}

// Topic is what a Recommendation is about.
type Topic string

// The topics, in the order Recommend returns them.
const (
	TopicPlacement Topic = "placement"     // which placement class to pin a handoff's two iothreads as
	TopicWait      Topic = "wait strategy" // busy-poll, kernel wait or adaptive
	TopicWindow    Topic = "poll window"   // the adaptive wait's poll window (pollmax)
	TopicPinning   Topic = "pinning"       // pin each iothread to one CPU or to a NUMA node
	TopicPadding   Topic = "padding"       // the queue's 64- or 128-byte padding
)

// stat holds a benchmath summary and comparison between two points.
type stat struct {
	base, other benchmath.Summary
	cmp         benchmath.Comparison
	ratio       float64 // other median / base median
	nBase, nOth int
}

func (o Thresholds) compare(base, other []float64) stat {
	th := &benchmath.Thresholds{CompareAlpha: o.alpha()}
	sb := benchmath.NewSample(slices.Clone(base), th)
	so := benchmath.NewSample(slices.Clone(other), th)
	a := benchmath.AssumeNothing
	s := stat{base: a.Summary(sb, 0.95), other: a.Summary(so, 0.95), cmp: a.Compare(sb, so),
		nBase: len(base), nOth: len(other)}
	s.ratio = s.other.Center / s.base.Center
	return s
}

func (s stat) significant() bool { return s.cmp.P <= s.cmp.Alpha }

// pn renders "p=0.000 n=10" (benchstat's note) plus "not significant" when
// p > alpha.
func (s stat) pn() string {
	str := s.cmp.String()
	if !s.significant() {
		str += ", not significant"
	}
	return str
}

// tooFew returns a reason when a point has fewer than the minimum samples.
func (o Thresholds) tooFew(pts ...*point) string {
	for _, p := range pts {
		if len(p.vals) < o.minSamples() {
			return fmt.Sprintf("too few samples: %s has n=%d, need %d (rerun with -count %d)",
				p.name, len(p.vals), o.minSamples(), max(10, o.minSamples()))
		}
	}
	return ""
}

// Recommend derives every recommendation the run's results support, in
// the order of the Topic constants: placement, wait strategy, poll window
// (when the sweep is present), pinning (when pin=node ran) and padding.
// Each comes with its evidence or says why it is withheld.
func Recommend(run *Run, th Thresholds) []Recommendation {
	place, order := th.recommendPlacement(run)
	out := []Recommendation{place}
	if len(order) > 0 {
		out = append(out, th.recommendWait(run, order))
	}
	if w, ok := th.recommendWindow(run); ok {
		out = append(out, w)
	}
	if p, ok := th.recommendPin(run, order); ok {
		out = append(out, p)
	}
	out = append(out, th.recommendPadding(run))
	for i := range out {
		out[i] = noteRegimes(out[i])
	}
	return out
}
