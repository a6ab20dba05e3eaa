package osthread

import (
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
