package osthread

import (
	"iter"
	"runtime"
	"testing"
)

func TestCurrentFastPathValid(t *testing.T) {
	if !haveCurrentM {
		t.Skip("no fast thread identity on", runtime.GOARCH)
	}
	if !fastOK() {
		t.Fatal("currentM failed validation on this runtime: Current falls back to gettid (check mOffset against runtime/runtime2.go)")
	}
}

// TestCurrentFastAgrees checks that where Fast holds, CurrentFast is
// Current, on two live threads at once and inside a coroutine.
func TestCurrentFastAgrees(t *testing.T) {
	if !Fast() {
		t.Skip("Current uses gettid on", runtime.GOARCH)
	}
	ids := make(chan [2]ID, 2)
	release := make(chan struct{})
	for range 2 {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			next, stop := iter.Pull(func(yield func(ID) bool) { yield(CurrentFast()) })
			inCoro, _ := next()
			stop()
			if inCoro != Current() {
				t.Errorf("CurrentFast inside a coroutine %#x, Current on its thread %#x", inCoro, Current())
			}
			ids <- [2]ID{Current(), CurrentFast()}
			<-release
		}()
	}
	a, b := <-ids, <-ids
	close(release)
	if a[0] != a[1] || b[0] != b[1] || a[0] == b[0] {
		t.Fatalf("two live threads: Current, CurrentFast = %#x, %#x and %#x, %#x; want equal pairs, distinct between threads", a[0], a[1], b[0], b[1])
	}
}

// TestCurrentIdentity checks Current's contract across locked goroutines:
// stable on one thread, distinct between live threads.
func TestCurrentIdentity(t *testing.T) {
	const n = 4
	ids := make(chan ID, n)
	release := make(chan struct{})
	for range n {
		go func() {
			runtime.LockOSThread()
			id := Current()
			for range 100 {
				runtime.Gosched()
				if Current() != id {
					t.Error("Current changed on a locked goroutine")
				}
			}
			ids <- id
			<-release // stay alive until all are counted
		}()
	}
	seen := map[ID]bool{}
	for range n {
		id := <-ids
		if id == 0 || seen[id] {
			t.Errorf("Current returned %#x: zero or shared by two live threads", id)
		}
		seen[id] = true
	}
	close(release)
}

func BenchmarkCurrent(b *testing.B) {
	Current()
	for b.Loop() {
		Current()
	}
}
