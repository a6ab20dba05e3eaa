package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pinbench/pinbench/report"
)

func init() {
	register("report", "rebuild report.md (and the heat map) from raw benchmark files", runReport)
	register("compare", "compare two machines or runs by placement class (benchstat-style)", runCompare)
}

func runReport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "folder to write report.md into (default: the first file's folder)")
	matrix := fs.String("matrix", "", "latency matrix CSV (default: matrix-samples.csv or matrix.csv beside the first file, when present)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError{"name at least one raw benchmark file"}
	}
	run, err := report.ReadFiles(fs.Args()...)
	if err != nil {
		return err
	}
	dir := *out
	if dir == "" {
		dir = filepath.Dir(fs.Arg(0))
	}
	if err := prepareOutDir(dir); err != nil {
		return err
	}
	var m *report.Matrix
	path := *matrix
	if path == "" {
		for _, name := range []string{matrixLongFile, matrixFile} {
			p := filepath.Join(filepath.Dir(fs.Arg(0)), name)
			if _, err := os.Stat(p); err == nil {
				path = p
				break
			}
		}
	}
	if path != "" {
		if m, err = report.ReadMatrixFile(path); err != nil {
			return err
		}
	}
	summary, err := report.WriteReport(dir, run, report.Options{Matrix: m})
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, summary)
	return nil
}

func runCompare(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	markdown := fs.Bool("markdown", false, "print Markdown tables instead of text")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usageError{"compare takes two raw benchmark files (or two results folders' bench.txt): A B"}
	}
	var runs [2]*report.Run
	for i, p := range fs.Args() {
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			p = filepath.Join(p, rawFile)
		}
		r, err := report.ReadFiles(p)
		if err != nil {
			return err
		}
		runs[i] = r
	}
	tables, err := report.Compare(runs[0], runs[1])
	if err != nil {
		return err
	}
	if *markdown {
		return tables.WriteMarkdown(stdout, report.RenderOptions{})
	}
	return tables.WriteText(stdout, report.RenderOptions{})
}
