package bench

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pinbench/pinbench/internal/quantile"
	"github.com/pinbench/pinbench/internal/spinwait"
)

// pingLine is the one cache line two threads bounce between them. It is
// padded on both sides so that nothing else shares its lines (or the
// adjacent-line prefetcher's pair of lines).
type pingLine struct {
	_ [CacheLine]byte
	// seq is written by each side in turn: the initiator stores odd
	// values, the responder even ones. Each store is one one-way transfer
	// of the line. The only ordering needed is that each side sees the
	// other's store: a store synchronizes before the load that reads it,
	// and nothing else is published through the line.
	seq atomic.Int64
	_   [CacheLine]byte
}

// PingPong bounces one cache line between CPUs a and b (either may be
// Unpinned) for about transfers one-way transfers (rounded up to whole round
// trips) and returns the elapsed time and the number of transfers made.
// It is the physical floor of every handoff: nothing but the line moves.
// Both sides spin, so a and b must be different CPUs. The spin loops pause
// (spinwait.Pause) as the aio busy-poll does: a bare load loop is slower,
// and swings with the code's alignment (see package spinwait).
func PingPong(a, b int, transfers int, timeout time.Duration) (time.Duration, int, error) {
	return pingPong(a, b, transfers, timeout, nil)
}

func pingPong(a, b int, transfers int, timeout time.Duration, onClock ClockStart) (time.Duration, int, error) {
	switch {
	case a == Unlocked && b == Unlocked:
		return 0, 0, fmt.Errorf("ping-pong needs at least one side locked to an OS thread, got two Unlocked goroutines (the Go scheduler may run both spinners on one thread, which measures its time slice)")
	case a == b && a != Unpinned:
		return 0, 0, fmt.Errorf("ping-pong needs two CPUs, got CPU %d twice (two spinners on one CPU measure the scheduler's time slice)", a)
	}
	transfers = max(2, transfers+transfers&1) // whole round trips
	line := new(pingLine)
	var ready atomic.Int32
	var elapsed time.Duration
	progress := new(Progress)
	err := RunSides(timeout,
		Side{Name: "ping-pong initiator", CPU: a, Progress: progress, Run: func(stop *StopFlag) error {
			// A start barrier: the responder's Add synchronizes before the
			// Load that sees 2, so the clock starts with both sides on
			// their threads. elapsed is read after RunSides joined us.
			// The loop pauses as the transfer loops do: without the
			// hint a spinner holds its CPU's whole share (an SMT
			// sibling's, or an emulator's time slice) from the partner
			// it waits for.
			ready.Add(1)
			for ready.Load() != 2 {
				if stop.Load() {
					return ErrAborted
				}
				spinwait.Pause()
			}
			onClock.call()
			start := time.Now()
			for i := int64(1); i < int64(transfers); i += 2 {
				if i&4095 == 1 {
					progress.Set(i) // once per 2048 round trips
				}
				line.seq.Store(i)
				for line.seq.Load() != i+1 {
					if stop.Load() {
						return ErrAborted
					}
					spinwait.Pause()
				}
			}
			elapsed = time.Since(start)
			return nil
		}},
		Side{Name: "ping-pong responder", CPU: b, Run: func(stop *StopFlag) error {
			ready.Add(1)
			for i := int64(1); i < int64(transfers); i += 2 {
				for line.seq.Load() != i {
					if stop.Load() {
						return ErrAborted
					}
					spinwait.Pause()
				}
				line.seq.Store(i + 1)
			}
			return nil
		}},
	)
	return elapsed, transfers, err
}

// PairLatency is the measured one-way latency between two CPUs.
type PairLatency struct {
	A, B int
	// Median is the median over Samples, in nanoseconds per one-way
	// transfer.
	Median float64
	// Samples are the per-repetition figures (ns per one-way transfer).
	Samples []float64
}

// MeasurePair runs reps ping-pong repetitions of transfers one-way
// transfers each between CPUs a and b and returns their median one-way
// latency. A short warm-up repetition is discarded.
func MeasurePair(a, b, reps, transfers int) (PairLatency, error) {
	if reps < 1 {
		return PairLatency{}, errors.New("measure pair: need at least one repetition")
	}
	timeout, err := StallTimeout()
	if err != nil {
		return PairLatency{}, err
	}
	if _, _, err := PingPong(a, b, transfers/4, timeout); err != nil {
		return PairLatency{}, err
	}
	res := PairLatency{A: a, B: b, Samples: make([]float64, 0, reps)}
	for range reps {
		d, n, err := PingPong(a, b, transfers, timeout)
		if err != nil {
			return PairLatency{}, err
		}
		res.Samples = append(res.Samples, float64(d.Nanoseconds())/float64(n))
	}
	res.Median = quantile.Median(res.Samples) // reps >= 1 samples
	return res, nil
}
