package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/pinbench/pinbench/internal/harness"
)

// BenchmarkFloor bounces one cache line between two pinned threads at each
// placement class. One op is one one-way transfer of the line. Nothing else
// happens in the loop: this is the physical floor every other handoff
// figure is read against. The thread start-up is excluded: ns/op is the
// measured loop only.
func BenchmarkFloor(b *testing.B) { runFamily(b) }
func TestPingPongRefusesOneCPU(t *testing.T) {
	if _, _, err := pingPong(1, 1, 100, time.Second, nil); err == nil || !strings.Contains(err.Error(), "CPU 1 twice") {
		t.Fatalf("pingPong(1, 1) error = %v", err)
	}
	// Issue 11, item 12: two Unlocked sides are not "CPU -2 twice".
	if _, _, err := pingPong(harness.Unlocked, harness.Unlocked, 100, time.Second, nil); err == nil || !strings.Contains(err.Error(), "two Unlocked goroutines") || strings.Contains(err.Error(), "-2") {
		t.Fatalf("pingPong(Unlocked, Unlocked) error = %v; want one saying both sides are Unlocked", err)
	}
}
