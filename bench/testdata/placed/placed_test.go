// Package placed is a module of its own that benchmarks its own code
// across placement classes through bench.Placements, as a user's module
// would (bench's TestPlacementsFromAnotherModule runs it).
package placed

import (
	"sync/atomic"
	"testing"

	"github.com/pinbench/pinbench/bench"
)

// BenchmarkAtomicHandoff passes a turn between two pinned threads that
// spin on one atomic word: one op is one round trip.
func BenchmarkAtomicHandoff(b *testing.B) {
	bench.Placements(b, func(b *testing.B) bench.Sides {
		var turn atomic.Int64
		// await spins until the turn is want; false when stopped.
		await := func(stop bench.Stop, want int64) bool {
			for turn.Load() != want {
				if stop.Stopped() {
					return false
				}
			}
			return true
		}
		return bench.Sides{
			Spin: true,
			A: func(stop bench.Stop) error {
				for i := range int64(b.N) {
					turn.Store(2*i + 1)
					if !await(stop, 2*i+2) {
						return nil
					}
				}
				return nil
			},
			B: func(stop bench.Stop) error {
				for i := range int64(b.N) {
					if !await(stop, 2*i+1) {
						return nil
					}
					turn.Store(2*i + 2)
				}
				return nil
			},
		}
	})
}
