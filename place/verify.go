package place

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/internal/harness"
)

// Verification defaults and limits.
const (
	// DefaultVerifyRounds is how many interleaved rounds Verify runs: each
	// round runs every placement once, so each placement gets one sample
	// per round. Six samples a side let the Mann-Whitney U test reach
	// p=0.002; three cannot go below p=0.1.
	DefaultVerifyRounds = 6
	// DefaultVerifyRunTime is how long each placement runs in each round,
	// after its warm-up.
	DefaultVerifyRunTime = 100 * time.Millisecond
	// MaxVerifyThreads bounds the threads Verify runs: one OS thread each,
	// and a random walk (pattern all) a coroutine per thread per token.
	MaxVerifyThreads = 64
)

// VerifyOptions tunes Verify. The zero value is usable.
type VerifyOptions struct {
	// Rounds is the number of interleaved rounds (default
	// DefaultVerifyRounds; at least 2).
	Rounds int
	// RunTime is how long each placement runs in each round (default
	// DefaultVerifyRunTime); a run lasts longer when a token has not
	// made a few handoffs by then.
	RunTime time.Duration
	// Alpha is the significance level of the comparisons (default 0.05,
	// benchstat's).
	Alpha float64
	// Progress, when set, gets a line per run.
	Progress io.Writer
}

// VerifiedPlacement is one placement as Verify measured it.
type VerifiedPlacement struct {
	// Name is "plan" or a baseline's name.
	Name string
	// CPUs[i] is thread i's CPU; nil for unpinned.
	CPUs []int
	// SameAs names the placement with the same CPUs that was run in its
	// stead (its figures are that one's); "" when it ran itself.
	SameAs string
	// PredictedNs is the model's cost of one round (NaN when none).
	PredictedNs float64
	// Samples are the measured ns per handoff, one per round, in the
	// order they ran.
	Samples []float64
	// MedianNs is the median of Samples; RoundNs is it times the
	// handoffs of one round, comparable with PredictedNs.
	MedianNs, RoundNs float64
}

// Verify runs p's workload on this machine at the plan and at each of its
// baselines, and compares what it measures with what the model predicted.
// It fills p.Measured and p.Verified.
//
// Each thread of the workload is an aio iothread in p's wait mode (with
// p's poll window for adaptive), pinned to its CPU (unpinned for the
// unpinned baseline), and the handoffs are coroutines scheduled from one
// iothread onto another with aio.CoSchedule: pairs ping-pong, a ring
// passes one token round, fanin's producers each hand to the consumer
// (and get the token back; a hop is the mean of both ways), all has a
// token per thread handing to a random other thread each hop. One sample
// is the cost of a handoff, weighted as a round weights them, over the
// measured window of a run. The runs are interleaved: every round runs
// each placement once, starting one further along each round, so that a
// drift of the machine spreads over all of them. A baseline with the
// plan's CPUs (or another baseline's) is not run again: it takes that
// one's figures, and says so.
//
// Every CPU must be one this process may run on; more than
// MaxVerifyThreads threads is an error. Each run joins its iothreads
// before the next starts, and a run in which a token stops moving for
// harness.StallTimeout fails, naming it. Busy-polling iothreads (wait=poll)
// need GOMAXPROCS above their count: Verify raises it for its duration.
func Verify(p *Plan, o VerifyOptions) (*Verification, error) {
	o, err := o.check()
	if err != nil {
		return nil, err
	}
	if n := len(p.Workload.Threads); n > MaxVerifyThreads {
		return nil, fmt.Errorf("place: verify: %d threads; it runs at most %d", n, MaxVerifyThreads)
	}
	rc, err := newRunConfig(p, o)
	if err != nil {
		return nil, err
	}
	v := &Verification{Workload: p.Workload, Wait: p.Wait, Rounds: o.Rounds, RunTime: o.RunTime, Alpha: o.Alpha, Placements: verifyPlacements(p)}
	if err := checkRunnable(v.Placements); err != nil {
		return nil, err
	}
	if procs := runtime.GOMAXPROCS(0); rc.wait == aio.WaitPoll && procs < len(p.CPUs)+2 {
		runtime.GOMAXPROCS(len(p.CPUs) + 2) // each busy poller holds a P; the rest of the program needs one
		defer runtime.GOMAXPROCS(procs)
	}
	if err := v.runRounds(rc, o.Progress); err != nil {
		return nil, err
	}
	if err := v.summarise(); err != nil {
		return nil, err
	}
	p.Measured = v.measured()
	p.Verified = v.verified()
	return v, nil
}

// check fills o's defaults and refuses what cannot work.
func (o VerifyOptions) check() (VerifyOptions, error) {
	if o.Rounds == 0 {
		o.Rounds = DefaultVerifyRounds
	}
	if o.RunTime == 0 {
		o.RunTime = DefaultVerifyRunTime
	}
	if o.Alpha == 0 {
		o.Alpha = 0.05
	}
	switch {
	case o.Rounds < 2:
		return o, fmt.Errorf("place: verify: %d rounds; a comparison needs 2 at least (%d to show a difference at p<0.05 reliably)", o.Rounds, DefaultVerifyRounds)
	case o.RunTime < time.Millisecond || o.RunTime > time.Minute:
		return o, fmt.Errorf("place: verify: a run time of %v; want 1ms to 1m", o.RunTime)
	case !(o.Alpha > 0 && o.Alpha < 1):
		return o, fmt.Errorf("place: verify: alpha %v; want a number between 0 and 1", o.Alpha)
	}
	return o, nil
}

// newRunConfig is the runs' shared configuration for p.
func newRunConfig(p *Plan, o VerifyOptions) (runConfig, error) {
	wait, err := aio.ParseWaitMode(string(p.Wait))
	if err != nil {
		return runConfig{}, fmt.Errorf("place: verify: %w", err)
	}
	timeout, err := harness.StallTimeout()
	if err != nil {
		return runConfig{}, fmt.Errorf("place: verify: %w", err)
	}
	return runConfig{wait: wait, pollMaxNs: p.PollMaxNs, runTime: o.RunTime, timeout: timeout, minHops: 8}, nil
}

// verifyPlacements lists the plan and its baselines, marking those with
// the CPUs of one listed before them.
func verifyPlacements(p *Plan) []VerifiedPlacement {
	out := []VerifiedPlacement{{Name: "plan", CPUs: p.CPUs, PredictedNs: p.TotalNs}}
	for _, b := range p.Baselines {
		vp := VerifiedPlacement{Name: b.Name, CPUs: b.CPUs, PredictedNs: b.TotalNs}
		for _, prev := range out {
			if prev.SameAs == "" && slices.Equal(prev.CPUs, b.CPUs) {
				vp.SameAs = prev.Name
				break
			}
		}
		out = append(out, vp)
	}
	return out
}

// checkRunnable refuses placements naming CPUs this process may not run
// on.
func checkRunnable(pls []VerifiedPlacement) error {
	allowed, err := affinity.Allowed()
	if err != nil {
		return fmt.Errorf("place: verify: %w", err)
	}
	for _, pl := range pls {
		if extra := affinity.NewCPUSet(pl.CPUs...).Difference(allowed); !extra.IsEmpty() {
			return fmt.Errorf("place: verify: the %s placement uses CPUs %s, outside the CPUs this process may run on (%s)", pl.Name, extra, allowed)
		}
	}
	return nil
}

// runRounds runs every placement that runs itself once per round,
// starting one further along each round, and records the samples.
func (v *Verification) runRounds(rc runConfig, progress io.Writer) error {
	var run []int
	for i, pl := range v.Placements {
		if pl.SameAs == "" {
			run = append(run, i)
		}
	}
	for r := range v.Rounds {
		for k := range run {
			pl := &v.Placements[run[(k+r)%len(run)]]
			ns, hops, err := runOnce(v.Workload, pins(pl.CPUs, len(v.Workload.Threads)), rc, uint64(r*len(run)+k+1))
			if err != nil {
				return fmt.Errorf("%w (round %d, the %s placement)", err, r+1, pl.Name)
			}
			pl.Samples = append(pl.Samples, ns)
			v.runs = append(v.runs, sampleRun{placement: pl.Name, ns: ns, hops: hops})
			if progress != nil {
				fmt.Fprintf(progress, "verify: round %d/%d: %-8s %s: %s ns per handoff (%d handoffs)\n",
					r+1, v.Rounds, pl.Name, cpuWords(pl.CPUs), fmtNs(ns), hops)
			}
		}
	}
	return nil
}

// pins returns each thread's CPU, -1 for all when cpus is nil (unpinned).
func pins(cpus []int, n int) []int {
	if cpus != nil {
		return cpus
	}
	out := make([]int, n)
	for i := range out {
		out[i] = -1
	}
	return out
}

// cpuWords formats a placement's CPUs: "CPUs 0 1", or "unpinned".
func cpuWords(cpus []int) string {
	if cpus == nil {
		return "unpinned"
	}
	parts := make([]string, len(cpus))
	for i, c := range cpus {
		parts[i] = fmt.Sprint(c)
	}
	return "CPUs " + strings.Join(parts, " ")
}
