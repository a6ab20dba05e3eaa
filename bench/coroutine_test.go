package bench

import "testing"

// BenchmarkCoroutine compares coroutine mechanisms on one locked thread, as
// an iothread runs them.
//
//   - op=switch: one op is one enter+yield round trip (two switches).
//   - op=lifecycle: one op is one coroutine's whole life: create, enter, and
//     finish with nothing in its body.
//
// impl=coro is the project's coroutine (lifecycle through its Thread's
// pool), impl=pull a bare iter.Pull, impl=goroutine a goroutine resumed and
// suspended through two unbuffered channels.
func BenchmarkCoroutine(b *testing.B) { runFamily(b) }
