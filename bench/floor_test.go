package bench

import "testing"

// BenchmarkFloor bounces one cache line between two pinned threads at each
// placement class. One op is one one-way transfer of the line. Nothing else
// happens in the loop: this is the physical floor every other handoff
// figure is read against. The thread start-up is excluded: ns/op is the
// measured loop only.
func BenchmarkFloor(b *testing.B) { runFamily(b) }
