package measure

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/matrix"
)

// Params say how hard to measure each pair.
type Params struct {
	Reps      int // repetitions per pair; the cell is their median
	Transfers int // one-way transfers per repetition
}

// Options say which pairs to measure and how.
type Options struct {
	Params
	// Sample measures a stratified sample of the pairs (SamplePairs)
	// rather than every pair.
	Sample bool
	// Parallel measures disjoint pairs at once (ParallelRounds), then
	// measures a few cells again alone and notes those that differ in
	// the matrix's ParallelNotes.
	Parallel bool
}

// ParallelAbove is the machine size, in allowed CPUs, above which every
// pair of the matrix is measured in parallel rounds unless the caller
// says otherwise (DefaultParallel). One at a time, a full matrix of n
// CPUs takes n(n-1)/2 pairs, at full mode's figures (11 repetitions of
// 50,000 transfers at 100 ns) about 60 ms each: 30 s for 32 CPUs, 2
// minutes for 64, 8 for 128, 33 for 256; in parallel rounds it takes
// about 2n rounds of one pair's time, however many CPUs. Up to 32 CPUs
// the matrix is a few percent of a full run's 20 minutes of benchmarks,
// too little to trade for what pairs running at once may do to each
// other (shared caches and memory, an all-core clock), which the alone
// re-checks only sample; above, the square takes over.
const ParallelAbove = 32

// DefaultParallel reports whether o's pairs of t are measured in parallel
// rounds by default: when o measures every pair (not the sample, at most
// a hundred pairs or so, many of them sharing CPU 0) of more than
// ParallelAbove allowed CPUs.
func (o Options) DefaultParallel(t *affinity.Topology) bool {
	return !o.Sample && t.Allowed.Count() > ParallelAbove
}

// Pairs returns the pairs of allowed CPUs that o measures on t: all of
// them, or the stratified sample.
func (o Options) Pairs(t *affinity.Topology) []affinity.Pair {
	if o.Sample {
		return SamplePairs(t)
	}
	return t.AllPairs()
}

// Matrix measures the pairs of t's allowed CPUs that o names with
// cache-line ping-pong, showing progress on stderr, and returns the matrix
// over the allowed CPUs in Order, each pair's class filled in. Cells not
// measured stay NaN (the heat map shows them as such). It stops between
// pairs when ctx is done, returning ctx's error.
func Matrix(ctx context.Context, t *affinity.Topology, o Options, stderr io.Writer) (*matrix.Matrix, error) {
	m := matrix.New(Order(t))
	m.Classify(t.Relation)
	pairs := o.Pairs(t)
	if len(pairs) == 0 {
		return nil, fmt.Errorf("the latency matrix needs at least two allowed CPUs (allowed: %s)", t.Allowed)
	}
	if err := measurePairs(ctx, m, t, pairs, o.Params, o.Parallel, stderr); err != nil {
		return nil, err
	}
	return m, nil
}

// Order returns the allowed CPUs ordered so that CPUs sharing more sit
// next to each other: by package, NUMA node, last-level cache, core, then
// id. Placement classes then form blocks in the heat map.
func Order(t *affinity.Topology) []int {
	type key struct{ pkg, node, llc, core, id int }
	var keys []key
	for _, c := range t.CPUs {
		if !t.Allowed.Has(c.ID) {
			continue
		}
		llc := -1
		for _, ci := range c.Caches {
			if t.Caches[ci].Level >= 3 {
				llc = ci
			}
		}
		keys = append(keys, key{c.Package, c.Node, llc, c.Core, c.ID})
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.pkg, b.pkg), cmp.Compare(a.node, b.node), cmp.Compare(a.llc, b.llc), cmp.Compare(a.core, b.core), cmp.Compare(a.id, b.id))
	})
	ids := make([]int, len(keys))
	for i, k := range keys {
		ids[i] = k.id
	}
	return ids
}
