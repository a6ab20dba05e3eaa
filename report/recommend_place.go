package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/quantile"
)

// placementRanking is one wait strategy's placements, fastest first, with
// the comparison of the fastest against the runner-up.
type placementRanking struct {
	wait     string
	order    []affinity.Class
	pts      map[affinity.Class]*point
	runnerUp stat
	withheld string // why no placement is recommended for this wait; "" when one is
}

// rankPlacements ranks the via=aio/pin=cpu placement classes by median
// handoff time for wait, nil when fewer than two classes ran.
func (o Thresholds) rankPlacements(run *Run, wait string) *placementRanking {
	order, pts := groups[affinity.Class](run, filter(aioPinCPU, backToBack, anyPlace, is("/wait", wait)), "/place", "sec/op")
	if len(order) < 2 {
		return nil
	}
	slices.SortStableFunc(order, func(a, b affinity.Class) int {
		return cmp.Compare(quantile.Median(pts[a].vals), quantile.Median(pts[b].vals))
	})
	r := &placementRanking{wait: wait, order: order, pts: pts}
	r.runnerUp = o.compare(pts[order[0]].vals, pts[order[1]].vals)
	switch why := o.tooFew(pts[order[0]], pts[order[1]]); {
	case why != "":
		r.withheld = why
	case !r.runnerUp.significant():
		r.withheld = fmt.Sprintf("%s and %s are not significantly different (%s > alpha %.2g)", order[0], order[1], r.runnerUp.cmp.String(), o.alpha())
	}
	return r
}

// advice is the ranking's answer in a few words: "llc (the next best,
// unpinned, is 1.09x slower, p=0.011 n=10)".
func (r *placementRanking) advice() string {
	return fmt.Sprintf("%s (the next best, %s, is %s, %s)", r.order[0], r.order[1], fmtRatio(r.runnerUp.ratio), r.runnerUp.cmp.String())
}

// recommendPlacement: the placement with the lowest via=aio handoff
// latency, for each wait strategy that ran at two classes or more, since
// the answer can depend on it (a blocking wait can be fastest with both
// iothreads on one CPU, where busy-polling ones are slowest). When the
// strategies agree, that placement is the advice, for all of them; when
// they disagree, the advice says which placement for which strategy. The
// classes it returns, fastest first, are those of the first strategy of
// poll, adaptive, block that ranks at least two (nil when none does): the
// wait strategy and pinning advice are read there.
func (o Thresholds) recommendPlacement(run *Run) (Recommendation, []affinity.Class) {
	rec := Recommendation{Topic: TopicPlacement}
	var ranks []*placementRanking
	for _, w := range []string{"poll", "adaptive", "block"} {
		if r := o.rankPlacements(run, w); r != nil {
			ranks = append(ranks, r)
		}
	}
	if len(ranks) == 0 {
		rec.Withheld = true
		rec.Summary = "Placement: not enough data (BenchmarkHandoff/via=aio needs at least two placement classes)."
		return rec, nil
	}
	rec.Evidence = append(rec.Evidence, o.placementEvidence(ranks)...)
	for _, r := range ranks {
		rec.figures = append(rec.figures, r.pts[r.order[0]], r.pts[r.order[1]])
	}
	primary := ranks[0]
	var decided []*placementRanking
	choices := map[affinity.Class]bool{}
	for _, r := range ranks {
		if r.withheld == "" {
			decided = append(decided, r)
			choices[r.order[0]] = true
		}
	}
	switch {
	case len(decided) == 0:
		rec.Withheld = true
		if len(ranks) == 1 {
			rec.Summary = fmt.Sprintf("Placement (wait=%s): no recommendation; %s.", primary.wait, primary.withheld)
		} else {
			var parts []string
			for _, r := range ranks {
				parts = append(parts, fmt.Sprintf("wait=%s: %s", r.wait, r.withheld))
			}
			rec.Summary = fmt.Sprintf("Placement: no recommendation for any wait strategy (%s).", strings.Join(parts, "; "))
		}
	case len(choices) == 1:
		rec.Choice = string(decided[0].order[0])
		var parts []string
		for _, r := range decided {
			parts = append(parts, fmt.Sprintf("wait=%s: %s", r.wait, r.advice()))
		}
		scope := fmt.Sprintf("with wait=%s", decided[0].wait)
		if len(decided) > 1 {
			scope = "with every wait strategy that settles it"
		}
		rec.Summary = fmt.Sprintf("Placement: pin the two iothreads of a handoff as %s %s (%s).", rec.Choice, scope, strings.Join(parts, "; "))
		for _, r := range ranks {
			if r.withheld != "" {
				rec.Summary += fmt.Sprintf(" With wait=%s it is not settled: %s.", r.wait, r.withheld)
			}
		}
	default:
		// The strategies disagree: no one placement, but one per wait.
		rec.Choice = ""
		var parts []string
		for _, r := range decided {
			parts = append(parts, fmt.Sprintf("with wait=%s pin them as %s", r.wait, r.advice()))
		}
		rec.Summary = fmt.Sprintf("Placement depends on the wait strategy: %s.", strings.Join(parts, "; "))
		for _, r := range decided {
			if r == primary {
				rec.Choice = string(r.order[0])
			}
		}
	}
	return rec, primary.order
}

// placementEvidence lists each ranking's figures: the fastest class, then
// each other one against it.
func (o Thresholds) placementEvidence(ranks []*placementRanking) []string {
	const unit = "sec/op"
	var lines []string
	for _, r := range ranks {
		best := r.order[0]
		lines = append(lines, fmt.Sprintf("wait=%s: BenchmarkHandoff/via=aio/wait=%s, %s (one one-way handoff), median of %d samples",
			r.wait, r.wait, unitName(unit), len(r.pts[best].vals)))
		lines = append(lines, fmt.Sprintf("wait=%s, place=%s: %s (fastest)", r.wait, best, fmtVal(quantile.Median(r.pts[best].vals), unit)))
		for _, c := range r.order[1:] {
			s := o.compare(r.pts[best].vals, r.pts[c].vals)
			lines = append(lines, fmt.Sprintf("wait=%s, place=%s: %s, %s than %s (%s)",
				r.wait, c, fmtVal(s.other.Center, unit), fmtRatio(s.ratio), best, s.pn()))
		}
	}
	return lines
}

// recommendPin: pin each iothread to one CPU or to a whole NUMA node? It
// compares BenchmarkHandoff/via=aio/pin=node at place=node and
// place=remote with pin=cpu at the same place, or, where pin=cpu has no
// such place (a one-node machine has no node class), with the fastest
// pin=cpu placement (places, fastest first). ok is false when the run has
// no pin=node results.
func (o Thresholds) recommendPin(run *Run, places []affinity.Class) (Recommendation, bool) {
	rec := Recommendation{Topic: TopicPinning}
	var first *stat
	var firstLine string
	for _, w := range []string{"poll", "adaptive", "block"} {
		node := filter(aioPinNode, is("/wait", w), backToBack, anyPlace)
		order, nodePts := groups[affinity.Class](run, node, "/place", "sec/op")
		if len(order) == 0 {
			continue
		}
		_, cpuPts := groups[affinity.Class](run, filter(aioPinCPU, is("/wait", w), backToBack, anyPlace), "/place", "sec/op")
		_, seen := groups[affinity.Class](run, node, "/place", "samecpu-frac")
		// Where pin=cpu did not run at a place: its fastest placement.
		var fastest affinity.Class
		if i := slices.IndexFunc(places, func(p affinity.Class) bool { return cpuPts[p] != nil }); i >= 0 {
			fastest = places[i]
		}
		for _, place := range order {
			against, at := cpuPts[place], place
			if against == nil {
				against, at = cpuPts[fastest], fastest
			}
			if against == nil {
				continue
			}
			s := o.compare(against.vals, nodePts[place].vals)
			line := fmt.Sprintf("wait=%s: pin=node/place=%s %s, %s than pin=cpu/place=%s %s (%s)",
				w, place, fmtVal(s.other.Center, "sec/op"), fmtRatio(s.ratio), at, fmtVal(s.base.Center, "sec/op"), s.pn())
			if f := seen[place]; f != nil {
				line += fmt.Sprintf("; both iothreads on one CPU in %.0f%% of getcpu samples", 100*quantile.Median(f.vals))
			}
			rec.Evidence = append(rec.Evidence, line)
			if first == nil {
				rec.figures = append(rec.figures, against, nodePts[place])
				first, firstLine = &s, fmt.Sprintf("pin=node/place=%s against pin=cpu/place=%s, wait=%s", place, at, w)
				if why := o.tooFew(against, nodePts[place]); why != "" {
					rec.Withheld = true
					rec.Summary = fmt.Sprintf("Pinning: no recommendation, %s.", why)
				}
			}
		}
		break // one wait strategy, as the placement advice reads one
	}
	if first == nil {
		return rec, false
	}
	switch {
	case rec.Withheld:
	case !first.significant():
		rec.Withheld = true
		rec.Summary = fmt.Sprintf("Pinning: no recommendation; pinning per CPU and per NUMA node are not significantly different (%s: %s > alpha %.2g).",
			firstLine, first.cmp.String(), o.alpha())
	case first.ratio > 1:
		rec.Choice = "cpu"
		rec.Summary = fmt.Sprintf("Pinning: pin each iothread to one CPU; pinning it to a whole NUMA node is %s (%s, %s).",
			fmtRatio(first.ratio), firstLine, first.cmp.String())
	default:
		rec.Choice = "node"
		rec.Summary = fmt.Sprintf("Pinning: pinning each iothread to a whole NUMA node is %s than to one CPU (%s, %s).",
			fmtRatio(first.ratio), firstLine, first.cmp.String())
	}
	return rec, true
}
