// Package harness runs the sides of a measurement on pinned OS threads
// and never lets one hang: RunSides gives each Side its own goroutine,
// locked to its thread and pinned to its CPU, and a watchdog that stops
// every side and fails the run, naming the silent ones and their CPUs,
// when none moved for the stall timeout (StallTimeout, scaled by
// $PINBENCH_STALL_SCALE on slow machines). Each side's thread ends with
// its side, so no affinity leaks into other goroutines.
//
// Beside it: a Sampler that keeps per-operation latencies without
// disturbing the measured loop, the monotonic clock they are read with
// (MonoNow), and the hook that starts a benchmark's timer once the sides
// are set up (ClockStart).
//
// Who may call what: RunSides from any goroutine, one run per call; a
// side's function only reads its Stop (Load, Done) and sets its own
// Progress; a Sampler is recorded by one goroutine at a time.
package harness
