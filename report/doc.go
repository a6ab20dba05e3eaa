// Package report turns raw Go benchmark files written by the pinbench suite
// into a report: benchstat tables sliced by placement class, wait strategy
// and mechanism, recommendations with their evidence, warnings about the
// measurement conditions, and a core-to-core latency heat map.
//
// It never runs benchmarks. The statistics are those of benchstat, computed
// with the public golang.org/x/perf packages: benchfmt reads the files,
// benchproc projects results into tables (the -table, -row, -col, -ignore and
// -filter flags of benchstat), and benchmath summarises each cell (median and
// confidence interval, assuming nothing about the distribution) and compares
// it to the first column with the Mann-Whitney U test at alpha 0.05.
//
// A typical caller (the pinbench CLI) does:
//
//	run, err := report.ReadFiles(paths...)
//	m, err := report.ReadMatrixFile("matrix.csv") // optional
//	summary, err := report.WriteReport(outDir, run, report.Options{Matrix: m})
//
// and prints summary. Compare puts two runs side by side.
package report
