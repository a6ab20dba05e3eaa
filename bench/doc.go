// Package bench is pinbench's benchmark suite, and the way to benchmark
// your own code across the placement classes of a machine.
//
// # Your own code across placements
//
// Placements runs a benchmark's two sides, two functions that hand work to
// each other, at once on two OS threads, each locked and pinned to one CPU
// of the representative pair of a placement class (see affinity.Class): a
// sub-benchmark place=CLASS for every class the machine has, innermost
// first, then place=unpinned, and the classes it lacks skipped with the
// reason. Both sides wait at a start line where the timer is reset, a
// watchdog fails a run whose side stops answering (Stop tells the other
// side to give up), and the machine's configuration lines are printed
// above the results, so that
//
//	go test -run '^$' -bench . -count 6 | tee new.txt
//	go tool benchstat -col /place new.txt
//
// compares the classes. See the example.
//
// # The suite
//
// The benchmarks (`go test -bench . ./bench`) measure, on the machine they
// run on, the physical floor of a cross-core handoff (cache-line
// ping-pong), the project's lock-free queue against Go's channel and a
// mutex, the coroutine handoff between pinned iothreads with each wait
// strategy, coroutine switch costs, QEMU's mutex and random schedule tests
// and the cost of Notify, at every placement class the machine offers.
// Before the results, TestMain prints `key: value` configuration lines in
// Go's benchmark format (Config) so that every results file says where it
// came from.
//
// The suite is a catalogue (Suite): a tree of named benchmarks whose
// leaves hold the bodies and, decided when the tree is built, the reason a
// leaf cannot run on this machine. The BenchmarkX functions of the test
// files walk it with b.Run (RunTree), and the pinbench binary runs the
// same leaves through testing.Benchmark (RunLeaf, under SetBenchtime) and
// writes them with a ResultWriter under the configuration lines go test
// prints (GoTestConfig), so both give benchstat the same names, units and
// keys, and a plan (which leaves would run, which are skipped and why,
// matched by a Filter as -bench matches) needs no run at all. With
// SuiteOptions.Outliers, the moments before each sampled via=aio handoff
// slower than a multiple of the running median are saved as trace files
// for the report to explain.
//
// # Who may call what
//
// Suite, Leaves, Find, NewFilter, Config and GoTestConfig only read the
// topology, and may be called from any goroutine. RunLeaf, SetBenchtime
// and RunTree run benchmarks: call them from one goroutine at a time, as
// testing runs benchmarks. Placements is called from a benchmark
// function, once per benchmark. Its sides run on threads of their own:
// they read b.N, one of them may call b.ReportMetric before it returns,
// and neither calls another method of b (a side fails the run by
// returning an error). A ResultWriter is used by one goroutine.
package bench
