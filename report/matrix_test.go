package report

import (
	"strings"
	"testing"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/matrix"
)

// A matrix cell from 30 to 90 ns between repetitions is flagged unstable.
func TestMatrixWarningsUnstable(t *testing.T) {
	m := matrix.New([]int{0, 1})
	m.Classify(func(a, b int) affinity.Class { return affinity.LLC })
	m.Set(0, 1, 30, 31, 32, 33, 90)
	m.Set(1, 0, 30, 31, 32, 33, 90)
	if _, ok := kinds((Thresholds{}).MatrixWarnings(m, nil))[WarnUnstable]; !ok {
		t.Error("no unstable warning for a cell from 30 to 90 ns")
	}
}

// wideMatrix is a 384-CPU machine, two sockets of 96 SMT cores, where the
// declared llc pair 5,6 measures like SMT siblings.
func wideMatrix() *matrix.Matrix {
	const n, half = 384, 192
	cpus := make([]int, n)
	for i := range cpus {
		cpus[i] = i
	}
	m := matrix.New(cpus)
	rel := func(a, b int) affinity.Class {
		switch {
		case a == b:
			return affinity.SameCPU
		case a%half == b%half:
			return affinity.SMT
		case a/96%2 == b/96%2:
			return affinity.LLC
		}
		return affinity.Remote
	}
	ns := map[affinity.Class]float64{affinity.SMT: 20, affinity.LLC: 60, affinity.Remote: 140}
	for i := range n {
		for j := range n {
			if i != j {
				m.NS[i][j] = ns[rel(i, j)] + float64((i*7+j*13)%5)
			}
		}
	}
	m.NS[5][6], m.NS[6][5] = 21, 22
	m.Classify(rel)
	return m
}

// The topology check on a 384-CPU matrix looks at each of its 73,536
// pairs once, by index (it searched each CPU's index per pair before,
// some 28 million comparisons), and still finds the one contradicted
// pair.
func TestMatrixWarningsWide(t *testing.T) {
	ws := kinds(Thresholds{}.MatrixWarnings(wideMatrix(), nil))
	w, ok := ws[WarnTopology]
	if !ok || !strings.Contains(w.Message, "1 pair(s)") || !strings.Contains(w.Message, "CPUs 5 and 6 (declared llc) measure 21 ns") {
		t.Errorf("topology warning %+v, want the one pair 5,6 at 21 ns", w)
	}
}

func BenchmarkMatrixWarningsWide(b *testing.B) {
	m := wideMatrix()
	for b.Loop() {
		Thresholds{}.MatrixWarnings(m, nil)
	}
}
