package bench

import (
	"testing"

	"github.com/pinbench/pinbench/affinity"
)

// BenchmarkFloor bounces one cache line between two pinned threads at each
// placement class. One op is one one-way transfer of the line. Nothing else
// happens in the loop: this is the physical floor every other handoff
// figure is read against. The thread start-up is excluded: ns/op is the
// measured loop only.
func BenchmarkFloor(b *testing.B) {
	forEachPlacement(b, true, func(b *testing.B, _ affinity.Class, a, c int) {
		ensureProcs(b, 3)
		elapsed, n, err := PingPong(a, c, b.N, DefaultStallTimeout)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(elapsed.Nanoseconds())/float64(n), "ns/op")
	})
}
