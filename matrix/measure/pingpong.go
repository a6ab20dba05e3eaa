package measure

import (
	"errors"
	"fmt"
	"time"

	"github.com/pinbench/pinbench/internal/harness"
	"github.com/pinbench/pinbench/internal/pingpong"
	"github.com/pinbench/pinbench/internal/quantile"
)

// PingPong bounces one cache line between CPUs a and b for about
// transfers one-way transfers (rounded up to whole round trips) and
// returns the time its loop took and the number of transfers made. Each
// side runs on its own thread, locked and pinned to its CPU, under the
// benchmark harness's watchdog (a side that stops answering for timeout
// fails the game). Both sides spin, so a and b must be two different
// CPUs.
func PingPong(a, b int, transfers int, timeout time.Duration) (time.Duration, int, error) {
	switch {
	case a < 0 || b < 0:
		return 0, 0, fmt.Errorf("ping-pong needs two CPUs, got %d and %d", a, b)
	case a == b:
		return 0, 0, fmt.Errorf("ping-pong needs two CPUs, got CPU %d twice (two spinners on one CPU measure the scheduler's time slice)", a)
	}
	return pingpong.Play(a, b, transfers, timeout, nil)
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

// Pair runs reps ping-pong repetitions of transfers one-way transfers
// each between CPUs a and b and returns their median one-way latency. A
// short warm-up repetition is discarded. A side stalls after the harness's
// stall timeout (harness.StallTimeout, scaled by its environment variable).
func Pair(a, b, reps, transfers int) (PairLatency, error) {
	if reps < 1 {
		return PairLatency{}, errors.New("measure pair: need at least one repetition")
	}
	timeout, err := harness.StallTimeout()
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
