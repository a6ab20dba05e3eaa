package place

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/leakcheck"
)

// tinyVerify are options for a verification in a test: two rounds of a
// few milliseconds each. The figures mean nothing; the structure does.
var tinyVerify = VerifyOptions{Rounds: 2, RunTime: 3 * time.Millisecond}

// needTwoCPUs skips a test that runs two pinned iothreads on CPUs 0 and
// 1 when this process may not use both.
func needTwoCPUs(t *testing.T) {
	t.Helper()
	allowed, err := affinity.Allowed()
	if err != nil || !allowed.Has(0) || !allowed.Has(1) {
		t.Skipf("needs CPUs 0 and 1 (allowed %v, %v)", allowed, err)
	}
}

// planOf plans pattern with n threads on the 2-core VM's results.
func planOf(t *testing.T, pattern string, n int, wait Wait, o Options) *Plan {
	t.Helper()
	wl, err := Pattern(pattern, n)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(modelOf(t, epycResults, wait), wl, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// verified verifies p with tinyVerify, failing the test on an error.
func verified(t *testing.T, p *Plan) *Verification {
	t.Helper()
	v, err := Verify(p, tinyVerify)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Every pattern at N=2 and every wait mode verifies: every placement has a
// sample per round, duplicates of the plan are marked and not run, the
// comparisons, orders and measured costs are filled, and nothing is left
// running.
func TestVerifyStructure(t *testing.T) {
	needTwoCPUs(t)
	leakcheck.Check(t)
	for _, wait := range []Wait{WaitPoll, WaitAdaptive, WaitBlock} {
		for _, pattern := range Patterns() {
			p := planOf(t, pattern, 2, wait, Options{})
			v, err := Verify(p, tinyVerify)
			if err != nil {
				t.Fatalf("%s %s: %v", wait, pattern, err)
			}
			checkVerification(t, p, v)
		}
	}
}

// checkVerification checks what every verification must hold.
func checkVerification(t *testing.T, p *Plan, v *Verification) {
	t.Helper()
	name := string(p.Wait) + " " + p.Workload.Pattern
	if len(v.Placements) != 1+len(p.Baselines) || v.Placements[0].Name != "plan" || len(v.Comparisons) != len(p.Baselines) {
		t.Fatalf("%s: placements %+v, comparisons %+v", name, v.Placements, v.Comparisons)
	}
	ran := 0
	for _, pl := range v.Placements {
		if len(pl.Samples) != tinyVerify.Rounds || !(pl.MedianNs > 0) || !(pl.RoundNs >= pl.MedianNs) {
			t.Errorf("%s: %s: samples %v, median %v, round %v", name, pl.Name, pl.Samples, pl.MedianNs, pl.RoundNs)
		}
		if pl.SameAs == "" {
			ran++
		}
	}
	if raw := v.Raw(); strings.Count(raw, "\n") != ran*tinyVerify.Rounds || !strings.Contains(raw, "/placement=plan ") {
		t.Errorf("%s: raw results:\n%s", name, raw)
	}
	if len(p.Measured) != len(v.Placements) || p.Measured[0].Placement != "plan" || math.IsNaN(p.Measured[0].NsPerRound) {
		t.Errorf("%s: measured %+v", name, p.Measured)
	}
	var b strings.Builder
	if err := v.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{fmt.Sprintf("verify: %d threads (", len(p.Workload.Threads)) + p.Workload.Pattern + "), wait=" + string(p.Wait), "placement", "plan vs compact", "plan vs unpinned", "predicted order: "} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("%s: the text lacks %q:\n%s", name, want, b.String())
		}
	}
}

// On two CPUs, compact and spread are the plan's CPUs (or its mirror):
// a baseline with the plan's CPUs is not run again and says so.
func TestVerifySameCPUs(t *testing.T) {
	needTwoCPUs(t)
	p := planOf(t, PatternPairs, 2, WaitAdaptive, Options{})
	v := verified(t, p)
	for i, pl := range v.Placements[1:] {
		c := v.Comparisons[i]
		same := pl.CPUs != nil && pl.CPUs[0] == p.CPUs[0] && pl.CPUs[1] == p.CPUs[1]
		if same != (pl.SameAs == "plan") || same != strings.Contains(c.Sentence(), "not run again") {
			t.Errorf("%s (CPUs %v, plan %v): same as %q, %q", pl.Name, pl.CPUs, p.CPUs, pl.SameAs, c.Sentence())
		}
	}
}

// With shared CPUs (wait=block), four threads run on two CPUs.
func TestVerifyShared(t *testing.T) {
	needTwoCPUs(t)
	leakcheck.Check(t)
	for _, pattern := range []string{PatternPairs, PatternRing, PatternFanIn, PatternAll} {
		p := planOf(t, pattern, 4, WaitBlock, Options{Constraints: Constraints{Share: true}})
		v, err := Verify(p, tinyVerify)
		if err != nil {
			t.Fatalf("%s: %v", pattern, err)
		}
		checkVerification(t, p, v)
	}
}

// Bad options, too many threads and CPUs this process may not use are
// errors naming them; GOMAXPROCS is left as it was.
func TestVerifyRefuses(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	p := planOf(t, PatternPairs, 2, WaitPoll, Options{})
	for _, c := range []struct {
		o    VerifyOptions
		want string
	}{
		{VerifyOptions{Rounds: 1}, "1 rounds; a comparison needs 2"},
		{VerifyOptions{RunTime: time.Hour}, "run time of 1h0m0s"},
		{VerifyOptions{Alpha: 2}, "alpha 2"},
	} {
		if _, err := Verify(p, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.o, err, c.want)
		}
	}
	foreign := *p
	foreign.CPUs = []int{0, affinity.MaxCPUs - 1}
	if _, err := Verify(&foreign, tinyVerify); err == nil || !strings.Contains(err.Error(), "outside the CPUs this process may run on") {
		t.Errorf("a CPU this process may not use: %v", err)
	}
	big := *p
	big.Workload, _ = Pattern(PatternRing, MaxVerifyThreads+1)
	if _, err := Verify(&big, tinyVerify); err == nil || !strings.Contains(err.Error(), "it runs at most 64") {
		t.Errorf("%d threads: %v", MaxVerifyThreads+1, err)
	}
	if runtime.GOMAXPROCS(0) != procs {
		t.Errorf("GOMAXPROCS %d after Verify, was %d", runtime.GOMAXPROCS(0), procs)
	}
}

// routes stand for a round's handoffs: their perRound sums to the
// workload's handoffs per round.
func TestRoutesCoverRound(t *testing.T) {
	for _, pattern := range Patterns() {
		for _, n := range []int{2, 4, 6} {
			wl, _ := Pattern(pattern, n)
			sum := 0.0
			for _, r := range routes(wl) {
				sum += r.perRound
				if len(r.stops) < 2 {
					t.Errorf("%s %d: route %+v", pattern, n, r)
				}
			}
			if sum != handoffsPerRound(wl) {
				t.Errorf("%s %d: routes stand for %v handoffs, a round makes %v", pattern, n, sum, handoffsPerRound(wl))
			}
		}
	}
}

// WriteMarkdown gives a report section: the threads, the placements with
// predicted and measured costs, and the verdicts.
func TestWriteMarkdown(t *testing.T) {
	needTwoCPUs(t)
	p := planOf(t, PatternRing, 2, WaitBlock, Options{})
	var before strings.Builder
	if err := WriteMarkdown(&before, p, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(before.String(), "## Placement: 2 threads (ring), wait=block") || !strings.Contains(before.String(), "| plan | 0 1 | ") ||
		!strings.Contains(before.String(), "| unpinned | unpinned | ") || strings.Contains(before.String(), "Verified") {
		t.Errorf("unverified section:\n%s", before.String())
	}
	v := verified(t, p)
	var after strings.Builder
	if err := WriteMarkdown(&after, p, v); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Verified on this machine, 2 interleaved rounds", "- plan vs unpinned: ", "- predicted order: "} {
		if !strings.Contains(after.String(), want) {
			t.Errorf("verified section lacks %q:\n%s", want, after.String())
		}
	}
	if row, _, _ := strings.Cut(after.String()[strings.Index(after.String(), "| plan |"):], "\n"); strings.HasSuffix(row, "| - |") {
		t.Errorf("no measured cost for the plan:\n%s", after.String())
	}
}
