// Package osthread answers questions about this process's OS threads that
// the runtime does not: whether a thread has ended.
package osthread

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Gone waits until thread tid of this process no longer exists, polling
// with a growing pause, and returns an error naming the thread when it
// still exists after limit. A goroutine that exits while locked to its
// thread makes the runtime end that thread; Gone is how a caller joins it.
// The process's main thread is the exception: the runtime cannot end it, so
// it parks it for good instead (it never runs Go code again, so its
// affinity cannot leak either), and Gone returns nil for it at once.
func Gone(tid int, limit time.Duration) error {
	pid := os.Getpid()
	if tid == pid {
		return nil
	}
	deadline := time.Now().Add(limit)
	for pause := 10 * time.Microsecond; ; pause = min(2*pause, time.Millisecond) {
		// Signal 0 checks existence only: ESRCH once the thread is gone
		// (threads other than the leader are reaped as they exit).
		if err := unix.Tgkill(pid, tid, 0); err == unix.ESRCH {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("thread %d still exists %v after its goroutine ended", tid, limit)
		}
		time.Sleep(pause)
	}
}
