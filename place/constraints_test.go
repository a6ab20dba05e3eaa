package place

import (
	"maps"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/affinity"
)

// spaceFor resolves c for n threads on the two-socket fixture with the
// synthetic figures (smt figure as given) for wait, the run allowed
// CPUs 0-13.
func spaceFor(t *testing.T, wait Wait, smt float64, c Constraints, n int) (*space, error) {
	t.Helper()
	figs := maps.Clone(synthFigures)
	figs[affinity.SMT] = smt
	if wait == WaitPoll {
		delete(figs, affinity.SameCPU)
	}
	res := &Results{Dir: "x", Run: synthRun(t, figs, "0-13", wait), Topology: capture(t, "two-socket-smt")}
	m, err := NewModel(res, wait)
	if err != nil {
		t.Fatal(err)
	}
	return c.resolve(m, n)
}

func TestConstraintsErrors(t *testing.T) {
	for _, tc := range []struct {
		wait Wait
		c    Constraints
		n    int
		want string
	}{
		{WaitBlock, Constraints{}, 15, "15 threads, but only 14 usable CPUs (0-13)"},
		{WaitBlock, Constraints{CPUs: affinity.NewCPUSet(1, 2, 40)}, 2, "CPUs 40 are not in the topology of x (online: 0-14)"},
		{WaitBlock, Constraints{CPUs: affinity.NewCPUSet(13, 14)}, 2, "CPUs 14 are outside the run's allowed CPUs 0-13"},
		{WaitBlock, Constraints{Reserve: affinity.NewCPUSet(0, 99)}, 2, "reserved CPUs 99 are not in the topology"},
		{WaitBlock, Constraints{CPUs: affinity.NewCPUSet(1, 2), Reserve: affinity.NewCPUSet(1, 2)}, 2, "no usable CPU: the CPUs 1-2 less the reserved 1-2"},
		{WaitBlock, Constraints{Reserve: affinity.NewCPUSet(0, 1, 2, 3)}, 11, "11 threads, but only 10 usable CPUs (4-13)"},
		{WaitPoll, Constraints{Share: true}, 2, "sharing CPUs needs the run's samecpu figure for wait=poll"},
		{WaitPoll, Constraints{}, 9, "9 busy-polling threads (wait=poll) need a core each"},
		{WaitAdaptive, Constraints{CPUs: affinity.NewCPUSet(0, 8, 1)}, 3, "span 2 cores"},
	} {
		_, err := spaceFor(t, tc.wait, 250, tc.c, tc.n)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("wait=%s %+v n=%d: error %v, want %q", tc.wait, tc.c, tc.n, err, tc.want)
		}
	}
}

func TestConstraintsSMTRule(t *testing.T) {
	for _, tc := range []struct {
		wait   Wait
		smt    float64
		oneSMT bool
	}{
		{WaitPoll, 250, true},     // smt dearer than llc: one polling thread per core
		{WaitAdaptive, 250, true}, // adaptive polls too
		{WaitBlock, 250, false},   // sleeping threads may share a core
		{WaitPoll, 150, false},    // the run measured smt cheapest
		{WaitPoll, 200, true},     // as dear as llc: not cheaper
	} {
		s, err := spaceFor(t, tc.wait, tc.smt, Constraints{}, 8)
		if err != nil {
			t.Fatal(err)
		}
		if s.oneSMT != tc.oneSMT {
			t.Errorf("wait=%s smt=%v: oneSMT %v, want %v", tc.wait, tc.smt, s.oneSMT, tc.oneSMT)
		}
	}
}
