package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// plan is the shape of `pinbench tune --plan` output, cut down.
const plan = `pinbench tune --plan for this machine: x (2 CPUs)

Cost model (measured here): matrix transfer 90 ns.

quick mode: 6 interleaved rounds of the suite, -benchtime 100ms
  matrix: every pair, 1 of 1 pairs, 5 repetitions of 20000 transfers each: about 0.1s
  benchmarks: 2 run, 0 skipped; 6 samples of each, about 1.5s a round
    BenchmarkQueue/place=llc
  estimated duration: 2m30s (matrix 0.1s, dry run 0.5s, 6 rounds of 1.5s, report 1s)

full mode: 10 interleaved rounds of the suite, -benchtime 500ms, poll-window sweep
  estimated duration: 20m0s (matrix 1s, dry run 1s, 10 rounds of 2m, report 1s)
`

func TestPlanEstimate(t *testing.T) {
	for mode, want := range map[string]time.Duration{"quick": 150 * time.Second, "full": 20 * time.Minute} {
		got, err := PlanEstimate(plan, mode)
		if err != nil || got != want {
			t.Errorf("PlanEstimate(%s) = %v, %v; want %v", mode, got, err, want)
		}
	}
	if _, err := PlanEstimate(plan, "lab"); err == nil || !strings.Contains(err.Error(), "no estimated duration for lab mode") {
		t.Errorf("PlanEstimate(lab) error = %v, want one naming the missing mode", err)
	}
	// A section without an estimate does not borrow the next one's.
	cut := strings.Replace(plan, "  estimated duration: 2m30s", "", 1)
	if _, err := PlanEstimate(cut, "quick"); err == nil {
		t.Errorf("PlanEstimate took full mode's estimate for quick mode")
	}
	bad := strings.Replace(plan, "2m30s", "soon", 1)
	if _, err := PlanEstimate(bad, "quick"); err == nil || !strings.Contains(err.Error(), `"soon"`) {
		t.Errorf("PlanEstimate of a malformed duration: error %v, want one quoting it", err)
	}
}

func TestCheckPlan(t *testing.T) {
	for _, tc := range []struct {
		mode, secs string
		problem    bool
	}{
		{"quick", "150", false}, {"quick", "299", false}, {"quick", "76", false}, {"quick", "301", true}, {"quick", "74", true},
		{"full", "1200", false}, {"full", "2399", false}, {"full", "601", false}, {"full", "2401", true}, {"full", "599", true},
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "plan.txt"), []byte(plan), 0o644)
		os.WriteFile(filepath.Join(dir, "status"), []byte("plan 0 3\n"+tc.mode+" 0 "+tc.secs+"\ndone - 400\n"), 0o644)
		var r CheckResult
		checkPlan(&r, dir, tc.mode)
		if got := len(r.Problems) > 0; got != tc.problem {
			t.Errorf("%s tune of %ss: problems %q, notes %q; want a problem: %v", tc.mode, tc.secs, r.Problems, r.Notes, tc.problem)
		}
		est := map[string]string{"quick": "2m30s", "full": "20m0s"}[tc.mode]
		if len(r.Problems)+len(r.Notes) != 1 || !strings.Contains(strings.Join(append(r.Problems, r.Notes...), ""), "the "+tc.mode+" tune took "+took(tc.secs)) ||
			!strings.Contains(strings.Join(append(r.Problems, r.Notes...), ""), "its plan's estimate of "+est) {
			t.Errorf("%s tune of %ss: want one line naming the mode, its time and the estimate %s, got problems %q, notes %q", tc.mode, tc.secs, est, r.Problems, r.Notes)
		}
	}
	var r CheckResult
	checkPlan(&r, t.TempDir(), "quick")
	if len(r.Problems) != 1 || !strings.Contains(r.Problems[0], "plan.txt") {
		t.Errorf("a missing plan.txt: problems %q, want one naming it", r.Problems)
	}
}

// took is how checkPlan writes a step's seconds.
func took(secs string) string {
	d, _ := time.ParseDuration(secs + "s")
	return d.String()
}
