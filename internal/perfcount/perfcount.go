// Package perfcount counts events of one OS thread with perf_event_open:
// context switches and CPU migrations (software events, which most
// machines allow), and cycles and instructions where the processor
// exposes its hardware counters to this machine (virtual machines often
// do not). Unavailable and HardwareUnavailable say, once probed, which
// work here; a probe's counters stay open for the life of the process
// (see perfKeep).
package perfcount

import (
	"encoding/binary"
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Counters count events of one OS thread: context switches and CPU
// migrations (software events, counted by the kernel), and, where the
// processor exposes them to this machine, cycles and instructions
// (hardware events). Open them from any goroutine with the thread's id;
// read and close them from one goroutine.
type Counters struct {
	sw    [2]int // context switches, migrations
	hw    [2]int // cycles, instructions; -1 when unsupported
	hwErr error  // why hw is unsupported
}

// Values are what Counters read.
type Values struct {
	CtxSwitches, Migrations uint64
	// Cycles and Instructions are valid only when HW is true.
	Cycles, Instructions uint64
	HW                   bool
}

var (
	perfOnce sync.Once
	perfErr  error
	hwErr    error
	// perfKeep holds the probe's counters open for the life of the
	// process, never closed. The kernel enables software and per-task
	// perf events with static keys: the first event of a kind patches
	// kernel text on every CPU (int3 breakpoints and a synchronizing IPI
	// to each CPU), and so does closing the last one. Without the keeper
	// every benchmark's counters did both, interrupting the pinned
	// spinning sides of the next benchmark on every CPU; in a QEMU guest
	// with multi-threaded TCG the patching (sw_perf_event_destroy ->
	// text_poke_bp_batch, waiting for a CPU that never took the IPI)
	// froze the whole guest. With the keeper the keys flip once, at the
	// first probe, which a benchmark program makes before it measures.
	perfKeep *Counters
)

// Unavailable reports why software counters cannot be opened on this
// machine (nil when they can). It probes once, on the calling thread.
func Unavailable() error {
	probePerf()
	return perfErr
}

// HardwareUnavailable reports why cycle and instruction counters
// cannot be opened here (nil when they can).
func HardwareUnavailable() error {
	probePerf()
	return hwErr
}

func probePerf() {
	perfOnce.Do(func() {
		c, err := Open(unix.Gettid())
		if err != nil {
			perfErr, hwErr = err, err
			return
		}
		if c.hw[0] < 0 {
			hwErr = c.hwErr
		}
		perfKeep = c // never closed: see perfKeep
	})
}

func perfOpen(typ uint32, config uint64, tid int) (int, error) {
	attr := unix.PerfEventAttr{
		Type:   typ,
		Config: config,
		Size:   uint32(unsafe.Sizeof(unix.PerfEventAttr{})),
		// Context switches and migrations happen in the kernel: with
		// exclude_kernel they would always read 0. So this needs
		// perf_event_paranoid <= 1 or CAP_PERFMON; where the kernel
		// refuses, the counters are reported unavailable.
		Bits: unix.PerfBitExcludeHv,
	}
	return unix.PerfEventOpen(&attr, tid, -1, -1, unix.PERF_FLAG_FD_CLOEXEC)
}

// Open starts counting on thread tid (of this process). It
// fails when the software counters cannot be opened; hardware counters
// that cannot be opened are left out (see HardwareUnavailable).
func Open(tid int) (*Counters, error) {
	c := &Counters{sw: [2]int{-1, -1}, hw: [2]int{-1, -1}}
	for i, config := range []uint64{unix.PERF_COUNT_SW_CONTEXT_SWITCHES, unix.PERF_COUNT_SW_CPU_MIGRATIONS} {
		fd, err := perfOpen(unix.PERF_TYPE_SOFTWARE, config, tid)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("perf_event_open software counter for thread %d: %w", tid, err)
		}
		c.sw[i] = fd
	}
	for i, config := range []uint64{unix.PERF_COUNT_HW_CPU_CYCLES, unix.PERF_COUNT_HW_INSTRUCTIONS} {
		fd, err := perfOpen(unix.PERF_TYPE_HARDWARE, config, tid)
		if err != nil {
			for j := range c.hw {
				if c.hw[j] >= 0 {
					unix.Close(c.hw[j])
					c.hw[j] = -1
				}
			}
			c.hwErr = fmt.Errorf("perf_event_open hardware counter: %w", err)
			break
		}
		c.hw[i] = fd
	}
	return c, nil
}

// Read returns the counts so far.
func (c *Counters) Read() (Values, error) {
	read := func(fd int) (uint64, error) {
		var buf [8]byte
		if _, err := unix.Read(fd, buf[:]); err != nil {
			return 0, fmt.Errorf("reading perf counter: %w", err)
		}
		return binary.NativeEndian.Uint64(buf[:]), nil
	}
	var v Values
	var err error
	if v.CtxSwitches, err = read(c.sw[0]); err != nil {
		return v, err
	}
	if v.Migrations, err = read(c.sw[1]); err != nil {
		return v, err
	}
	if c.hw[0] >= 0 {
		if v.Cycles, err = read(c.hw[0]); err != nil {
			return v, err
		}
		if v.Instructions, err = read(c.hw[1]); err != nil {
			return v, err
		}
		v.HW = true
	}
	return v, nil
}

// Close releases the counters.
func (c *Counters) Close() {
	for _, fds := range []*[2]int{&c.sw, &c.hw} {
		for i, fd := range fds {
			if fd >= 0 {
				unix.Close(fd)
				fds[i] = -1
			}
		}
	}
}
