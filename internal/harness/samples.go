package harness

import (
	"slices"

	"github.com/pinbench/pinbench/internal/quantile"
)

// MaxSamples bounds the per-operation latency samples one benchmark run
// keeps: enough for a stable p99 (100 samples beyond it) while the buffer
// (80 KB) stays out of the way of the measured cache lines.
const MaxSamples = 10000

// Sampler keeps every Stride-th latency of a run in a buffer allocated
// before the measured loop, so recording is a compare and a store: no
// allocation, no lock, no clock read on the operations it skips. One
// goroutine records at a time (the handoff's two sides take turns, ordered
// by the handoff itself); read the result after the recorders finished.
// Make one with NewSampler.
type Sampler struct {
	// Stride is a power of two: operation i is recorded when
	// i%Stride == 0. Want asks on every operation of the measured loop, so
	// it tests a mask rather than divide (an integer division costs
	// 20-40 cycles, a visible part of a fast handoff).
	Stride int
	mask   int
	buf    []int64
}

// NewSampler returns a sampler for a run of ops operations that keeps at
// most MaxSamples of them, evenly spread: at least half as many when ops
// exceeds MaxSamples (the stride is rounded up to a power of two).
func NewSampler(ops int) *Sampler {
	stride := 1
	for ops > stride*MaxSamples {
		stride *= 2
	}
	return &Sampler{Stride: stride, mask: stride - 1, buf: make([]int64, 0, MaxSamples)}
}

// Want reports whether operation i is to be sampled: the caller reads the
// clock around the operation only then.
func (s *Sampler) Want(i int) bool { return i&s.mask == 0 && len(s.buf) < cap(s.buf) }

// Record keeps one latency in nanoseconds.
func (s *Sampler) Record(ns int64) {
	if len(s.buf) < cap(s.buf) {
		s.buf = append(s.buf, ns)
	}
}

// Len is the number of samples kept.
func (s *Sampler) Len() int { return len(s.buf) }

// Percentiles returns the requested percentiles (0-100) of the samples in
// nanoseconds, or NaNs when there are none.
func (s *Sampler) Percentiles(ps ...float64) []float64 {
	sorted := make([]float64, len(s.buf))
	for i, v := range s.buf {
		sorted[i] = float64(v)
	}
	slices.Sort(sorted)
	out := make([]float64, len(ps))
	for i, p := range ps {
		out[i] = quantile.Percentile(sorted, p)
	}
	return out
}
