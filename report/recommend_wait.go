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
	rec.Evidence = append(rec.Evidence, fmt.Sprintf("wait=poll (reference): %s, %s", fmtVal(quantile.Median(poll.vals), unit), cpuText(cpu["poll"])))
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
		slices.SortStableFunc(fitting, func(a, b cand) int { return cmp.Compare(a.lat.other.Center, b.lat.other.Center) })
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
	return "cpu " + fmtVal(quantile.Median(p.vals), "cpu-sec/op")
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
				line := fmt.Sprintf("at rate=%s, pollmax=%s: %s, %s", r, w, fmtVal(quantile.Median(ol[w].vals), unit), cpuText(oc[w]))
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
