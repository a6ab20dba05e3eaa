// Package report turns raw Go benchmark files written by the pinbench suite
// into a report: benchstat tables sliced by placement class, wait strategy
// and mechanism, a handoff's cost against the floor, recommendations with
// their evidence, and warnings about the measurement conditions.
//
// It never runs benchmarks. Like benchproc's pipeline, with the public
// golang.org/x/perf packages throughout, it works in steps:
//
//  1. Read: ReadFiles (or Read) parses the files with benchfmt into a Run:
//     every result, labelled by its file (".file"), the unit metadata and
//     each file's configuration lines (Env).
//  2. Filter: each table section (Section, a TableOptions) and each rule
//     keeps the results of one benchproc filter, benchstat's -filter
//     syntax: the wait strategy at llc is read from `.name:Handoff /via:aio
//     /pin:(cpu OR "") /wait:/./ /pollmax:"" /rate:"" /place:"llc"`.
//  3. Project and group: a benchproc projection (benchstat's -col, like
//     /place or /wait) groups what the filter kept; the tables also
//     project rows and a table per key and unit (internal/benchtab).
//  4. Summarise and compare: benchmath gives each group's median and
//     confidence interval, assuming nothing about the distribution, and
//     compares two groups with the Mann-Whitney U test at Thresholds.Alpha
//     (0.05, benchstat's), as `go tool benchstat` does.
//  5. Recommend and warn: Recommend turns the comparisons into advice for
//     each Topic, or withholds it and says why; Warnings names the
//     measurement conditions to distrust (WarningKind); FloorCosts puts
//     the handoffs against the floor.
//  6. Render: Build assembles the Report, WriteMarkdown writes report.md,
//     and WriteReport writes it with the heat map (package matrix) as one
//     set of files. Compare and Tables.WriteText serve `pinbench compare`.
//
// Every step reads the results a fixed number of times, so time and
// memory grow in proportion to the input, up to two stated limits:
// MaxInput bytes of files per Run, and MaxColumns columns per table.
// Beyond them ReadFiles and Build refuse with an error that names the
// limit.
//
// A typical caller (the pinbench CLI) does:
//
//	run, err := report.ReadFiles(paths...)            // error names the file
//	m, err := matrix.ReadFile("matrix.csv")          // optional; grid or long CSV
//	m.Classify(topo.Relation)
//	summary, err := report.WriteReport(outDir, run, report.Options{Matrix: m})
//	fmt.Print(summary)
//
// and, for `pinbench compare A B`:
//
//	a, _ := report.ReadFiles(fileA)
//	b, _ := report.ReadFiles(fileB)
//	t, err := report.Compare(a, b)
//	t.WriteText(os.Stdout, report.RenderOptions{})
package report
