package bench

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ThreadCPUTime returns the CPU time the calling OS thread has used. The
// caller must be locked to its thread (or the figure belongs to whichever
// thread it happens to run on).
func ThreadCPUTime() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// ThreadCounters counts software events of one OS thread with
// perf_event_open: context switches and CPU migrations. Open it from any
// goroutine with the thread's id; read and close it from one goroutine.
type ThreadCounters struct {
	fds [2]int
}

var (
	perfOnce sync.Once
	perfErr  error
)

// PerfUnavailable reports why software counters cannot be opened on this
// machine (nil when they can). It probes once, on the calling thread.
func PerfUnavailable() error {
	perfOnce.Do(func() {
		c, err := OpenThreadCounters(unix.Gettid())
		if err != nil {
			perfErr = err
			return
		}
		c.Close()
	})
	return perfErr
}

// OpenThreadCounters starts counting context switches and migrations of the
// thread tid (of this process).
func OpenThreadCounters(tid int) (*ThreadCounters, error) {
	c := &ThreadCounters{fds: [2]int{-1, -1}}
	for i, config := range []uint64{unix.PERF_COUNT_SW_CONTEXT_SWITCHES, unix.PERF_COUNT_SW_CPU_MIGRATIONS} {
		attr := unix.PerfEventAttr{
			Type:   unix.PERF_TYPE_SOFTWARE,
			Config: config,
			Size:   uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
			// Context switches and migrations happen in the kernel:
			// with exclude_kernel they would always read 0. So this
			// needs perf_event_paranoid <= 1 or CAP_PERFMON; where the
			// kernel refuses, the counters are reported unavailable.
			Bits: unix.PerfBitExcludeHv,
		}
		fd, err := unix.PerfEventOpen(&attr, tid, -1, -1, unix.PERF_FLAG_FD_CLOEXEC)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("perf_event_open software counter for thread %d: %w", tid, err)
		}
		c.fds[i] = fd
	}
	return c, nil
}

// Read returns the context switches and migrations counted so far.
func (c *ThreadCounters) Read() (ctxsw, migrations uint64, err error) {
	var vals [2]uint64
	for i, fd := range c.fds {
		var buf [8]byte
		if _, err := unix.Read(fd, buf[:]); err != nil {
			return 0, 0, fmt.Errorf("reading perf counter: %w", err)
		}
		vals[i] = binary.NativeEndian.Uint64(buf[:])
	}
	return vals[0], vals[1], nil
}

// Close releases the counters.
func (c *ThreadCounters) Close() {
	for i, fd := range c.fds {
		if fd >= 0 {
			unix.Close(fd)
			c.fds[i] = -1
		}
	}
}
