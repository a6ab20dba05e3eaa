// Package quantile holds the median and percentiles that pinbench's
// packages share: the report's tables and warnings, the latency matrix and
// the ping-pong harness all summarise plain float64 samples with them, so
// that there is one median in the module. Confidence intervals and
// comparisons come from golang.org/x/perf/benchmath; this package exists
// because benchmath does not export a bare median of a slice.
package quantile

import (
	"math"
	"slices"
)

// Median returns the middle value of vals, or the mean of the two middle
// values for an even count; NaN for none. vals is not modified.
func Median(vals []float64) float64 {
	if len(vals) == 0 {
		return math.NaN()
	}
	s := slices.Clone(vals)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Percentile interpolates linearly the p'th percentile (0 to 100) of
// sorted, which must be sorted in increasing order and not empty.
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	pos := p / 100 * float64(len(sorted)-1)
	lo := int(pos)
	if lo >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (pos-float64(lo))*(sorted[lo+1]-sorted[lo])
}
