package workload

import (
	"fmt"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/internal/harness"
	"github.com/pinbench/pinbench/internal/randsched"
)

// ScheduleResult is what one RunSchedule measured.
type ScheduleResult struct {
	Counts  randsched.Counts
	Elapsed time.Duration
}

// RunSchedule starts one iothread per pin set (empty: not pinned), runs the
// circulating random schedule until at least ops takes were made, stops it,
// joins the iothreads and checks the slot invariants. onClock, when set,
// is called where the clock starts. A positive limit ends the run early
// once it has passed and a take was made: like RunMutex's loops (see
// mutexRun.startLine), a schedule among iothreads on shared CPUs is not
// linear in its takes, and testing's b.N ramp overshot -benchtime 100ms
// by 20x in an emulated 16-CPU guest. The result counts every take made
// either way.
func RunSchedule(sets []affinity.CPUSet, ops int, limit time.Duration, onClock harness.ClockStart) (res ScheduleResult, err error) {
	timeout, err := harness.StallTimeout()
	if err != nil {
		return res, err
	}
	threads, err := newIOThreads(sets, aio.WithWaitMode(aio.WaitAdaptive))
	if err != nil {
		return res, err
	}
	defer func() {
		if jerr := aio.JoinAll(threads...); jerr != nil && err == nil {
			err = jerr
		}
	}()
	rs := randsched.New(threads, randsched.Circulating, uint64(time.Now().UnixNano()))
	onClock.Call()
	start := time.Now()
	rs.Start()
	if err := waitTakes(rs, ops, limit, start, timeout); err != nil {
		rs.Stop()
		return res, err
	}
	res.Counts = rs.Stop()
	res.Elapsed = time.Since(start)
	return res, rs.Err()
}

// waitTakes polls the running schedule every millisecond until it made
// ops takes, or, with a positive limit, until limit has passed since
// start and it made one; it fails when no take came for timeout.
func waitTakes(rs *randsched.Schedule, ops int, limit time.Duration, start time.Time, timeout time.Duration) error {
	last, lastChange := int64(-1), time.Now()
	for {
		n := rs.Counts().Total()
		if n >= int64(ops) || limit > 0 && n > 0 && time.Since(start) >= limit {
			return nil
		}
		if n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) > timeout {
			return fmt.Errorf("stalled: the random schedule made no take for %v (after %d of %d)", timeout, n, ops)
		}
		time.Sleep(time.Millisecond)
	}
}
