package place

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/internal/cacheline"
	"github.com/pinbench/pinbench/internal/harness"
)

// vrun is one run of a workload at one placement: an iothread per thread,
// the tokens moving between them, and the controller's view of both.
type vrun struct {
	// stop is set by the controller to end the run; every hop reads it.
	stop atomic.Bool
	_    [cacheline.Pad]byte
	// left counts the tokens that have not finished; the last to finish
	// sets done.
	left atomic.Int32
	done aio.Event

	threads []*aio.IOThread
	pins    []int // the CPU of each thread, -1 when unpinned
	tokens  []*token
}

// runConfig is what every run of a verification shares.
type runConfig struct {
	wait      aio.WaitMode
	pollMaxNs int64
	runTime   time.Duration
	timeout   time.Duration // stall limit (harness.StallTimeout)
	minHops   int64         // every token makes at least this many hops in the window
}

// runOnce runs wl with thread i on pins[i] (-1: unpinned) and returns the
// measured cost of one handoff in ns: each token's hops in the measured
// window give its mean hop time, weighted by the handoffs of a round it
// stands for. Every iothread is joined before it returns.
func runOnce(wl *Workload, pins []int, rc runConfig, seed uint64) (ns float64, hops int64, err error) {
	r := &vrun{pins: pins}
	defer func() {
		if jerr := r.close(rc.timeout); jerr != nil && err == nil {
			err = jerr
		}
	}()
	opts := []aio.Option{aio.WithWaitMode(rc.wait)}
	if rc.wait == aio.WaitAdaptive && rc.pollMaxNs > 0 {
		opts = append(opts, aio.WithPollParams(rc.pollMaxNs, 0, 0))
	}
	for i, cpu := range pins {
		t, err := aio.NewIOThread(harness.OnCPU(cpu), opts...)
		if err != nil {
			return 0, 0, fmt.Errorf("place: verify: iothread for %s on %s: %w", wl.Threads[i], pinName(cpu), err)
		}
		r.threads = append(r.threads, t)
	}
	for k, rt := range routes(wl) {
		r.tokens = append(r.tokens, newToken(r, rt, seed+uint64(k)*0x9e3779b97f4a7c15))
	}
	r.left.Store(int32(len(r.tokens)))
	for _, t := range r.tokens {
		aio.CoScheduleAt(t.cos[t.start], verifySchedule+" start")
	}
	return r.measure(rc)
}

// measure waits for every token to warm up, counts the hops of a window
// of rc.runTime (longer when a token has not made rc.minHops), and
// returns the cost of one handoff and the hops counted.
func (r *vrun) measure(rc runConfig) (float64, int64, error) {
	if err := r.await(r.hops(), 2, rc.timeout); err != nil {
		return 0, 0, err
	}
	h0, t0 := r.hops(), time.Now()
	r.done.WaitTimeout(rc.runTime) // done is set only after stop: a sleep in the kernel
	if err := r.await(h0, rc.minHops, rc.timeout); err != nil {
		return 0, 0, err
	}
	h1, window := r.hops(), time.Since(t0)
	round, handoffs, total := 0.0, 0.0, int64(0)
	for i, t := range r.tokens {
		n := h1[i] - h0[i]
		round += t.perRound * float64(window.Nanoseconds()) / float64(n)
		handoffs += t.perRound
		total += n
	}
	return round / handoffs, total, nil
}

// hops returns each token's hop count.
func (r *vrun) hops() []int64 {
	out := make([]int64, len(r.tokens))
	for i, t := range r.tokens {
		out[i] = t.hops.Load()
	}
	return out
}

// await waits until every token has made at least least hops since from,
// looking every millisecond; a token that makes none for timeout is a
// stall, named in the error.
func (r *vrun) await(from []int64, least int64, timeout time.Duration) error {
	last, lastChange := r.hops(), time.Now()
	for {
		now := r.hops()
		behind := -1
		for i := range now {
			if now[i]-from[i] < least {
				behind = i
				break
			}
		}
		if behind < 0 {
			return nil
		}
		if now[behind] != last[behind] {
			last, lastChange = now, time.Now()
		} else if time.Since(lastChange) > timeout {
			t := r.tokens[behind]
			return fmt.Errorf("place: verify: stalled: token %s made no handoff for %v (after %d)", t.where(), timeout, now[behind]-from[behind])
		}
		r.done.WaitTimeout(time.Millisecond)
	}
}

// close stops the tokens, waits (at most timeout) until they have
// finished, and joins every iothread.
func (r *vrun) close(timeout time.Duration) error {
	var errs []error
	r.stop.Store(true)
	if len(r.tokens) > 0 && !r.done.WaitTimeout(timeout) {
		errs = append(errs, fmt.Errorf("place: verify: %d of %d tokens did not stop within %v", r.left.Load(), len(r.tokens), timeout))
	}
	for _, t := range r.threads {
		if err := t.Join(); err != nil {
			errs = append(errs, fmt.Errorf("place: verify: %w", err))
		}
	}
	return errors.Join(errs...)
}
