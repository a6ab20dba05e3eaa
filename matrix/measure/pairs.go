package measure

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/quantile"
	"github.com/pinbench/pinbench/matrix"
)

// Which pairs of the latency matrix a run measures, and how: all of them,
// or a stratified sample; one at a time, or disjoint pairs at once.
//
// A full matrix has n(n-1)/2 pairs: 32,640 on a 256-CPU machine, over an
// hour one pair at a time. The sample keeps what the report reads from the
// matrix (a median with a confidence interval per class, the declared
// topology checked against measured latency) at a bounded number of pairs.

// pairsPerClass is how many pairs of each placement class the sample takes:
// enough for benchmath's 95% confidence interval of a median (6 or more).
const pairsPerClass = 8

// allPairsBelow: machines with at most this many pairs are measured whole
// even in sample mode (a 12-CPU machine has 66).
const allPairsBelow = 96

// SamplePairs returns the pairs a stratified sample of the matrix measures:
// the representative pair of every class; CPU 0 (the first allowed CPU)
// against the first allowed CPU of every other package and node, so that
// each package and node is covered; and then, for each class, pairs spread
// evenly over that class's pairs (in AllPairs order) until it has
// pairsPerClass. Small machines get every pair.
func SamplePairs(t *affinity.Topology) []affinity.Pair {
	all := t.AllPairs()
	if len(all) <= allPairsBelow {
		return all
	}
	chosen := map[affinity.Pair]bool{}
	var out []affinity.Pair
	add := func(a, b int) {
		p := affinity.Pair{A: min(a, b), B: max(a, b)}
		if p.A == p.B || chosen[p] || !t.Allowed.Has(p.A) || !t.Allowed.Has(p.B) {
			return
		}
		chosen[p] = true
		out = append(out, p)
	}
	places := t.Placements()
	for _, c := range affinity.Classes() {
		if p, ok := places[c]; ok {
			add(p.A, p.B)
		}
	}
	first := t.Allowed.CPUs()[0]
	for _, pkg := range t.Packages {
		if cpus := pkg.CPUs.Intersect(t.Allowed).CPUs(); len(cpus) > 0 {
			add(first, cpus[0])
		}
	}
	for _, n := range t.Nodes {
		if cpus := t.NodeCPUs(n.ID).CPUs(); len(cpus) > 0 {
			add(first, cpus[0])
		}
	}
	byClass := map[affinity.Class][]affinity.Pair{}
	for _, p := range all {
		c := t.Relation(p.A, p.B)
		byClass[c] = append(byClass[c], p)
	}
	have := map[affinity.Class]int{}
	for _, p := range out {
		have[t.Relation(p.A, p.B)]++
	}
	for _, c := range affinity.Classes() {
		ps := byClass[c]
		want := min(pairsPerClass, len(ps))
		// Evenly spaced picks over the class's pairs, then, if some of
		// them were chosen already, the first ones not yet chosen.
		for i := 0; i < pairsPerClass && have[c] < want; i++ {
			if p := ps[i*len(ps)/pairsPerClass]; !chosen[p] {
				add(p.A, p.B)
				have[c]++
			}
		}
		for _, p := range ps {
			if have[c] >= want {
				break
			}
			if !chosen[p] {
				add(p.A, p.B)
				have[c]++
			}
		}
	}
	return out
}

// ParallelRounds groups pairs of t into rounds that are measured at
// once, a greedy edge colouring (first fit) that keeps the pairs' order
// within each round. Pairs of one round share no physical core (no CPU,
// and no SMT sibling either: a thread spinning beside a ping-pong on its
// core slows it), and a round keeps busy at most procs - 1 CPUs, procs
// being the measuring process's GOMAXPROCS (0 for t's allowed CPUs), and
// never more than its allowed CPUs - 1: the CPU left free runs the rest
// of the program (progress, watchdogs), which would otherwise take a P
// from a spinning side and stall its pair for the scheduler's 10 ms
// slice. A round holds one pair at the least.
func ParallelRounds(t *affinity.Topology, pairs []affinity.Pair, procs int) [][]affinity.Pair {
	cpus := t.Allowed.Count()
	if procs > 0 {
		cpus = min(cpus, procs)
	}
	limit := max(1, (cpus-1)/2)
	slot, cores := coreSlots(t, pairs)
	var rounds [][]affinity.Pair
	var busy [][]bool // busy[r][slot]: round r holds a pair on that core
	for _, p := range pairs {
		a, b := slot[p.A], slot[p.B]
		r := 0
		for ; r < len(rounds); r++ {
			if len(rounds[r]) < limit && !busy[r][a] && !busy[r][b] {
				break
			}
		}
		if r == len(rounds) {
			rounds = append(rounds, nil)
			busy = append(busy, make([]bool, cores))
		}
		rounds[r] = append(rounds[r], p)
		busy[r][a], busy[r][b] = true, true
	}
	return rounds
}

// coreSlots numbers the physical cores of the pairs' CPUs from 0, SMT
// siblings sharing a number; a CPU t does not know is a core of its own.
// It returns each CPU's number, and how many numbers it gave.
func coreSlots(t *affinity.Topology, pairs []affinity.Pair) (slot map[int]int, n int) {
	byCore := map[int]int{} // t's core index to its number
	slot = map[int]int{}
	for _, p := range pairs {
		for _, id := range []int{p.A, p.B} {
			if _, ok := slot[id]; ok {
				continue
			}
			c, known := t.CPU(id)
			s, seen := byCore[c.Core]
			if !known || !seen {
				s, n = n, n+1
				if known {
					byCore[c.Core] = s
				}
			}
			slot[id] = s
		}
	}
	return slot, n
}

// ParallelCheckCells is how many cells measured in parallel are measured
// again alone, to check that the pairs running at once did not disturb
// each other.
const ParallelCheckCells = 6

// measurePairs measures pairs of t into m: one at a time, or with
// parallel in rounds of disjoint pairs (then a sample is measured again
// alone and compared; cells that differ beyond their spread go into
// m.ParallelNotes). Progress (pairs done, time left) goes to stderr. It
// stops between pairs when ctx is done.
func measurePairs(ctx context.Context, m *matrix.Matrix, t *affinity.Topology, pairs []affinity.Pair, p Params, parallel bool, stderr io.Writer) error {
	f := &filling{m: m, total: len(pairs), start: time.Now(), stderr: stderr}
	if !parallel {
		for _, pair := range pairs {
			if err := ctx.Err(); err != nil {
				return err
			}
			lat, err := Pair(pair.A, pair.B, p.Reps, p.Transfers)
			if err != nil {
				return fmt.Errorf("measuring CPUs %d and %d: %w", pair.A, pair.B, err)
			}
			f.set(pair, lat)
		}
		fmt.Fprintln(stderr)
		return nil
	}
	rounds := ParallelRounds(t, pairs, runtime.GOMAXPROCS(0))
	m.Parallel = true
	for _, round := range rounds {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := f.measureRound(round, p); err != nil {
			return err
		}
	}
	fmt.Fprintln(stderr)
	return checkAlone(ctx, m, rounds, p, stderr)
}

// filling is a matrix being filled, pair by pair, with its progress line.
type filling struct {
	m      *matrix.Matrix
	done   int // pairs set so far
	total  int
	start  time.Time
	stderr io.Writer
}

// set fills the cells of pair (ping-pong is symmetric: one measurement
// fills both) and shows the progress: pairs done, the last one, time left.
func (f *filling) set(pair affinity.Pair, lat PairLatency) {
	f.m.Set(pair.A, pair.B, lat.Samples...)
	f.m.Set(pair.B, pair.A, lat.Samples...)
	f.done++
	left := time.Duration(float64(time.Since(f.start)) / float64(f.done) * float64(f.total-f.done))
	fmt.Fprintf(f.stderr, "\rmatrix: %d/%d pairs, CPU %d-%d %.0f ns, about %v left   ", f.done, f.total, pair.A, pair.B, lat.Median, left.Round(time.Second))
}

// measureRound measures the disjoint pairs of one round at once and sets
// them in order.
func (f *filling) measureRound(round []affinity.Pair, p Params) error {
	lats := make([]PairLatency, len(round))
	errs := make([]error, len(round))
	var wg sync.WaitGroup
	for i, pair := range round {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lats[i], errs[i] = Pair(pair.A, pair.B, p.Reps, p.Transfers)
		}()
	}
	wg.Wait()
	for i, pair := range round {
		if errs[i] != nil {
			return fmt.Errorf("measuring CPUs %d and %d (in parallel with %d other pairs): %w", pair.A, pair.B, len(round)-1, errs[i])
		}
		f.set(pair, lats[i])
	}
	return nil
}

// CheckPairs returns the cells of rounds (ParallelRounds) that a
// parallel measurement measures again alone: the first pair of each of
// the first rounds that ran more than one pair, ParallelCheckCells at
// most.
func CheckPairs(rounds [][]affinity.Pair) []affinity.Pair {
	var check []affinity.Pair
	for _, round := range rounds {
		if len(round) > 1 && len(check) < ParallelCheckCells {
			check = append(check, round[0])
		}
	}
	return check
}

// checkAlone measures the cells CheckPairs picks again alone and notes
// in m.ParallelNotes, with a warning on stderr, those that differ beyond
// their spread.
func checkAlone(ctx context.Context, m *matrix.Matrix, rounds [][]affinity.Pair, p Params, stderr io.Writer) error {
	check := CheckPairs(rounds)
	for k, pair := range check {
		if err := ctx.Err(); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "\rmatrix: checking %d/%d cells measured in parallel against a measurement alone   ", k+1, len(check))
		alone, err := Pair(pair.A, pair.B, p.Reps, p.Transfers)
		if err != nil {
			return fmt.Errorf("checking CPUs %d and %d alone: %w", pair.A, pair.B, err)
		}
		par := m.Samples[m.Index(pair.A)][m.Index(pair.B)]
		if differs(par, alone.Samples) {
			m.ParallelNotes = append(m.ParallelNotes, fmt.Sprintf("CPUs %d-%d %.0f ns in parallel, %.0f ns alone", pair.A, pair.B, quantile.Median(par), alone.Median))
		}
	}
	if len(check) > 0 {
		fmt.Fprintln(stderr)
	}
	if len(m.ParallelNotes) > 0 {
		fmt.Fprintf(stderr, "warning: %d of %d cells measured in parallel differ from a measurement alone beyond their spread: %v\n", len(m.ParallelNotes), len(check), m.ParallelNotes)
	}
	return nil
}

// differs reports whether two sets of samples of one cell disagree beyond
// their spread: their ranges do not overlap, and their medians are more
// than 10% apart (a tolerance for a range of very few samples).
func differs(a, b []float64) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	lo := func(s []float64) float64 { return slices.Min(s) }
	hi := func(s []float64) float64 { return slices.Max(s) }
	overlap := lo(a) <= hi(b) && lo(b) <= hi(a)
	ma, mb := quantile.Median(a), quantile.Median(b)
	return !overlap && math.Abs(ma-mb) > 0.1*math.Min(ma, mb)
}
