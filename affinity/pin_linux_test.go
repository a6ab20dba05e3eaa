//go:build linux

package affinity

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// inFreshThread runs fn on a new goroutine and waits for it. A goroutine
// that pins itself exits still locked, so the runtime discards its thread
// and the pin cannot leak into the test's other goroutines.
func inFreshThread(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
}

// kernelOnline reads the kernel's online list, skipping the test where
// there is none.
func kernelOnline(t *testing.T) CPUSet {
	t.Helper()
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		t.Skipf("no /sys/devices/system/cpu/online: %v", err)
	}
	online, err := ParseList(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return online
}

func TestAllowedMatchesOnline(t *testing.T) {
	allowed, err := Allowed()
	if err != nil {
		t.Fatal(err)
	}
	online := kernelOnline(t)
	if !allowed.IsSubset(online) {
		t.Errorf("allowed %s is not within online %s", allowed, online)
	}
	if processMask.Intersect(online) != allowed {
		t.Errorf("allowed %s != process mask %s ∩ online %s", allowed, processMask, online)
	}
	if allowed == online && runtime.NumCPU() != online.Count() {
		t.Errorf("no affinity restriction, yet runtime.NumCPU() = %d and %d CPUs online", runtime.NumCPU(), online.Count())
	}
}

func TestPinEachAllowedCPU(t *testing.T) {
	allowed, err := Allowed()
	if err != nil {
		t.Fatal(err)
	}
	before, err := ThreadAffinity()
	if err != nil {
		t.Fatal(err)
	}
	for cpu := range allowed.All() {
		inFreshThread(func() {
			if err := PinCPU(cpu); err != nil {
				t.Errorf("PinCPU(%d): %v", cpu, err)
				return
			}
			if got := CurrentCPU(); got != cpu {
				t.Errorf("pinned to %d, running on %d", cpu, got)
			}
			if got, _ := ThreadAffinity(); got != NewCPUSet(cpu) {
				t.Errorf("pinned to %d, thread mask %s", cpu, got)
			}
		})
	}
	inFreshThread(func() {
		if err := PinThread(allowed); err != nil {
			t.Errorf("PinThread(%s): %v", allowed, err)
		}
	})
	// The pinned threads are gone; this goroutine's thread never changed.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if after, _ := ThreadAffinity(); after != before {
		t.Errorf("affinity leaked: thread mask %s, was %s", after, before)
	}
	if a2, _ := Allowed(); a2 != allowed {
		t.Errorf("Allowed changed after pinning: %s, was %s", a2, allowed)
	}
}

func TestPinOutsideAllowed(t *testing.T) {
	allowed, err := Allowed()
	if err != nil {
		t.Fatal(err)
	}
	for _, cpu := range []int{allowed.Last() + 1, 4096} {
		inFreshThread(func() {
			err := PinCPU(cpu)
			if err == nil {
				t.Errorf("PinCPU(%d) outside allowed %s succeeded", cpu, allowed)
				return
			}
			msg := err.Error()
			if !strings.Contains(msg, "CPU "+itoa(cpu)) || !strings.Contains(msg, allowed.String()) {
				t.Errorf("PinCPU(%d) error %q does not name the CPU and the allowed set %s", cpu, msg, allowed)
			}
		})
	}
	inFreshThread(func() {
		if err := PinThread(CPUSet{}); err == nil {
			t.Errorf("PinThread(empty) succeeded")
		}
		if err := PinCPU(-1); err == nil {
			t.Errorf("PinCPU(-1) succeeded")
		}
	})
}

func TestCurrentCPU(t *testing.T) {
	allowed, _ := Allowed()
	if c := CurrentCPU(); c < 0 || !allowed.Has(c) && c > allowed.Last()+1024 {
		t.Errorf("CurrentCPU() = %d", c)
	}
}

// A thread that forbids relocking refuses PinThread with its owner's
// sentence, and pins again once allowed.
func TestForbidRelock(t *testing.T) {
	allowed, err := Allowed()
	if err != nil {
		t.Fatal(err)
	}
	var msg any
	var tid int
	var pinErr error
	inFreshThread(func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		tid = unix.Gettid()
		ForbidRelock("which runs a test's coroutines: use RepinLocked instead")
		func() {
			defer func() { msg = recover() }()
			_ = PinThread(allowed)
		}()
		AllowRelock()
		pinErr = PinThread(allowed)
	})
	want := fmt.Sprintf("affinity: PinThread on OS thread %d, which runs a test's coroutines: use RepinLocked instead", tid)
	if msg != want {
		t.Errorf("PinThread on a thread that forbids relocking: panic %v, want %q", msg, want)
	}
	if pinErr != nil {
		t.Errorf("PinThread after AllowRelock: %v", pinErr)
	}
}
