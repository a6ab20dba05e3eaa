// Package tune is the per-machine tuning run as a library: what pinbench
// tune does, given its flags as Options.
//
// Run discovers the topology, measures the latency matrix, runs the
// benchmark suite in interleaved rounds (one child process each) and
// writes a results folder with bench.txt, the matrix, the heat map and
// report.md; with a workload (Options.Threads and Pattern, or Graph) it
// then places its threads with package place, verifies the placement
// here, and adds it to report.md and PlacementFile. It returns a Result
// with the folder and the report's summary. Plan measures nothing that matters and says what a run would
// do and how long it would take.
//
// The contract:
//   - A run's folder is complete or absent: it is written in a hidden
//     staging folder beside it and renamed into place last, so an error
//     or a cancelled ctx leaves nothing; the next run into the same
//     parent removes the staging folder of a run whose process is gone.
//   - Without Options.Out a run gets results/<machine-id>/<UTC
//     time>-<mode> (with -cpusLIST when it may use only some CPUs), and
//     results/<machine-id>/latest, a relative symbolic link, points at
//     the newest complete one.
//   - Each round's child process dies with the calling process, even one
//     killed with SIGKILL, and stops when ctx is done.
//   - Whatever would stop the run is found before anything is measured: a
//     mistake in the options, or an Out that holds results without Force,
//     is an *OptionError; a folder that cannot take the run, another
//     error.
//
// The suite runs in a go test binary of ./bench (Options.BenchBin) or, by
// default, in the running program itself: Run starts it again
// (os.Executable) with the arguments `bench -progress=false` and the
// test binary's flags without their "test." prefix (-bench, -count,
// -benchtime, -sweep, ...), with SelfEnv and ParentEnv in its
// environment, as pinbench's bench command takes them; such a program
// calls CheckParent between benchmarks.
package tune
