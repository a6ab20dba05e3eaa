//go:build !linux

package affinity

import (
	"errors"
	"fmt"
)

var errNotLinux = errors.New("affinity: thread pinning needs Linux")

// Allowed returns the CPUs this process may run on; only Linux is supported.
func Allowed() (CPUSet, error) { return CPUSet{}, errNotLinux }

// ThreadAffinity returns the calling thread's affinity mask; only Linux is
// supported.
func ThreadAffinity() (CPUSet, error) { return CPUSet{}, errNotLinux }

// PinThread pins the calling goroutine's thread; only Linux is supported.
func PinThread(set CPUSet) error { return errNotLinux }

// PinCPU is PinThread(NewCPUSet(cpu)).
func PinCPU(cpu int) error {
	if cpu < 0 {
		return fmt.Errorf("affinity: cannot pin to CPU %d: negative", cpu)
	}
	return errNotLinux
}

// CurrentCPU returns the CPU the calling thread runs on; -1 off Linux.
func CurrentCPU() int { return -1 }

func liveOnline() (CPUSet, error) { return CPUSet{}, errNotLinux }

// RepinLocked re-pins the calling locked thread; only Linux is supported.
func RepinLocked(set CPUSet) error { return errNotLinux }

// ForbidRelock marks the calling thread as not to be locked again; off
// Linux PinThread never locks, so there is nothing to forbid.
func ForbidRelock(why string) {}

// AllowRelock undoes ForbidRelock.
func AllowRelock() {}
