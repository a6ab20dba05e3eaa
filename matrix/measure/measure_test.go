package measure

import (
	"bytes"
	"context"
	"math"
	"slices"
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
// documented default costs: each pair's warm-up, repetitions and fixed
// costs, summed; in parallel, each round at its slowest pair, then the
// re-checked cells alone at their own class's cost.
func TestEstimate(t *testing.T) {
	topo := epyc256(t)
	c := Costs{TransferNs: 100, PingFixed: 400 * time.Microsecond}
	o := Options{Params: Params{Reps: 5, Transfers: 20000}, Sample: true}
	e := o.Estimate(topo, c)
	perPair := 5250*time.Microsecond*2 + 6*400*time.Microsecond // 5.25 x 20000 transfers of 100 ns
	if len(e.Pairs) != 32 || e.Rounds != 32 || e.Checks != 0 || e.Duration != 32*perPair {
		t.Errorf("one at a time: %d pairs, %d rounds, %d checks, %v; want 32, 32, 0, %v", len(e.Pairs), e.Rounds, e.Checks, e.Duration, 32*perPair)
	}
	o.Parallel = true
	c.ClassNs = map[affinity.Class]float64{affinity.SMT: 50, affinity.Remote: 300}
	e = o.Estimate(topo, c)
	cost := func(p affinity.Pair) time.Duration {
		return time.Duration(5.25*20000*c.TransferAt(topo.Relation(p.A, p.B))) + 6*400*time.Microsecond
	}
	rounds := ParallelRounds(topo, e.Pairs, 0)
	var want time.Duration
	for _, r := range rounds {
		want += slices.Max(mapped(r, cost))
	}
	check := CheckPairs(rounds)
	want += sum(mapped(check, cost))
	if e.Rounds != len(rounds) || e.Checks != len(check) || e.Checks == 0 || e.Duration != want {
		t.Errorf("in parallel: %d rounds, %d checks, %v; want %d, %d, %v", e.Rounds, e.Checks, e.Duration, len(rounds), len(check), want)
	}
}

func mapped[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

func sum(ds []time.Duration) (s time.Duration) {
	for _, d := range ds {
		s += d
	}
	return s
}

// Parallel rounds are the default for every pair of more than
// ParallelAbove allowed CPUs; a sample, and smaller machines (a 2-CPU
// one among them), keep one pair at a time; and the 256-CPU capture's
// full matrix at full mode's figures and the documented default costs
// is estimated at 10 minutes at most in parallel (over 30 one at a
// time).
func TestDefaultParallel(t *testing.T) {
	topo := epyc256(t)
	full := Options{Params: Params{Reps: 11, Transfers: 50000}}
	if !full.DefaultParallel(topo) {
		t.Error("256 CPUs, every pair: not parallel by default")
	}
	if sample := (Options{Sample: true}); sample.DefaultParallel(topo) {
		t.Error("256 CPUs, the sample: parallel by default")
	}
	c := Costs{TransferNs: 100, PingFixed: 400 * time.Microsecond}
	if e := full.Estimate(topo, c); e.Duration < 30*time.Minute {
		t.Errorf("256 CPUs one pair at a time: %v, want the 30 minutes and more it takes", e.Duration)
	}
	full.Parallel = true
	if e := full.Estimate(topo, c); e.Duration > 10*time.Minute {
		t.Errorf("256 CPUs in parallel rounds: %v (%d rounds), want at most 10 minutes", e.Duration, e.Rounds)
	}
	all := topo.Allowed.CPUs()
	for n, want := range map[int]bool{2: false, ParallelAbove: false, ParallelAbove + 1: true} {
		topo.Allowed = affinity.NewCPUSet(all[:n]...) // a run restricted to n CPUs, or a machine of n
		if got := (Options{}).DefaultParallel(topo); got != want {
			t.Errorf("%d allowed CPUs, every pair: parallel by default %v, want %v", n, got, want)
		}
	}
}
