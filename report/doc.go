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
//	run, err := report.ReadFiles(paths...)            // error names the file
//	m, err := matrix.ReadFile("matrix.csv")          // optional; grid or long CSV
//	m.Classify(func(a, b int) string { return string(topo.Relation(a, b)) })
//	summary, err := report.WriteReport(outDir, run, report.Options{Matrix: m})
//	fmt.Print(summary)
//
// and, for `pinbench compare A B`:
//
//	a, _ := report.ReadFiles(fileA)
//	b, _ := report.ReadFiles(fileB)
//	t, err := report.Compare(a, b)
//	t.WriteText(os.Stdout, report.RenderOptions{})
//
// The geomean row uses github.com/aclements/go-moremath/stats.GeoMean, as
// benchstat does (the module is already a dependency of x/perf).
package report
