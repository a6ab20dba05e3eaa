package report

import (
	"slices"
	"strings"
	"testing"
)

// The rule: two clusters of two samples or more, the gap between them a
// factor of 3 or more and twice the wider cluster's spread (log scale).
func TestTwoRegimesRule(t *testing.T) {
	for _, c := range []struct {
		name     string
		vals     []float64
		low, all int // the low cluster's size and the sample's; low 0 for one regime
	}{
		{"contended lock", []float64{420, 10530, 553, 612, 12070, 701, 482, 14980}, 5, 8},
		{"two and two", []float64{1, 1.1, 10, 11}, 2, 4},
		{"noisy, evenly spread", []float64{1020, 1510, 2230, 3080, 4420, 6050}, 0, 6},
		{"one outlier", []float64{1012, 1105, 987, 1046, 40120, 1078}, 0, 6},
		{"gap under 3x", []float64{1, 1.05, 2.9, 3}, 0, 4},
		{"gap small against the spread", []float64{1, 2, 6.1, 12}, 0, 4}, // 3.05x apart, clusters 2x wide
		{"too few", []float64{1, 100, 101}, 0, 3},
		{"not above zero", []float64{0, 0, 10, 11}, 0, 4},
		{"all equal", []float64{5, 5, 5, 5, 5}, 0, 5},
	} {
		r, two := twoRegimes(c.vals)
		if two != (c.low > 0) || (two && (len(r.low) != c.low || len(r.low)+len(r.high) != c.all)) {
			t.Errorf("%s: two regimes %v, %d low of %d; want %v, %d low of %d", c.name, two, len(r.low), len(r.low)+len(r.high), c.low > 0, c.low, c.all)
		}
	}
	r, _ := twoRegimes([]float64{420e-9, 10530e-9, 553e-9, 612e-9, 12070e-9, 701e-9, 482e-9, 14980e-9})
	if got, want := r.describe("sec/op"), "5 samples from 420 ns to 701 ns, 3 from 10.53 µs to 14.98 µs (15x apart)"; got != want {
		t.Errorf("describe = %q, want %q", got, want)
	}
}

// testdata/regimes.txt holds a contended lock and the llc handoff in two
// regimes, a noisy one-regime lock and a lock with one outlier: the
// report names the two beside their figures (the warnings, the wide
// intervals, the cost table and sentence), not the others, and the
// placement advice, read from the llc handoff, says it rests on it.
func TestReportNamesTwoRegimes(t *testing.T) {
	r, md := markdownOf(t, mustRead(t, "regimes.txt"), Options{})
	i := slices.IndexFunc(r.Warnings, func(w Warning) bool { return w.Kind == WarnRegimes })
	if i < 0 {
		t.Fatalf("no two-regime warning in %v", r.Warnings)
	}
	w := r.Warnings[i].Message
	for _, want := range []string{"2 of 6 benchmarks", "Mutex/impl=mcs/contexts=5/place=llc-2: 5 samples from 420 ns to 701 ns, 3 from 10.53 µs to 14.98 µs", "Handoff/via=aio/wait=poll/place=llc-2: 4 samples"} {
		if !strings.Contains(w, want) {
			t.Errorf("two-regime warning lacks %q: %s", want, w)
		}
	}
	for _, not := range []string{"contexts=2", "impl=comutex"} {
		if strings.Contains(w, not) {
			t.Errorf("two-regime warning names the one-regime %s: %s", not, w)
		}
	}
	for _, want := range []string{
		"Mutex/impl=mcs/contexts=5/place=llc-2 (±1739%, two regimes)",
		"| llc | 111.5 ns | - | - | 230.4 ns (2.1x, two regimes) | - |",
		"- Cost at place=llc: floor 111.5 ns; via=aio 230.4 ns (2.1x, two regimes)\n",
		"- warning: 2 benchmark(s) in two regimes\n",
		"Mutex/impl=comutex/contexts=5/place=llc-2 (±3678%), ",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	place := r.Recommendations[0]
	if place.Choice != "llc" || !strings.HasSuffix(place.Summary, " This rests on a two-regime figure (samples in two clusters far apart, given in the evidence): Handoff/via=aio/wait=poll/place=llc-2.") ||
		!slices.Contains(place.Evidence, "two regimes: Handoff/via=aio/wait=poll/place=llc-2, 4 samples from 201.5 ns to 236.8 ns, 2 from 2650 ns to 2980 ns (11x apart)") {
		t.Errorf("placement advice does not say it rests on the two-regime llc handoff: %q\n%q", place.Summary, place.Evidence)
	}
}

// A run without two-regime figures (noisy ones included) has no
// two-regime warning, mark or note.
func TestOneRegimeRunsAreNotNamed(t *testing.T) {
	for _, f := range []string{"vm.txt", "bare.txt", "nosig.txt"} {
		_, md := markdownOf(t, mustRead(t, f), Options{})
		if strings.Contains(md, "two regime") || strings.Contains(md, "two-regime") {
			t.Errorf("%s: report.md names two regimes", f)
		}
	}
}
