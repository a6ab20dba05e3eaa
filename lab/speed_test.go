package lab

import (
	"strings"
	"testing"

	"github.com/pinbench/pinbench/bench"
)

// The guest's init sets the variable the suite reads.
func TestStallScaleEnvIsBenchs(t *testing.T) {
	if StallScaleEnv != bench.StallScaleEnv {
		t.Fatalf("lab sets %s, the suite reads %s", StallScaleEnv, bench.StallScaleEnv)
	}
}

func TestStallScale(t *testing.T) {
	for _, c := range []struct {
		guest, host int64
		max, want   float64
	}{
		{10, 10, 100, 2},     // as fast as the host: the two sides still share a thread
		{5, 10, 100, 1},      // faster than the host: never below 1
		{1000, 100, 100, 20}, // ten times slower
		{1001, 100, 100, 21}, // rounded up
		{1e9, 1, 13, 13},     // bounded by the step limit
	} {
		got, err := StallScale(c.guest, c.host, c.max)
		if err != nil || got != c.want {
			t.Errorf("StallScale(%d, %d, %v) = %v, %v; want %v", c.guest, c.host, c.max, got, err, c.want)
		}
	}
	for _, c := range []struct {
		guest, host int64
		max         float64
		want        string
	}{{0, 10, 100, "positive"}, {10, -1, 100, "positive"}, {10, 10, 0.5, "below 1"}} {
		if _, err := StallScale(c.guest, c.host, c.max); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("StallScale(%d, %d, %v): error %v, want one saying %q", c.guest, c.host, c.max, err, c.want)
		}
	}
}

func TestSpeedProbeMeasures(t *testing.T) {
	if ns := SpeedProbe(); ns < 1000 {
		t.Fatalf("the probe took %d ns: it was optimised away", ns)
	}
}
