package workload

import (
	"testing"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/harness"
	"github.com/pinbench/pinbench/internal/leakcheck"
)

// A time limit ends a schedule that would take hours, counting the takes
// made.
func TestScheduleTimeLimit(t *testing.T) {
	leakcheck.Goroutines(t)
	harness.EnsureProcs(t, 3)
	const limit = 50 * time.Millisecond
	const ops = 1 << 40
	var res ScheduleResult
	var err error
	within(t, 30*time.Second, "a schedule limited to "+limit.String(), func() {
		res, err = RunSchedule(make([]affinity.CPUSet, 2), ops, limit, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Counts.Total(); n <= 0 || n >= ops || res.Elapsed < limit {
		t.Fatalf("%d takes in %v: want some, fewer than %d, in at least %v", n, res.Elapsed, int64(ops), limit)
	}
}
