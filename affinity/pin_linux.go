//go:build linux

package affinity

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// processMask is the affinity mask the process started with, read once
// during package initialization. Package initialization runs on the main
// goroutine locked to the main thread, before any code can call PinThread,
// so this is the mask that taskset, numactl or a container's cpuset gave the
// process, not the mask of some thread a goroutine has since pinned. (Asking
// sched_getaffinity for the calling thread later would report whatever
// PinThread set on it.) Read-only after init.
var processMask, processMaskErr = threadAffinity()

// onlinePath is where the live machine lists its online CPUs.
const onlinePath = "/sys/devices/system/cpu/online"

var (
	onlineOnce sync.Once
	onlineSet  CPUSet
	onlineErr  error
)

// liveOnline returns the online CPUs of the live machine, read once: CPU
// hotplug during a benchmark run is not supported.
func liveOnline() (CPUSet, error) {
	onlineOnce.Do(func() {
		b, err := os.ReadFile(onlinePath)
		if errors.Is(err, os.ErrNotExist) {
			// No sysfs (a minimal container): every CPU the process may
			// use is taken to be online.
			onlineSet = processMask
			return
		}
		if err != nil {
			onlineErr = fmt.Errorf("affinity: %v", err)
			return
		}
		if onlineSet, err = ParseList(string(b)); err != nil {
			onlineErr = fmt.Errorf("affinity: %s: %v", onlinePath, err)
		}
	})
	return onlineSet, onlineErr
}

// Allowed returns the CPUs this process may run on: the affinity mask it
// started with (so `taskset -c 0 ...` or a container cpuset shrinks it)
// intersected with the online CPUs. Pinning a thread with PinThread does not
// change it. Safe for concurrent use.
func Allowed() (CPUSet, error) {
	if processMaskErr != nil {
		return CPUSet{}, processMaskErr
	}
	online, err := liveOnline()
	if err != nil {
		return CPUSet{}, err
	}
	a := processMask.Intersect(online)
	if a.IsEmpty() {
		return CPUSet{}, fmt.Errorf("affinity: no allowed CPU: affinity mask %s, online %s", processMask, online)
	}
	return a, nil
}

// ThreadAffinity returns the affinity mask of the calling OS thread, as
// sched_getaffinity reports it. Unless the goroutine is locked to its thread
// (runtime.LockOSThread, PinThread), the answer may be about a thread the
// goroutine has already left.
func ThreadAffinity() (CPUSet, error) {
	return threadAffinity()
}

// threadAffinity reads the calling thread's mask. sched_getaffinity fails
// with EINVAL when the buffer holds fewer bits than the kernel's nr_cpu_ids,
// so the fixed 1024-bit unix.CPUSet is tried first and, on machines built
// for more CPUs, a dynamic mask twice as large each time.
func threadAffinity() (CPUSet, error) {
	var fixed unix.CPUSet
	err := unix.SchedGetaffinity(0, &fixed)
	if err == nil {
		var s CPUSet
		for c := 0; c < 1024; c++ {
			if fixed.IsSet(c) {
				s.Add(c)
			}
		}
		return s, nil
	}
	for n := 2048; errors.Is(err, unix.EINVAL) && n <= MaxCPUs; n *= 2 {
		dyn := unix.NewCPUSet(n)
		if err = unix.SchedGetaffinityDynamic(0, dyn); err == nil {
			var s CPUSet
			for c := 0; c < n; c++ {
				if dyn.IsSet(c) {
					s.Add(c)
				}
			}
			return s, nil
		}
	}
	return CPUSet{}, fmt.Errorf("affinity: sched_getaffinity: %v", err)
}

// setThreadAffinity sets the calling thread's mask to set. unix.CPUSet is a
// fixed 1024-bit array, so a set with a CPU at 1024 or above goes through
// the dynamic mask (unix.SchedSetaffinityDynamic, the raw sched_setaffinity
// system call with a buffer sized to the set): the kernel takes a mask of any
// length and treats missing high bits as zero.
func setThreadAffinity(set CPUSet) error {
	var err error
	if set.Last() < 1024 {
		var fixed unix.CPUSet
		for c := range set.All() {
			fixed.Set(c)
		}
		err = unix.SchedSetaffinity(0, &fixed)
	} else {
		dyn := unix.NewCPUSet(set.Last() + 1)
		for c := range set.All() {
			dyn.Set(c)
		}
		err = unix.SchedSetaffinityDynamic(0, dyn)
	}
	if err != nil {
		return fmt.Errorf("affinity: sched_setaffinity(%s): %v", set, err)
	}
	return nil
}

// PinThread locks the calling goroutine to its OS thread
// (runtime.LockOSThread) and restricts that thread to the CPUs in set, then
// verifies the pin: sched_getaffinity must report exactly set, and getcpu a
// CPU in it (the kernel moves the thread off a CPU it no longer allows
// before sched_setaffinity returns).
//
// A CPU of set outside Allowed (offline, or outside the process's affinity
// mask) is an error naming the CPU and the allowed set; so is an empty set.
// On such an error nothing has changed and the goroutine is not left locked.
//
// A pinned goroutine must never call runtime.UnlockOSThread: the thread
// would go back to the scheduler with its narrowed mask and run other
// goroutines there. Let the goroutine exit instead; a goroutine that exits
// while locked takes its OS thread with it (the runtime ends the thread
// rather than reusing it), so the affinity never leaks. The usual shape:
//
//	go func() {
//		if err := affinity.PinThread(affinity.NewCPUSet(3)); err != nil { ... }
//		... work on CPU 3 ...
//	}() // the thread ends here
//
// If the affinity was changed but verifying it fails, the error says so and
// the goroutine stays locked, for the same reason.
//
// On a thread that forbids relocking (see [ForbidRelock]: one that runs
// coroutines, which the runtime ties to the lock count they were created
// with) PinThread panics with the sentence its owner gave instead: a
// second lock would make the runtime throw, uncatchably, at the next
// coroutine switch. Use [RepinLocked] there.
func PinThread(set CPUSet) error {
	tid := unix.Gettid()
	if why, forbidden := noRelock.lookup(tid); forbidden {
		panic(fmt.Sprintf("affinity: PinThread on OS thread %d, %s", tid, why))
	}
	if err := checkPinnable(set); err != nil {
		return err
	}
	runtime.LockOSThread()
	if err := setThreadAffinity(set); err != nil {
		runtime.UnlockOSThread() // the mask is unchanged: safe to release
		return err
	}
	return verifyPin(set)
}

// verifyPin checks that the calling thread's mask is set and that it runs
// on a CPU of set.
func verifyPin(set CPUSet) error {
	got, err := threadAffinity()
	if err != nil {
		return fmt.Errorf("affinity: verifying pin to %s: %v", set, err)
	}
	if got != set {
		return fmt.Errorf("affinity: pinned thread to %s but sched_getaffinity reports %s", set, got)
	}
	if cpu := CurrentCPU(); !set.Has(cpu) {
		return fmt.Errorf("affinity: pinned thread to %s but getcpu reports CPU %d", set, cpu)
	}
	return nil
}

// RepinLocked restricts the calling thread to the CPUs in set, as
// PinThread does, for a goroutine that is already locked to its thread
// (runtime.LockOSThread, PinThread); it does not lock again, so the lock
// count stays as it was. The same errors as PinThread's; on one, the mask
// may have changed only if the error says verifying failed.
func RepinLocked(set CPUSet) error {
	if err := checkPinnable(set); err != nil {
		return err
	}
	if err := setThreadAffinity(set); err != nil {
		return err
	}
	return verifyPin(set)
}

// checkPinnable returns an error naming the problem unless set is a
// non-empty set of allowed CPUs.
func checkPinnable(set CPUSet) error {
	if set.IsEmpty() {
		return errors.New("affinity: cannot pin to an empty CPU set")
	}
	allowed, err := Allowed()
	if err != nil {
		return err
	}
	for c := range set.All() {
		if !allowed.Has(c) {
			return fmt.Errorf("affinity: cannot pin to CPU %d: not in the allowed set %s (offline or outside the process's affinity mask)", c, allowed)
		}
	}
	return nil
}

// ForbidRelock marks the calling OS thread as one whose goroutine must not
// lock it again: PinThread on it panics with the sentence
// "affinity: PinThread on OS thread TID, " followed by why, which the
// thread's owner writes to say what the thread runs and what to call
// instead (see PinThread). The goroutine must be locked to its thread. An
// owner whose coroutines are created on the thread calls it once they may
// exist, and [AllowRelock] as the thread ends.
func ForbidRelock(why string) { noRelock.add(unix.Gettid(), why) }

// AllowRelock undoes [ForbidRelock] for the calling OS thread.
func AllowRelock() { noRelock.remove(unix.Gettid()) }

// noRelock maps the thread ids that forbid relocking to their owners'
// sentences; a mutex, since PinThread is not on any hot path.
var noRelock tidSet

type tidSet struct {
	mu   sync.Mutex
	tids map[int]string
}

func (s *tidSet) add(tid int, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tids == nil {
		s.tids = map[int]string{}
	}
	s.tids[tid] = why
}

func (s *tidSet) remove(tid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tids, tid)
}

// lookup returns tid's sentence, and whether tid forbids relocking.
func (s *tidSet) lookup(tid int) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	why, ok := s.tids[tid]
	return why, ok
}

// PinCPU is PinThread(NewCPUSet(cpu)).
func PinCPU(cpu int) error {
	if cpu < 0 {
		return fmt.Errorf("affinity: cannot pin to CPU %d: negative", cpu)
	}
	return PinThread(NewCPUSet(cpu))
}

// CurrentCPU returns the CPU the calling thread is running on (the getcpu
// system call), or -1 on error. Any goroutine may call it. Unless the thread is pinned to
// one CPU the answer may be stale as soon as it returns.
func CurrentCPU() int {
	var cpu, node uint32
	_, _, e := unix.RawSyscall(unix.SYS_GETCPU, uintptr(unsafe.Pointer(&cpu)), uintptr(unsafe.Pointer(&node)), 0)
	if e != 0 {
		return -1
	}
	return int(cpu)
}
