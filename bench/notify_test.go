package bench

import "testing"

// BenchmarkNotify measures what one aio Notify costs its caller (ns/op is
// the time spent inside Notify, read around each call).
//
//   - target=awake: the iothread busy-polls, so Notify only sets a flag and
//     makes no system call (wakeups/op shows 0).
//   - target=asleep: the iothread blocks in the kernel; before each Notify
//     the benchmark waits, untimed, until it has gone back to sleep, so
//     every Notify pays the futex wake (wakeups/op shows 1).
func BenchmarkNotify(b *testing.B) { runFamily(b) }
