package report

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Two-regime figures. Some benchmarks land in one of two regimes from
// run to run, or from round to round: five contexts contending for a
// lock on two CPUs hand it over in well under a microsecond while the
// holder keeps running, or in tens of microseconds when it is preempted
// or sleeps in the kernel. Their samples then fall into two clusters an
// order of magnitude apart, the median is one cluster's figure or a value
// between them, and the confidence interval spans both: "wide confidence
// intervals" says too little. The rule, in log space, where a factor is
// a distance:
//
//  1. Sort the samples; at least 2*regimeMin of them, all above zero.
//  2. Take the largest gap between neighbouring samples that leaves at
//     least regimeMin samples on each side: the low and the high cluster.
//  3. They are two regimes when the gap is a factor of regimeGap or more,
//     and at least regimeSpread times (in log space) the spread of the
//     wider cluster (its largest over its smallest sample): clusters of
//     2x spread need a gap of 4x, of 3x one of 9x.
//
// A single slow sample is an outlier, not a regime (the cluster needs
// regimeMin), and a noisy sample spread evenly over a range has no gap
// that stands out against the spread beside it.
const (
	regimeMin    = 2   // samples in each cluster, at least
	regimeGap    = 3.0 // the factor between the clusters' neighbouring samples, at least
	regimeSpread = 2.0 // the gap against the wider cluster's spread, in log space, at least
)

// regimes is a sample split into its two regimes, each sorted.
type regimes struct {
	low, high []float64
}

// twoRegimes splits vals by the rule above; ok is false when they are
// one regime.
func twoRegimes(vals []float64) (r regimes, ok bool) {
	s := slices.Sorted(slices.Values(vals))
	if len(s) < 2*regimeMin || s[0] <= 0 {
		return regimes{}, false
	}
	at := regimeMin // the high cluster starts at s[at]
	for i := regimeMin; i <= len(s)-regimeMin; i++ {
		if s[i]/s[i-1] > s[at]/s[at-1] {
			at = i
		}
	}
	gap := math.Log(s[at] / s[at-1])
	spread := max(math.Log(s[at-1]/s[0]), math.Log(s[len(s)-1]/s[at]))
	if gap < math.Log(regimeGap) || gap < regimeSpread*spread {
		return regimes{}, false
	}
	return regimes{low: s[:at], high: s[at:]}, true
}

// describe says where the regimes lie in unit: "6 samples from 420 ns
// to 700 ns, 4 from 10.5 µs to 15 µs (15x apart)"; apart is the gap
// between the clusters' neighbouring samples.
func (r regimes) describe(unit string) string {
	lo, hi := r.low, r.high
	return fmt.Sprintf("%d samples from %s to %s, %d from %s to %s (%.0fx apart)",
		len(lo), fmtVal(lo[0], unit), fmtVal(lo[len(lo)-1], unit),
		len(hi), fmtVal(hi[0], unit), fmtVal(hi[len(hi)-1], unit), hi[0]/lo[len(lo)-1])
}

// regimeMark is what a figure in two regimes has beside it: ", two
// regimes" (after its ratio or interval), "" for one regime.
func regimeMark(two bool) string {
	if two {
		return ", two regimes"
	}
	return ""
}

// regimeWarning names the benchmarks in two regimes (split, each with
// its regimes) of total.
func regimeWarning(split []string, total int) Warning {
	shown := split
	if len(split) > 3 {
		shown = append(slices.Clone(split[:3]), fmt.Sprintf("and %d more", len(split)-3))
	}
	return Warning{WarnRegimes, fmt.Sprintf("%d benchmark(s) in two regimes", len(split)), fmt.Sprintf("Two regimes: %d of %d benchmarks have samples in two clusters far apart (the largest gap between their sorted samples, leaving two or more on each side, is %.0fx or more, and at least %.0f times the wider cluster's spread on a log scale): %s. The machine ran each of them one of two ways from round to round (a lock handed over while its holder runs, or once it was preempted or slept in the kernel): its median is one regime's figure or falls between the two, and its confidence interval spans both. Read the regimes, not the median; recommendations resting on such a figure say so. More rounds show how often each regime comes, not a figure between them.",
		len(split), total, regimeGap, regimeSpread, strings.Join(shown, "; "))}
}

// noteRegimes says, in rec's Summary, that it rests on a two-regime
// figure when one of its figures is, and gives each such figure's
// regimes in its Evidence.
func noteRegimes(rec Recommendation) Recommendation {
	var names []string
	seen := map[*point]bool{}
	for _, p := range rec.figures {
		r, two := twoRegimes(p.vals)
		if !two || seen[p] {
			continue
		}
		seen[p] = true
		names = append(names, p.name)
		rec.Evidence = append(rec.Evidence, fmt.Sprintf("two regimes: %s, %s", p.name, r.describe(p.unit)))
	}
	switch len(names) {
	case 0:
	case 1:
		rec.Summary += fmt.Sprintf(" This rests on a two-regime figure (samples in two clusters far apart, given in the evidence): %s.", names[0])
	default:
		rec.Summary += fmt.Sprintf(" This rests on %d two-regime figures (samples in two clusters far apart, given in the evidence): %s.", len(names), strings.Join(names, ", "))
	}
	return rec
}
