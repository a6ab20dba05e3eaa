// Package bench is pinbench's benchmark suite and the harness it shares with
// the command line tool.
//
// The benchmarks (`go test -bench . ./bench`) measure, on the machine they run
// on, the physical floor of a cross-core handoff (cache-line ping-pong), the
// project's lock-free queue against Go's channel and a mutex, the coroutine
// handoff between pinned iothreads with each wait strategy, coroutine switch
// costs, the random schedule of QEMU's test-aio-multithread and the cost of
// Notify, at every placement class the machine offers (see affinity.Class).
// Before the results, TestMain prints `key: value` configuration lines in
// Go's benchmark format so that every results file says where it came from.
//
// The suite is a catalogue (Suite): a tree of named benchmarks whose leaves
// hold the bodies and, decided when the tree is built, the reason a leaf
// cannot run on this machine. The BenchmarkX functions of the test files
// walk it with b.Run (RunTree), and the pinbench binary runs the same
// leaves through testing.Benchmark (RunLeaf) and writes them with
// ResultWriter under the configuration lines go test prints
// (GoTestConfig), so both give benchstat the same names, units and keys,
// and a plan (which leaves would run, which are skipped and why) needs no
// run at all.
//
// The harness (this package's non-test files) places the sides of a benchmark
// on the representative CPU pair of a placement class, runs each side on its
// own locked, pinned OS thread, never lets a benchmark hang (a side that stops
// answering fails it within seconds, naming its CPU), samples per-operation
// latencies without disturbing the measured loop, and reads per-thread CPU
// time and software event counters. With -explain-outliers
// the execution tracer's flight recorder runs, and the
// moments before each sampled via=aio handoff slower than a multiple of
// the running median are saved as a trace file for the report to explain.
package bench
