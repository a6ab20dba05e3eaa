package harness

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/cacheline"
	"github.com/pinbench/pinbench/internal/osthread"
)

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

// Side is one participant of a run: a function run on its own goroutine,
// locked to its OS thread and pinned to CPU (or only locked when CPU is
// Unpinned, or left free when it is Unlocked).
//
// Run must return when its work is done, or soon after its Stop says so
// (returning ErrAborted). Spin loops check Stop.Load on every iteration;
// the flag lives on its own cache line, so reading it costs an L1 hit.
type Side struct {
	Name string // what the side does, for messages ("consumer", "producer 2")
	CPU  int    // logical CPU to pin to, Unpinned or Unlocked
	Run  func(stop *Stop) error
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
	_ [cacheline.Pad]byte
	n atomic.Int64 // single writer (its side); the watchdog only loads it, no ordering needed
	_ [cacheline.Pad]byte
}

// Set records that the side has reached n.
func (p *Progress) Set(n int64) { p.n.Store(n) }

// Inc records one more step.
func (p *Progress) Inc() { p.n.Add(1) }

// Load returns the progress so far.
func (p *Progress) Load() int64 { return p.n.Load() }

// Stop tells the sides of one run to give up. RunSides makes one per run
// and alone sets it; the sides only read it, polling Load in spin loops
// or waiting on Done where they block.
type Stop struct {
	_    [cacheline.Pad]byte
	flag atomic.Bool // set once by the harness; read by spinning sides, which need only see true eventually: nothing else is published through it
	_    [cacheline.Pad]byte
	once sync.Once
	done chan struct{} // closed by set, after flag is stored
}

func newStop() *Stop { return &Stop{done: make(chan struct{})} }

// Load reports whether the sides were asked to stop.
func (s *Stop) Load() bool { return s.flag.Load() }

// Done is closed when the sides are asked to stop, for a side that blocks
// (in a select beside its channel operation) rather than spins.
func (s *Stop) Done() <-chan struct{} { return s.done }

// set asks every side to stop; any goroutine may call it, more than once.
func (s *Stop) set() {
	s.flag.Store(true)
	s.once.Do(func() { close(s.done) })
}

// RunSides runs every side on its own pinned thread and waits for all of
// them. When a side fails, the others are stopped and its error returned.
// When some side has not finished after timeout (counted from the last
// change of any side's Progress, when sides report it), the harness stops
// them all and returns an error naming the sides (and their CPUs) that did
// not answer.
// Each side's goroutine exits while still locked, so its OS thread, and the
// affinity set on it, is discarded by the runtime rather than reused; the
// threads have ended when RunSides returns.
func RunSides(timeout time.Duration, sides ...Side) error {
	r := &run{sides: sides, stop: newStop(), results: make(chan result, len(sides)), done: make([]bool, len(sides)), tids: make([]int, len(sides))}
	for i, s := range sides {
		go func() {
			r.results <- result{i, runSide(s, r.stop, &r.tids[i])}
		}()
	}
	if err := r.watch(timeout); err != nil {
		return err
	}
	return r.join()
}

// run is one RunSides: its sides, their results and the watchdog's view.
// The fields other than stop and results belong to RunSides's goroutine,
// except tids[i], which side i writes before it sends its result.
type run struct {
	sides   []Side
	stop    *Stop
	results chan result
	done    []bool // done[i]: side i's result has come
	tids    []int  // each side's thread id, 0 for an Unlocked side
	first   error  // the first failure, named by its side
}

type result struct {
	index int
	err   error
}

// progress sums the sides' progress counters.
func (r *run) progress() (sum int64) {
	for _, s := range r.sides {
		if s.Progress != nil {
			sum += s.Progress.Load()
		}
	}
	return sum
}

// watch waits for every side's result, stopping the others at the first
// failure, and returns the stall error when the sides stop moving for
// timeout.
func (r *run) watch(timeout time.Duration) error {
	lastProgress := r.progress()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	tick := time.NewTicker(min(timeout/4, time.Second))
	defer tick.Stop()
	for remaining := len(r.sides); remaining > 0; {
		select {
		case <-tick.C:
			if p := r.progress(); p != lastProgress {
				lastProgress = p
				timer.Reset(timeout)
			}
		case res := <-r.results:
			remaining--
			r.done[res.index] = true
			if res.err != nil && r.first == nil && !errors.Is(res.err, ErrAborted) {
				r.first = fmt.Errorf("%s on %s: %w", r.sides[res.index].Name, CPUName(r.sides[res.index].CPU), res.err)
				r.stop.set()
			}
		case <-timer.C:
			return r.stalled(timeout, remaining)
		}
	}
	return nil
}

// stalled stops the sides that have not finished and says which they
// are, giving them a moment to notice; a side blocked forever in the
// kernel is reported, not waited for.
func (r *run) stalled(timeout time.Duration, remaining int) error {
	var stuck []string
	for i, s := range r.sides {
		if !r.done[i] {
			stuck = append(stuck, fmt.Sprintf("%s on %s", s.Name, CPUName(s.CPU)))
		}
	}
	r.stop.set()
	grace := time.NewTimer(2 * time.Second)
	defer grace.Stop()
	for ; remaining > 0; remaining-- {
		select {
		case <-r.results:
		case <-grace.C:
			return fmt.Errorf("stalled: %s did not answer within %v and did not stop when asked", strings.Join(stuck, ", "), timeout)
		}
	}
	return fmt.Errorf("stalled: %s did not finish within %v (partner stopped answering?)", strings.Join(stuck, ", "), timeout)
}

// join waits for the sides' threads to end: each side's goroutine exited
// locked, so the runtime ends its thread; no pinned thread outlives the
// run. It returns the run's first failure, else ErrAborted when the sides
// were stopped, else a thread that did not end.
func (r *run) join() error {
	first := r.first
	if first == nil && r.stop.Load() {
		first = ErrAborted
	}
	for i, tid := range r.tids {
		if tid == 0 {
			continue
		}
		if err := osthread.Gone(tid, 5*time.Second); err != nil && first == nil {
			first = fmt.Errorf("%s on %s: %w", r.sides[i].Name, CPUName(r.sides[i].CPU), err)
		}
	}
	return first
}

func runSide(s Side, stop *Stop, tid *int) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
			stop.set()
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

// OnCPU is the pin set of one CPU, or the empty set (not pinned) for
// Unpinned.
func OnCPU(cpu int) affinity.CPUSet {
	if cpu < 0 {
		return affinity.CPUSet{}
	}
	return affinity.NewCPUSet(cpu)
}

// CPUName names where a side on cpu runs, for messages: "CPU 3", "an
// unpinned thread", "an unlocked goroutine".
func CPUName(cpu int) string {
	switch cpu {
	case Unpinned:
		return "an unpinned thread"
	case Unlocked:
		return "an unlocked goroutine"
	}
	return fmt.Sprintf("CPU %d", cpu)
}
