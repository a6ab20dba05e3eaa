package bench

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/cacheline"
	"github.com/pinbench/pinbench/internal/osthread"
)

// DefaultStallTimeout is how long a benchmark waits for its sides before it
// declares one of them stalled. Long enough that a noisy VM's scheduler hiccup
// (tens of milliseconds) never trips it, short enough that a lost wake-up
// fails the run within seconds instead of hanging CI.
const DefaultStallTimeout = 10 * time.Second

// StallScaleEnv names the environment variable that multiplies every stall
// timeout of the suite (a number from 1 to 1000; 1 when unset). A machine
// that runs far slower than real hardware sets it: the topology lab's
// emulated guests set it from their measured speed, so that a live but
// emulated run is not called stalled.
const StallScaleEnv = "PINBENCH_STALL_SCALE"

// StallTimeout returns DefaultStallTimeout times $PINBENCH_STALL_SCALE, or
// an error naming the variable when its value is not a number from 1 to
// 1000.
func StallTimeout() (time.Duration, error) { return stallTimeout() }

var stallTimeout = sync.OnceValues(func() (time.Duration, error) {
	return scaledStallTimeout(os.Getenv(StallScaleEnv))
})

// scaledStallTimeout is DefaultStallTimeout scaled by v, a value of
// StallScaleEnv ("" for none).
func scaledStallTimeout(v string) (time.Duration, error) {
	if v == "" {
		return DefaultStallTimeout, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f >= 1 && f <= 1000) {
		return DefaultStallTimeout, fmt.Errorf("%s=%q: want a number from 1 to 1000, the factor by which stall timeouts grow", StallScaleEnv, v)
	}
	return time.Duration(f * float64(DefaultStallTimeout)), nil
}

// ErrAborted is returned by a side that gave up because the harness asked
// every side to stop (another side failed or the run stalled).
var ErrAborted = errors.New("aborted by the harness")

// Special values of a side's CPU.
const (
	// Unpinned means "lock the goroutine to an OS thread but leave its
	// affinity alone": the OS decides where it runs.
	Unpinned = -1
	// Unlocked leaves the goroutine free: the Go scheduler moves it
	// between threads as it likes (Go's default).
	Unlocked = -2
)

// Side is one participant of a benchmark: a function run on its own
// goroutine, locked to its OS thread and pinned to CPU (or only locked when
// CPU is Unpinned).
//
// Run must return when its work is done, or soon after Stop.Load() becomes
// true (returning ErrAborted). Spin loops check Stop on every iteration; it
// lives on its own cache line, so reading it costs an L1 hit.
type Side struct {
	Name string // what the side does, for messages ("consumer", "producer 2")
	CPU  int    // logical CPU to pin to, or Unpinned
	Run  func(stop *StopFlag) error
	// Progress, when set, is advanced by Run now and then (every few
	// thousand operations); the watchdog then fires only when no side's
	// progress moved for the timeout, so a slow but live run (two
	// unpinned spinners time-sharing one CPU) is not called stalled.
	Progress *Progress
}

// Progress is a counter one side advances and the watchdog reads, alone
// on its cache lines so that reading it does not disturb the side's
// neighbours.
type Progress struct {
	_ [CacheLine]byte
	n atomic.Int64 // single writer (its side); the watchdog only loads it, no ordering needed
	_ [CacheLine]byte
}

// Set records that the side has reached n.
func (p *Progress) Set(n int64) { p.n.Store(n) }

// Inc records one more step.
func (p *Progress) Inc() { p.n.Add(1) }

// Load returns the progress so far.
func (p *Progress) Load() int64 { return p.n.Load() }

// StopFlag tells the sides of one benchmark to give up. The harness sets it;
// sides only read it.
type StopFlag struct {
	_    [CacheLine]byte
	flag atomic.Bool // set once by the harness; read by spinning sides, which need only see true eventually: nothing else is published through it
	_    [CacheLine]byte
}

// Load reports whether the sides were asked to stop.
func (s *StopFlag) Load() bool { return s.flag.Load() }

// Set asks every side to stop.
func (s *StopFlag) Set() { s.flag.Store(true) }

// CacheLine is the padding used between hot fields of the harness: 128 bytes
// on x86-64, where the adjacent-line prefetcher pulls cache lines in pairs, so
// two fields 64 bytes apart still interfere. It is the constant aio pads its
// queues with (aio.CacheLinePad); both come from internal/cacheline.
const CacheLine = cacheline.Pad

// RunSides runs every side on its own pinned thread and waits for all of
// them. When a side fails, the others are stopped and its error returned.
// When some side has not finished after timeout (counted from the last
// change of any side's Progress, when sides report it), the harness stops
// them all and returns an error naming the sides (and their CPUs) that did
// not answer.
// Each side's goroutine exits while still locked, so its OS thread, and the
// affinity set on it, is discarded by the runtime rather than reused.
func RunSides(timeout time.Duration, sides ...Side) error {
	stop := new(StopFlag)
	type result struct {
		index int
		err   error
	}
	results := make(chan result, len(sides))
	tids := make([]int, len(sides)) // each written by its side before it sends its result
	for i, s := range sides {
		go func() {
			results <- result{i, runSide(s, stop, &tids[i])}
		}()
	}
	done := make([]bool, len(sides))
	var first error
	progress := func() (sum int64) {
		for _, s := range sides {
			if s.Progress != nil {
				sum += s.Progress.Load()
			}
		}
		return sum
	}
	lastProgress := progress()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	tick := time.NewTicker(min(timeout/4, time.Second))
	defer tick.Stop()
	for remaining := len(sides); remaining > 0; {
		select {
		case <-tick.C:
			if p := progress(); p != lastProgress {
				lastProgress = p
				timer.Reset(timeout)
			}
		case r := <-results:
			remaining--
			done[r.index] = true
			if r.err != nil && first == nil && !errors.Is(r.err, ErrAborted) {
				first = fmt.Errorf("%s on %s: %w", sides[r.index].Name, cpuName(sides[r.index].CPU), r.err)
				stop.Set()
			}
		case <-timer.C:
			var stuck []string
			for i, s := range sides {
				if !done[i] {
					stuck = append(stuck, fmt.Sprintf("%s on %s", s.Name, cpuName(s.CPU)))
				}
			}
			stop.Set()
			// Give the sides a moment to notice; a side blocked forever in
			// the kernel is reported, not waited for.
			grace := time.NewTimer(2 * time.Second)
			for remaining > 0 {
				select {
				case <-results:
					remaining--
				case <-grace.C:
					return fmt.Errorf("stalled: %s did not answer within %v and did not stop when asked", strings.Join(stuck, ", "), timeout)
				}
			}
			grace.Stop()
			return fmt.Errorf("stalled: %s did not finish within %v (partner stopped answering?)", strings.Join(stuck, ", "), timeout)
		}
	}
	if first == nil && stop.Load() {
		first = ErrAborted
	}
	// Join the sides' threads: each side's goroutine exited locked, so
	// the runtime ends its thread; wait for that, so that no pinned thread
	// outlives the run.
	for i, tid := range tids {
		if tid == 0 {
			continue
		}
		if err := osthread.Gone(tid, 5*time.Second); err != nil && first == nil {
			first = fmt.Errorf("%s on %s: %w", sides[i].Name, cpuName(sides[i].CPU), err)
		}
	}
	return first
}

func runSide(s Side, stop *StopFlag, tid *int) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
			stop.Set()
		}
	}()
	if err := Pin(s.CPU); err != nil {
		return err
	}
	if s.CPU != Unlocked {
		*tid = unix.Gettid()
	}
	// No UnlockOSThread: the goroutine exits locked, so the runtime ends
	// the thread and its affinity never leaks into other goroutines.
	return s.Run(stop)
}

// Pin locks the calling goroutine to its OS thread and, unless cpu is
// Unpinned, pins the thread to that CPU; for Unlocked it does nothing. The
// caller must not unlock the thread afterwards; let the goroutine exit
// instead.
func Pin(cpu int) error {
	switch cpu {
	case Unlocked:
		return nil
	case Unpinned:
		runtime.LockOSThread()
		return nil
	}
	return affinity.PinThread(affinity.NewCPUSet(cpu))
}

func cpuName(cpu int) string {
	switch cpu {
	case Unpinned:
		return "an unpinned thread"
	case Unlocked:
		return "an unlocked goroutine"
	}
	return fmt.Sprintf("CPU %d", cpu)
}
