package quantile

import (
	"math"
	"testing"
)

func TestMedian(t *testing.T) {
	in := []float64{3, 1, 2, 10}
	for _, tc := range []struct {
		vals []float64
		want float64
	}{{[]float64{3, 1, 2}, 2}, {in, 2.5}, {[]float64{7}, 7}} {
		if got := Median(tc.vals); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.vals, got, tc.want)
		}
	}
	if in[0] != 3 || in[3] != 10 {
		t.Errorf("Median sorted its argument: %v", in)
	}
	if got := Median(nil); !math.IsNaN(got) {
		t.Errorf("Median(nil) = %v, want NaN", got)
	}
}

func TestPercentile(t *testing.T) {
	s := []float64{30, 31, 32, 33, 90}
	for _, tc := range []struct{ p, want float64 }{{0, 30}, {10, 30.4}, {50, 32}, {90, 67.2}, {100, 90}} {
		if got := Percentile(s, tc.p); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("Percentile(%v, %v) = %v, want %v", s, tc.p, got, tc.want)
		}
	}
	if got := Percentile([]float64{4}, 90); got != 4 {
		t.Errorf("Percentile of one sample = %v, want 4", got)
	}
	ten := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct{ p, want float64 }{{0, 1}, {25, 3.25}, {50, 5.5}, {90, 9.1}, {99, 9.91}, {100, 10}, {-5, 1}, {150, 10}} {
		if got := Percentile(ten, tc.p); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("Percentile(1..10, %v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := Percentile(nil, 50); !math.IsNaN(got) {
		t.Errorf("Percentile of no samples = %v, want NaN", got)
	}
}
