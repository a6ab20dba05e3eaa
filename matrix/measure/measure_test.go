package measure

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pinbench/pinbench/affinity"
)

// PingPong needs two different CPUs; the ping-pong's own checks come
// first, before any thread is started.
func TestPingPongRefuses(t *testing.T) {
	for _, c := range []struct {
		a, b int
		want string
	}{{1, 1, "CPU 1 twice"}, {-1, 0, "got -1 and 0"}, {0, -2, "got 0 and -2"}} {
		if _, _, err := PingPong(c.a, c.b, 100, time.Second); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("PingPong(%d, %d) error = %v, want one saying %q", c.a, c.b, err, c.want)
		}
	}
	if _, err := Pair(0, 1, 0, 100); err == nil {
		t.Error("Pair with no repetition: no error")
	}
}

// Measuring this machine's matrix (its first two allowed CPUs at least):
// every measured pair's cells filled both ways, with the repetitions'
// samples, one pair at a time and in parallel rounds; a cancelled
// context stops it before the first pair.
func TestMatrixLive(t *testing.T) {
	topo, err := affinity.Discover()
	if err != nil || topo.Allowed.Count() < 2 {
		t.Skip("needs two allowed CPUs:", err)
	}
	for _, parallel := range []bool{false, true} {
		var progress bytes.Buffer
		o := Options{Params: Params{Reps: 2, Transfers: 200}, Sample: true, Parallel: parallel}
		m, err := Matrix(context.Background(), topo, o, &progress)
		if err != nil {
			t.Fatalf("parallel %v: %v", parallel, err)
		}
		for _, p := range o.Pairs(topo) {
			for _, cell := range [][2]int{{p.A, p.B}, {p.B, p.A}} {
				s := m.Samples[m.Index(cell[0])][m.Index(cell[1])]
				if len(s) != 2 || math.IsNaN(s[0]) || s[0] <= 0 {
					t.Errorf("parallel %v: cell %v holds %v, want 2 samples", parallel, cell, s)
				}
			}
		}
		if m.Parallel != parallel || !strings.Contains(progress.String(), "matrix: ") {
			t.Errorf("parallel %v: matrix parallel %v, progress %q", parallel, m.Parallel, progress.String())
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Matrix(ctx, topo, Options{Params: Params{Reps: 1, Transfers: 200}}, &bytes.Buffer{}); err != context.Canceled {
		t.Errorf("cancelled: %v, want context.Canceled", err)
	}
}

// The estimate of the 256-CPU capture's quick-mode sample at the
// documented default costs: each pair's repetitions of transfers at 100
// ns and its fixed costs, summed; in parallel, the rounds and the
// re-checked cells at the slowest class.
func TestEstimate(t *testing.T) {
	topo := epyc256(t)
	c := Costs{TransferNs: 100, PingFixed: 400 * time.Microsecond}
	o := Options{Params: Params{Reps: 5, Transfers: 20000}, Sample: true}
	e := o.Estimate(topo, c)
	perPair := 5*2*time.Millisecond + 6*400*time.Microsecond
	if len(e.Pairs) != 32 || e.Rounds != 32 || e.Duration != 32*perPair {
		t.Errorf("one at a time: %d pairs, %d rounds, %v; want 32, 32, %v", len(e.Pairs), e.Rounds, e.Duration, 32*perPair)
	}
	o.Parallel = true
	c.ClassNs = map[affinity.Class]float64{affinity.SMT: 50, affinity.Remote: 300}
	e = o.Estimate(topo, c)
	slow := 5*6*time.Millisecond + 6*400*time.Microsecond
	if want := time.Duration(e.Rounds+ParallelCheckCells) * slow; e.Rounds != len(ParallelRounds(e.Pairs)) || e.Duration != want {
		t.Errorf("in parallel: %d rounds, %v; want %d, %v", e.Rounds, e.Duration, len(ParallelRounds(e.Pairs)), want)
	}
}
