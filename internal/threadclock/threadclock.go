// Package threadclock reads the CPU time of this process's OS threads,
// any thread's from any other, through the kernel's per-thread CPU clocks:
// how the benchmarks charge CPU time to their iothreads.
package threadclock

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// Clock returns the clock id of thread tid's CPU-time clock, for
// clock_gettime. The kernel encodes a thread CPU clock as
// (^tid << 3) | CPUCLOCK_PERTHREAD_MASK (4) | CPUCLOCK_SCHED (2)
// (include/linux/posix-timers.h, MAKE_THREAD_CPUCLOCK); glibc's
// pthread_getcpuclockid computes the same from the pthread's tid. Computing
// it from the tid lets any thread of the process read any other thread's
// CPU time without cgo or pthread handles, which Go threads do not expose.
// The sched clock (not CPUCLOCK_PROF or VIRT) counts user plus system time
// at scheduler precision.
func Clock(tid int) int32 {
	return ^int32(tid)<<3 | 4 | 2
}

// Of returns the CPU time used so far by thread tid of this
// process. It fails (EINVAL) once the thread has ended.
func Of(tid int) (time.Duration, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(Clock(tid), &ts); err != nil {
		return 0, fmt.Errorf("threadclock: CPU time of thread %d: %w", tid, err)
	}
	return time.Duration(ts.Nano()), nil
}

// Self reads the calling thread's CPU time.
func Self() (int64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, err
	}
	return ts.Nano(), nil
}
