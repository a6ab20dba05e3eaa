// Command pinbench measures what it costs to hand work from one core to
// another on this machine and where event-loop threads should be pinned.
//
// Usage:
//
//	pinbench <command> [arguments] [flags]
//
// Flags may come before or after a command's arguments, as in go tools;
// `--` ends the flags. The exit status is 0 on success, 1 when the command
// failed, and 2 for a mistake in the command line (an unknown flag, a bad
// value, a missing argument).
//
// Each command is defined in its own file (cmdReport in report.go) and
// listed in the command table, commands, in main.go.
//
//	$ pinbench help
//	usage: pinbench <command> [arguments] [flags]
//
//	commands:
//	  bench      run the benchmark suite in this binary (as go test -bench ./bench would)
//	  compare    compare machines or runs by placement class (benchstat-style)
//	  matrix     measure the core-to-core latency matrix (cache-line ping-pong)
//	  place      place N event-loop threads on CPUs from measured costs, verify it, emit the configuration
//	  report     rebuild report.md (and the heat map) from a results folder or raw benchmark files
//	  topology   print the machine's topology and placement classes
//	  tune       the per-machine tuning run: matrix, benchmarks, report with recommendations
//
//	Run `pinbench help <command>` (or `pinbench <command> -h`) for a command's arguments and flags.
//
// # Examples
//
// Run from the repository's root, these print what is shown (doc_test.go
// runs them). The topology of a machine, here from a sysfs capture:
//
//	$ pinbench topology --root testdata/topologies/cpuless-nodes
//	Machine: 2 packages, 3 nodes, no L3, 4 cores, 8 CPUs
//	Model: Intel(R) Core(TM)2 Fixture Quad
//	Package 0 (CPUs 0-3)
//	  NUMA node 0 (CPUs 0-7)
//	    L2 0-3 (4 MiB, line 64 B)
//	      Core 0 (core_id 0): PU 0, PU 1
//	      Core 1 (core_id 1): PU 2, PU 3
//	Package 1 (CPUs 4-7)
//	  NUMA node 0 (CPUs 0-7)
//	    L2 4-7 (4 MiB, line 64 B)
//	      Core 2 (core_id 0): PU 4, PU 5
//	      Core 3 (core_id 1): PU 6, PU 7
//	NUMA node 1: no CPUs (memory only)
//	NUMA node 2: no CPUs (memory only)
//	NUMA distances:
//	             0     1     2
//	       0    10    20    30
//	       1    20    10    30
//	       2    30    30    10
//	Online CPUs: 0-7
//	Allowed CPUs: 0-7
//	Placement classes (representative pair):
//	  samecpu  2,2
//	  smt      2,3
//	  l2       4,6
//	  llc      -  (no such pair among the allowed CPUs)
//	  node     2,4
//	  remote   -  (no such pair among the allowed CPUs)
//
// What the suite would run there, and what it skips and why:
//
//	$ pinbench bench -plan -topology-root testdata/topologies/two-socket-smt -bench Floor
//	run BenchmarkFloor/place=smt
//	run BenchmarkFloor/place=llc
//	run BenchmarkFloor/place=remote
//	run BenchmarkFloor/place=unpinned
//	skip BenchmarkFloor/place=samecpu: both sides busy-wait: on one CPU they would measure the scheduler's time slice
//	skip BenchmarkFloor/place=l2: no two allowed CPUs of this machine are l2 apart (allowed 0-14; topology 2 packages, 2 nodes, 2 L3, 8 cores, 15 CPUs)
//	skip BenchmarkFloor/place=node: no two allowed CPUs of this machine are node apart (allowed 0-14; topology 2 packages, 2 nodes, 2 L3, 8 cores, 15 CPUs)
//
// What a tuning run would do there in quick and full mode, and how long
// each would take:
//
//	$ pinbench tune --plan --root testdata/topologies/two-socket-smt --bench Floor
//	pinbench tune --plan for the capture testdata/topologies/two-socket-smt: intel-xeon-fixture-2s-2p2n8c15t-98c625 (2 packages, 2 nodes, 2 L3, 8 cores, 15 CPUs)
//
//	Placement classes and their CPU pairs:
//	  samecpu  1,1
//	  smt      1,9
//	  l2       (none here)
//	  llc      1,2
//	  node     (none here)
//	  remote   1,4
//	  unpinned the OS places the threads
//
//	Cost model (documented defaults, planning for a capture): matrix transfer 100 ns, ping-pong start-up 400µs, benchmark start-up 3ms, benchmark binary start 500ms.
//
//	quick mode: 6 interleaved rounds of the suite, -benchtime 100ms
//	  matrix: a stratified sample, 23 of 105 pairs, 5 repetitions of 20000 transfers each: about 300ms
//	    pairs per class: smt 7, llc 8, remote 8
//	  benchmarks: 4 run, 3 skipped; 6 samples of each, about 1.1s a round
//	    BenchmarkFloor/place=smt
//	    BenchmarkFloor/place=llc
//	    BenchmarkFloor/place=remote
//	    BenchmarkFloor/place=unpinned
//	  skipped:
//	    BenchmarkFloor/place=samecpu: both sides busy-wait: on one CPU they would measure the scheduler's time slice
//	    BenchmarkFloor/place=l2: no two allowed CPUs of this machine are l2 apart (allowed 0-14; topology 2 packages, 2 nodes, 2 L3, 8 cores, 15 CPUs)
//	    BenchmarkFloor/place=node: no two allowed CPUs of this machine are node apart (allowed 0-14; topology 2 packages, 2 nodes, 2 L3, 8 cores, 15 CPUs)
//	  estimated duration: 8s (matrix 300ms, dry run 500ms, 6 rounds of 1.1s, report 1s)
//
//	full mode: 10 interleaved rounds of the suite, -benchtime 500ms, poll-window sweep
//	  matrix: every pair, 105 of 105 pairs, 11 repetitions of 50000 transfers each: about 6.4s
//	    pairs per class: smt 7, llc 42, remote 56
//	  benchmarks: 4 run, 3 skipped; 10 samples of each, about 3.1s a round
//	    BenchmarkFloor/place=smt
//	    BenchmarkFloor/place=llc
//	    BenchmarkFloor/place=remote
//	    BenchmarkFloor/place=unpinned
//	  skipped:
//	    BenchmarkFloor/place=samecpu: both sides busy-wait: on one CPU they would measure the scheduler's time slice
//	    BenchmarkFloor/place=l2: no two allowed CPUs of this machine are l2 apart (allowed 0-14; topology 2 packages, 2 nodes, 2 L3, 8 cores, 15 CPUs)
//	    BenchmarkFloor/place=node: no two allowed CPUs of this machine are node apart (allowed 0-14; topology 2 packages, 2 nodes, 2 L3, 8 cores, 15 CPUs)
//	  estimated duration: 39s (matrix 6.4s, dry run 500ms, 10 rounds of 3.1s, report 1s)
//
// These measure this machine, so the doc test only checks that they parse:
//
//	$ pinbench tune                                 # quick mode: results/<machine-id>/<UTC time>-quick
//	$ pinbench tune --full                          # for committed results
//	$ pinbench tune --out /tmp/run --force --explain-outliers
//	$ pinbench matrix --reps 3 --csv matrix.csv
//	$ pinbench bench -bench Handoff -count 6 -benchtime 200ms
//	$ pinbench report results/amd-epyc-2c2t-vm-7c0fcb/latest --out /tmp/report
//	$ pinbench compare --markdown lab/results/numa2/tune lab/results/smt2/tune
package main
