// Package quantile holds the module's one median and one percentile of
// plain float64 samples: the report's recommendations, costs and
// warnings, the latency matrix, the ping-pong harness and the sampler
// use them. The report's tables summarise with
// golang.org/x/perf/benchmath instead, whose median (the Center of
// AssumeNothing.Summary) comes only with a confidence interval, from a
// Sample; this package is for a bare median or percentile of a slice.
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

// Percentile returns the p'th percentile (0 to 100) of sorted, which
// must be sorted in increasing order, interpolating linearly between the
// closest ranks (the "R-7" definition that spreadsheets and NumPy use by
// default): the smallest value for p <= 0, the largest for p >= 100, NaN
// for no values.
func Percentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	switch {
	case n == 0:
		return math.NaN()
	case p <= 0:
		return sorted[0]
	case p >= 100:
		return sorted[n-1]
	}
	h := p / 100 * float64(n-1)
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= n {
		return sorted[n-1]
	}
	return sorted[i] + (h-lo)*(sorted[i+1]-sorted[i])
}
