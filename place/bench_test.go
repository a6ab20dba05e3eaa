package place

import (
	"testing"
	"time"
)

// BenchmarkSolve64on256 plans 64 threads on the 256-CPU capture (2
// packages x 64 cores x 2 threads, 8 nodes) with a synthetic matrix
// measuring every pair: one op is one whole plan (model costs, local
// search from every start, baselines). Issue 22 asks for under 2 s.
func BenchmarkSolve64on256(b *testing.B) {
	topo := capture(b, "epyc256.tar.gz")
	res := synthResults(b, topo, synthMatrix(topo, 1, 1), WaitPoll)
	m, err := NewModel(res, WaitPoll)
	if err != nil {
		b.Fatal(err)
	}
	for _, pattern := range []string{PatternAll, PatternRing} {
		wl, err := Pattern(pattern, 64)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("pattern="+pattern, func(b *testing.B) {
			var plan *Plan
			start := time.Now()
			for b.Loop() {
				if plan, err = NewPlan(m, wl, Options{}); err != nil {
					b.Fatal(err)
				}
			}
			if per := time.Since(start) / time.Duration(b.N); per > 2*time.Second {
				b.Errorf("%s: %v per plan, over the 2 s budget", pattern, per)
			}
			compact, _ := plan.Baseline(BaselineCompact)
			b.ReportMetric(plan.TotalNs, "plan-ns/round")
			b.ReportMetric(compact.TotalNs/plan.TotalNs, "compact/plan")
		})
	}
}
