package report

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/aclements/go-moremath/stats"
	"github.com/pinbench/pinbench/affinity"
	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
	"golang.org/x/perf/benchproc"
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

// fmtVal formats a value of unit: durations (any unit measured in "sec",
// like sec/op, p50-sec or cpu-sec/op) in ns, µs or ms; others as numbers
// with their unit.
func fmtVal(v float64, unit string) string {
	if !strings.Contains(unit, "sec") {
		return fmtCount(v, unit)
	}
	ns := v * 1e9
	switch {
	case math.Abs(ns) >= 1e6:
		return fmt.Sprintf("%.4g ms", ns/1e6)
	case math.Abs(ns) >= 1e4:
		return fmt.Sprintf("%.4g µs", ns/1e3)
	}
	return fmt.Sprintf("%.4g ns", ns)
}

// fmtCount formats a count per op or a rate as a person writes it: a
// plain decimal with up to four significant digits ("0.00066 ctxsw/op",
// "2.5 wakeups/op", "1.2e+07 items/s" only above a million), and, below
// 0.01 per op, also how rare it is ("1 per 1500 ops").
func fmtCount(v float64, unit string) string {
	num := strconv.FormatFloat(v, 'f', -1, 64)
	if a := math.Abs(v); a != 0 {
		digits := max(0, 3-int(math.Floor(math.Log10(a))))
		num = strconv.FormatFloat(v, 'f', digits, 64)
		if strings.Contains(num, ".") {
			num = strings.TrimRight(strings.TrimRight(num, "0"), ".")
		}
		if a >= 1e6 {
			num = strconv.FormatFloat(v, 'g', 4, 64)
		}
	}
	s := num + " " + unit
	if strings.HasSuffix(unit, "/op") && v > 0 && v < 0.01 {
		s += fmt.Sprintf(" (1 per %s ops)", strconv.FormatFloat(roundSig(1/v, 2), 'f', -1, 64))
	}
	return s
}

// roundSig rounds v to n significant digits.
func roundSig(v float64, n int) float64 {
	if v == 0 {
		return 0
	}
	p := math.Pow(10, float64(n)-math.Ceil(math.Log10(math.Abs(v))))
	return math.Round(v*p) / p
}

// unitName shows a tidied unit in the units the benchmarks print
// ("sec/op" -> "ns/op", "p50-sec" -> "p50-ns").
func unitName(u string) string { return strings.Replace(u, "sec", "ns", 1) }

func fmtRatio(r float64) string {
	switch {
	case r >= 1:
		return fmt.Sprintf("%.2fx slower", r)
	default:
		return fmt.Sprintf("%.2fx faster", 1/r)
	}
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
		ma, mb := median(pts[a].vals), median(pts[b].vals)
		switch {
		case ma < mb:
			return -1
		case ma > mb:
			return 1
		}
		return 0
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
	unit := "sec/op"
	for _, r := range ranks {
		best := r.order[0]
		rec.Evidence = append(rec.Evidence, fmt.Sprintf("wait=%s: BenchmarkHandoff/via=aio/wait=%s, %s (one one-way handoff), median of %d samples",
			r.wait, r.wait, unitName(unit), len(r.pts[best].vals)))
		rec.Evidence = append(rec.Evidence, fmt.Sprintf("wait=%s, place=%s: %s (fastest)", r.wait, best, fmtVal(median(r.pts[best].vals), unit)))
		for _, c := range r.order[1:] {
			s := o.compare(r.pts[best].vals, r.pts[c].vals)
			rec.Evidence = append(rec.Evidence, fmt.Sprintf("wait=%s, place=%s: %s, %s than %s (%s)",
				r.wait, c, fmtVal(s.other.Center, unit), fmtRatio(s.ratio), best, s.pn()))
		}
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

// joinClasses lists classes as "llc, node".
func joinClasses(classes []affinity.Class) string {
	s := make([]string, len(classes))
	for i, c := range classes {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

// latencyUnit prefers the per-op sample percentile (p50) when the results
// the filter expr keeps have it: with a sparse handoff rate, sec/op
// includes the idle gap between handoffs.
func latencyUnit(run *Run, expr string) string {
	if _, pts := groups[string](run, expr, ".name", "p50-sec"); len(pts) > 0 {
		return "p50-sec"
	}
	return "sec/op"
}

// recommendWait: the strategy within 1.5x of poll's latency at clearly
// lower CPU time per op, else poll. It is read at the first of places
// (fastest first) where busy-poll and another wait both ran: the fastest
// placement may be one that busy-waiting benchmarks skip (samecpu, where
// blocking waits can win; unpinned on small machines).
func (o Thresholds) recommendWait(run *Run, places []affinity.Class) Recommendation {
	rec := Recommendation{Topic: TopicWait}
	var (
		place  affinity.Class
		order  []string
		lat    map[string]*point
		at     string           // the filter of the chosen placement's waits
		passed []affinity.Class // faster placements without a poll run
	)
	for _, p := range places {
		at = filter(aioPinCPU, anyWait, backToBack, is("/place", p))
		if order, lat = groups[string](run, at, "/wait", "sec/op"); len(order) >= 2 && lat["poll"] != nil {
			place = p
			break
		}
		passed = append(passed, p)
	}
	if place == "" {
		rec.Withheld = true
		rec.Summary = fmt.Sprintf("Wait strategy: not enough data (BenchmarkHandoff/via=aio/wait=poll and another wait at one placement; compared %s).", joinClasses(places))
		return rec
	}
	_, cpu := groups[string](run, at, "/wait", "cpu-sec/op")
	context := "place=" + string(place) + ", back-to-back handoffs"
	if len(passed) > 0 {
		context = fmt.Sprintf("place=%s (the fastest placement with a wait=poll run; %s had none), back-to-back handoffs", place, joinClasses(passed))
	}
	// Latency matters when handoffs come back to back; CPU burned matters
	// when they are sparse, where a busy poller spins through the gaps.
	// When the sparse runs exist, judge CPU time there.
	sparseAt := filter(aioPinCPU, anyWait, is("/pollmax", ""), is("/rate", "sparse"), is("/place", place))
	if _, sparse := groups[string](run, sparseAt, "/wait", "cpu-sec/op"); sparse["poll"] != nil && len(sparse) >= 2 {
		cpu = sparse
		context += "; CPU time from rate=sparse"
	}
	return o.pickWait(rec, "wait", order, lat, cpu, "sec/op", context)
}

// pickWait applies the rule shared by the wait strategy and the poll
// window: among the alternatives to "poll" whose latency median is within
// LatencySlack of poll's and whose CPU time per op is clearly lower (at most
// CPUGain of poll's, p <= alpha), pick the lowest latency; otherwise poll,
// provided poll is significantly faster than the next best.
func (o Thresholds) pickWait(rec Recommendation, key string, order []string, lat, cpu map[string]*point, unit, context string) Recommendation {
	poll := lat["poll"]
	rec.Evidence = append(rec.Evidence, fmt.Sprintf("%s; latency metric %s; rule: within %.1fx of poll's latency at ≤ %.1fx its cpu-ns/op (p ≤ %.2g)",
		context, unitName(unit), o.latencySlack(), o.cpuGain(), o.alpha()))
	rec.Evidence = append(rec.Evidence, fmt.Sprintf("wait=poll (reference): %s, %s", fmtVal(median(poll.vals), unit), cpuText(cpu["poll"])))
	type cand struct {
		name     string
		lat, cpu stat
		hasCPU   bool
	}
	var cands, fitting []cand
	for _, w := range order {
		if w == "poll" {
			continue
		}
		c := cand{name: w, lat: o.compare(poll.vals, lat[w].vals)}
		if cpu["poll"] != nil && cpu[w] != nil {
			c.cpu, c.hasCPU = o.compare(cpu["poll"].vals, cpu[w].vals), true
		}
		line := fmt.Sprintf("%s=%s: %s, %.2fx poll (%s)", key, w, fmtVal(c.lat.other.Center, unit), c.lat.ratio, c.lat.pn())
		if c.hasCPU {
			line += fmt.Sprintf("; cpu %s, %.2fx poll (%s)", fmtVal(c.cpu.other.Center, "cpu-sec/op"), c.cpu.ratio, c.cpu.pn())
		}
		rec.Evidence = append(rec.Evidence, line)
		cands = append(cands, c)
		if c.lat.ratio <= o.latencySlack() && c.hasCPU && c.cpu.ratio <= o.cpuGain() && c.cpu.significant() {
			fitting = append(fitting, c)
		}
	}
	what := strings.ToUpper(string(rec.Topic[:1])) + string(rec.Topic[1:])
	pts := []*point{poll}
	for _, c := range cands {
		pts = append(pts, lat[c.name])
	}
	if why := o.tooFew(pts...); why != "" {
		rec.Withheld = true
		rec.Summary = fmt.Sprintf("%s: no recommendation, %s.", what, why)
		return rec
	}
	if len(fitting) > 0 {
		slices.SortStableFunc(fitting, func(a, b cand) int {
			if a.lat.other.Center < b.lat.other.Center {
				return -1
			}
			if a.lat.other.Center > b.lat.other.Center {
				return 1
			}
			return 0
		})
		c := fitting[0]
		rec.Choice = key + "=" + c.name
		if key == "wait" {
			rec.Choice = c.name
		}
		rec.Summary = fmt.Sprintf("%s: use %s=%s: latency %.2fx poll's, at %.2fx poll's CPU time per op (%s).",
			what, key, c.name, c.lat.ratio, c.cpu.ratio, c.cpu.cmp.String())
		return rec
	}
	// Poll stays: it must be significantly faster than the fastest other.
	if len(cands) == 0 {
		rec.Withheld = true
		rec.Summary = what + ": not enough data (only poll measured)."
		return rec
	}
	next := cands[0]
	for _, c := range cands[1:] {
		if c.lat.other.Center < next.lat.other.Center {
			next = c
		}
	}
	if !next.lat.significant() {
		rec.Withheld = true
		rec.Summary = fmt.Sprintf("%s: no recommendation; poll and %s=%s do not differ significantly in latency (%s) and no alternative saves CPU clearly.",
			what, key, next.name, next.lat.cmp.String())
		return rec
	}
	rec.Choice = "poll"
	rec.Summary = fmt.Sprintf("%s: busy-poll (wait=poll) where a core can be spared: no alternative is within %.1fx of its latency at clearly lower CPU time; the next fastest, %s=%s, is %s (%s).",
		what, o.latencySlack(), key, next.name, fmtRatio(next.lat.ratio), next.lat.cmp.String())
	return rec
}

func cpuText(p *point) string {
	if p == nil {
		return "cpu n/a"
	}
	return "cpu " + fmtVal(median(p.vals), "cpu-sec/op")
}

// recommendWindow reads the poll-window sweep
// (BenchmarkHandoff/via=aio/wait=adaptive/pollmax=W/rate=R/place=P).
func (o Thresholds) recommendWindow(run *Run) (Recommendation, bool) {
	rec := Recommendation{Topic: TopicWindow}
	adaptive := filter(aioPinCPU, is("/wait", "adaptive"), sweep)
	rates, _ := groups[string](run, adaptive, "/rate", "sec/op")
	if len(rates) == 0 {
		return rec, false
	}
	rate := rates[0]
	if slices.Contains(rates, "sparse") {
		rate = "sparse"
	}
	places, _ := groups[affinity.Class](run, filter(adaptive, is("/rate", rate)), "/place", "sec/op")
	// The sweep is read at the first placement that also has the poll
	// reference (busy-poll skips samecpu, and unpinned on small machines):
	// same rate when there is one, else the plain back-to-back run.
	var (
		place      affinity.Class
		unit       string
		at, pollAt string // the filters of the sweep and of its reference
		pl         map[string]*point
	)
	for _, p := range places {
		at = filter(adaptive, is("/rate", rate), is("/place", p))
		unit = latencyUnit(run, at)
		for _, r := range []string{rate, ""} {
			pollAt = filter(aioPinCPU, is("/wait", "poll"), is("/pollmax", ""), is("/rate", r), is("/place", p))
			if _, pl = groups[string](run, pollAt, "/wait", unit); len(pl) > 0 {
				break
			}
		}
		if len(pl) > 0 {
			place = p
			break
		}
	}
	if len(pl) == 0 {
		rec.Withheld = true
		rec.Summary = "Poll window: no recommendation; the sweep has no wait=poll reference at the same placement."
		return rec, true
	}
	order, lat := groups[string](run, at, "/pollmax", unit)
	_, cpu := groups[string](run, at, "/pollmax", "cpu-sec/op")
	_, pc := groups[string](run, pollAt, "/wait", "cpu-sec/op")
	lat["poll"], cpu["poll"] = pl["poll"], pc["poll"]
	ctx := fmt.Sprintf("sweep at rate=%s, place=%s", rate, place)
	rec = o.pickWait(rec, "pollmax", order, lat, cpu, unit, ctx)
	if rec.Choice == "poll" {
		rec.Summary = fmt.Sprintf("Poll window: no window of the sweep is within %.1fx of poll latency at clearly lower CPU time (rate=%s); poll where a core can be spared, otherwise wait=block.",
			o.latencySlack(), rate)
		rec.Choice = ""
	}
	// Show the chosen window at the other rates.
	if w, ok := strings.CutPrefix(rec.Choice, "pollmax="); ok {
		for _, r := range rates {
			if r == rate {
				continue
			}
			other := filter(aioPinCPU, is("/wait", "adaptive"), is("/pollmax", w), is("/rate", r), is("/place", place))
			_, ol := groups[string](run, other, "/pollmax", unit)
			_, oc := groups[string](run, other, "/pollmax", "cpu-sec/op")
			if ol[w] != nil {
				line := fmt.Sprintf("at rate=%s, pollmax=%s: %s, %s", r, w, fmtVal(median(ol[w].vals), unit), cpuText(oc[w]))
				otherPoll := filter(aioPinCPU, is("/wait", "poll"), is("/pollmax", ""), is("/rate", r), is("/place", place))
				if _, rp := groups[string](run, otherPoll, "/wait", unit); rp["poll"] != nil {
					s := o.compare(rp["poll"].vals, ol[w].vals)
					line += fmt.Sprintf(" (%.2fx poll latency, %s)", s.ratio, s.pn())
				}
				rec.Evidence = append(rec.Evidence, line)
			}
		}
	}
	return rec, true
}

// recommendPadding: does the 128-byte padded queue beat the 64-byte one?
func (o Thresholds) recommendPadding(run *Run) Recommendation {
	rec := Recommendation{Topic: TopicPadding}
	// Group mpsc queue results by everything but pad (and impl and
	// GOMAXPROCS, as benchstat's -ignore would), labelled by the other
	// name keys in alphabetical order ("place=llc/producers=1").
	type group struct {
		label    string
		p64, p28 *point
	}
	f, proj := selection(`.name:Queue /impl:mpsc /pad:(64 OR 128)`, "/pad", "/impl /gomaxprocs", ".fullname")
	padBy, restBy := proj[0], proj[2]
	var groups []*group
	idx := map[benchproc.Key]*group{}
	for _, r := range run.Results {
		v, ok := r.Value("sec/op")
		if m, _ := f.Match(r); !m.All() || !ok {
			continue
		}
		k := restBy.Project(r)
		g := idx[k]
		if g == nil {
			g = &group{label: keysLabel(k.StringValues())}
			idx[k] = g
			groups = append(groups, g)
		}
		pp := &g.p64
		if padBy.Project(r).StringValues() == "128" {
			pp = &g.p28
		}
		if *pp == nil {
			*pp = &point{name: r.Name.String()}
		}
		(*pp).vals = append((*pp).vals, v)
	}
	var win128, win64, nsig, total int
	var ratios []float64
	var few string
	rec.Evidence = append(rec.Evidence, "metric: BenchmarkQueue/impl=mpsc, ns/op (one item delivered), pad=128 against pad=64")
	for _, g := range groups {
		if g.p64 == nil || g.p28 == nil {
			continue
		}
		total++
		s := o.compare(g.p64.vals, g.p28.vals)
		ratios = append(ratios, s.ratio)
		verdict := "not significant"
		switch {
		case !s.significant():
			nsig++
		case s.ratio < 1:
			win128++
			verdict = "128 faster"
		default:
			win64++
			verdict = "64 faster"
		}
		if w := o.tooFew(g.p64, g.p28); w != "" && few == "" {
			few = w
		}
		rec.Evidence = append(rec.Evidence, fmt.Sprintf("%s: pad=64 %s, pad=128 %s, %.2fx (%s; %s)", g.label,
			fmtVal(s.base.Center, "sec/op"), fmtVal(s.other.Center, "sec/op"), s.ratio, s.cmp.String(), verdict))
	}
	if total == 0 {
		rec.Withheld = true
		rec.Summary = "Padding: not enough data (BenchmarkQueue/impl=mpsc with pad=64 and pad=128)."
		return rec
	}
	gm := stats.GeoMean(ratios)
	switch {
	case few != "":
		rec.Withheld = true
		rec.Summary = "Padding: no recommendation, " + few + "."
	case win128 > 0 && win64 == 0:
		rec.Choice = "pad=128"
		rec.Summary = fmt.Sprintf("Padding: 128-byte padding beats 64 (significant in %d of %d configurations, none the other way; geomean time ratio %.2fx).", win128, total, gm)
	case win64 > 0 && win128 == 0:
		rec.Choice = "pad=64"
		rec.Summary = fmt.Sprintf("Padding: 64-byte padding is enough here; 128 is slower in %d of %d configurations (geomean time ratio %.2fx).", win64, total, gm)
	case win64 > 0 && win128 > 0:
		rec.Withheld = true
		rec.Summary = fmt.Sprintf("Padding: no recommendation; 128 wins in %d and loses in %d of %d configurations.", win128, win64, total)
	default:
		rec.Withheld = true
		rec.Summary = fmt.Sprintf("Padding: no recommendation; pad=128 and pad=64 are not significantly different in any of %d configurations (alpha %.2g).", total, o.alpha())
	}
	return rec
}

// keysLabel returns the name keys of the benchmark name full (which
// benchfmt parses) as "k=v" parts in alphabetical order of k, joined by
// "/".
func keysLabel(full string) string {
	_, parts := benchfmt.Name(full).Parts()
	var kvs []string
	for _, p := range parts {
		if kv, ok := strings.CutPrefix(string(p), "/"); ok && strings.Contains(kv, "=") {
			kvs = append(kvs, kv)
		}
	}
	slices.SortStableFunc(kvs, func(a, b string) int {
		ka, _, _ := strings.Cut(a, "=")
		kb, _, _ := strings.Cut(b, "=")
		return strings.Compare(ka, kb)
	})
	return strings.Join(kvs, "/")
}

// Recommend derives every recommendation the run's results support:
// placement, wait strategy, poll window (when the sweep is present) and
// padding. Each comes with its evidence or says why it is withheld.
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
	return out
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
		for _, place := range order {
			against, at := cpuPts[place], place
			if against == nil {
				for _, p := range places {
					if cpuPts[p] != nil {
						against, at = cpuPts[p], p
						break
					}
				}
			}
			if against == nil {
				continue
			}
			s := o.compare(against.vals, nodePts[place].vals)
			line := fmt.Sprintf("wait=%s: pin=node/place=%s %s, %s than pin=cpu/place=%s %s (%s)",
				w, place, fmtVal(s.other.Center, "sec/op"), fmtRatio(s.ratio), at, fmtVal(s.base.Center, "sec/op"), s.pn())
			if f := seen[place]; f != nil {
				line += fmt.Sprintf("; both iothreads on one CPU in %.0f%% of getcpu samples", 100*median(f.vals))
			}
			rec.Evidence = append(rec.Evidence, line)
			if first == nil {
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
