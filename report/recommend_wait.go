package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/quantile"
)

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
		passed []affinity.Class // faster placements without a poll run
	)
	waits := filter(aioPinCPU, anyWait, backToBack)
	_, byPlace := groupsBy[affinity.Class, string](run, waits, "/place", "/wait", "sec/op")
	for _, p := range places {
		if g := byPlace[p]; g != nil && len(g.order) >= 2 && g.pts["poll"] != nil {
			place, order, lat = p, g.order, g.pts
			break
		}
		passed = append(passed, p)
	}
	if place == "" {
		rec.Withheld = true
		rec.Summary = fmt.Sprintf("Wait strategy: not enough data (BenchmarkHandoff/via=aio/wait=poll and another wait at one placement; compared %s).", joinClasses(places))
		return rec
	}
	_, cpu := groups[string](run, filter(waits, is("/place", place)), "/wait", "cpu-sec/op")
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
	rec.Evidence = append(rec.Evidence, fmt.Sprintf("wait=poll (reference): %s, %s", fmtVal(quantile.Median(poll.vals), unit), cpuText(cpu["poll"])))
	cands, lines := o.waitCandidates(key, order, lat, cpu, unit)
	rec.Evidence = append(rec.Evidence, lines...)
	var fitting []waitCand
	for _, c := range cands {
		if c.lat.ratio <= o.latencySlack() && c.hasCPU && c.cpu.ratio <= o.cpuGain() && c.cpu.significant() {
			fitting = append(fitting, c)
		}
	}
	what := strings.ToUpper(string(rec.Topic[:1])) + string(rec.Topic[1:])
	// Every figure the rule reads needs MinSamples: the latencies, and
	// the CPU times (at rate=sparse, perhaps fewer runs) it compares.
	pts := []*point{poll}
	for _, c := range cands {
		pts = append(pts, lat[c.name])
	}
	for _, c := range cands {
		if c.hasCPU {
			pts = append(pts, cpu["poll"], cpu[c.name])
		}
	}
	rec.figures = append(rec.figures, pts...)
	if why := o.tooFew(pts...); why != "" {
		rec.Withheld = true
		rec.Summary = fmt.Sprintf("%s: no recommendation, %s.", what, why)
		return rec
	}
	if len(fitting) > 0 {
		slices.SortStableFunc(fitting, func(a, b waitCand) int { return cmp.Compare(a.lat.other.Center, b.lat.other.Center) })
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

// waitCand is one alternative to poll: its latency and (where both have
// it) CPU time per op, compared with poll's.
type waitCand struct {
	name     string
	lat, cpu stat
	hasCPU   bool
}

// waitCandidates compares each alternative in order with poll, and
// returns them with an evidence line each.
func (o Thresholds) waitCandidates(key string, order []string, lat, cpu map[string]*point, unit string) (cands []waitCand, lines []string) {
	poll := lat["poll"]
	for _, w := range order {
		if w == "poll" {
			continue
		}
		c := waitCand{name: w, lat: o.compare(poll.vals, lat[w].vals)}
		if cpu["poll"] != nil && cpu[w] != nil {
			c.cpu, c.hasCPU = o.compare(cpu["poll"].vals, cpu[w].vals), true
		}
		line := fmt.Sprintf("%s=%s: %s, %.2fx poll (%s)", key, w, fmtVal(c.lat.other.Center, unit), c.lat.ratio, c.lat.pn())
		if c.hasCPU {
			line += fmt.Sprintf("; cpu %s, %.2fx poll (%s)", fmtVal(c.cpu.other.Center, "cpu-sec/op"), c.cpu.ratio, c.cpu.pn())
		}
		cands = append(cands, c)
		lines = append(lines, line)
	}
	return cands, lines
}

func cpuText(p *point) string {
	if p == nil {
		return "cpu n/a"
	}
	return "cpu " + fmtVal(quantile.Median(p.vals), "cpu-sec/op")
}

// pollRef is the wait=poll reference of the poll-window sweep at one
// placement: the latency unit the sweep has there, and the rate the
// reference ran at, the sweep's or back to back ("").
type pollRef struct {
	place affinity.Class
	unit  string
	rate  string
	lat   *point
}

// findPollRef returns the reference at the first of places (the
// sweep's, in the order first seen) with a wait=poll run: busy-poll skips
// samecpu, and unpinned on small machines. It prefers the per-op sample
// percentile (p50) as the latency where the sweep has it there: with a
// sparse handoff rate, sec/op includes the idle gap between handoffs.
// ok is false when no placement has one.
func findPollRef(run *Run, swept string, places []affinity.Class, rate string) (ref pollRef, ok bool) {
	_, p50 := groupsBy[affinity.Class, string](run, swept, "/place", ".name", "p50-sec")
	polls := filter(aioPinCPU, is("/wait", "poll"), is("/pollmax", ""))
	refs := map[string]map[affinity.Class]*grouping[string]{}
	for _, u := range []string{"p50-sec", "sec/op"} {
		_, refs[u] = groupsBy[affinity.Class, string](run, polls, "/place", "/rate", u)
	}
	for _, p := range places {
		unit := "sec/op"
		if p50[p] != nil {
			unit = "p50-sec"
		}
		for _, r := range []string{rate, ""} {
			if pt := refs[unit][p].at(r); pt != nil {
				return pollRef{p, unit, r, pt}, true
			}
		}
	}
	return pollRef{}, false
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
	swept := filter(adaptive, is("/rate", rate))
	places, _ := groups[affinity.Class](run, swept, "/place", "sec/op")
	ref, ok := findPollRef(run, swept, places, rate)
	if !ok {
		rec.Withheld = true
		rec.Summary = "Poll window: no recommendation; the sweep has no wait=poll reference at the same placement."
		return rec, true
	}
	at := filter(swept, is("/place", ref.place))
	order, lat := groups[string](run, at, "/pollmax", ref.unit)
	_, cpu := groups[string](run, at, "/pollmax", "cpu-sec/op")
	pollAt := filter(aioPinCPU, is("/wait", "poll"), is("/pollmax", ""), is("/rate", ref.rate), is("/place", ref.place))
	_, pc := groups[string](run, pollAt, "/wait", "cpu-sec/op")
	lat["poll"], cpu["poll"] = ref.lat, pc["poll"]
	ctx := fmt.Sprintf("sweep at rate=%s, place=%s", rate, ref.place)
	rec = o.pickWait(rec, "pollmax", order, lat, cpu, ref.unit, ctx)
	if rec.Choice == "poll" {
		rec.Summary = fmt.Sprintf("Poll window: no window of the sweep is within %.1fx of poll latency at clearly lower CPU time (rate=%s); poll where a core can be spared, otherwise wait=block.",
			o.latencySlack(), rate)
		rec.Choice = ""
	}
	if w, ok := strings.CutPrefix(rec.Choice, "pollmax="); ok {
		rec.Evidence = append(rec.Evidence, o.windowAtRates(run, w, ref, rates, rate)...)
	}
	return rec, true
}

// windowAtRates shows the chosen window w at the rates other than the
// sweep's, at the reference's placement, against poll at the same rate.
func (o Thresholds) windowAtRates(run *Run, w string, ref pollRef, rates []string, swept string) []string {
	chosen := filter(aioPinCPU, is("/wait", "adaptive"), is("/pollmax", w), is("/place", ref.place))
	_, ol := groupsBy[string, string](run, chosen, "/rate", "/pollmax", ref.unit)
	_, oc := groupsBy[string, string](run, chosen, "/rate", "/pollmax", "cpu-sec/op")
	polls := filter(aioPinCPU, is("/wait", "poll"), is("/pollmax", ""), is("/place", ref.place))
	_, rp := groupsBy[string, string](run, polls, "/rate", "/wait", ref.unit)
	var out []string
	for _, r := range rates {
		win := ol[r].at(w)
		if r == swept || win == nil {
			continue
		}
		line := fmt.Sprintf("at rate=%s, pollmax=%s: %s, %s", r, w, fmtVal(quantile.Median(win.vals), ref.unit), cpuText(oc[r].at(w)))
		if poll := rp[r].at("poll"); poll != nil {
			s := o.compare(poll.vals, win.vals)
			line += fmt.Sprintf(" (%.2fx poll latency, %s)", s.ratio, s.pn())
		}
		out = append(out, line)
	}
	return out
}
