// Package measure measures the core-to-core latency matrix: the one-way
// latency of a cache-line transfer between pairs of CPUs (PingPong, a
// pair's repetitions in Pair), over every pair or a stratified sample
// (SamplePairs), one pair at a time or disjoint pairs at once
// (ParallelRounds, with a few cells measured again alone to check them:
// CheckPairs; the default for every pair of a large machine:
// DefaultParallel), into a matrix.Matrix (Matrix). Estimate says how long that would take
// under a cost model (Costs, measured on this machine by MeasureCosts).
//
// Each ping-pong runs its two sides on threads locked and pinned to their
// CPUs under the benchmark harness's watchdog; the sides are
// internal/pingpong's game, which the suite's floor benchmark plays too.
// Progress goes to the writer given, as one line redrawn with carriage
// returns.
package measure
