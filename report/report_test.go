package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/benchtab"
	"github.com/pinbench/pinbench/internal/matrixtest"
)

// readText reads text as a raw benchmark file named name.
func readText(t *testing.T, name, text string) *Run {
	t.Helper()
	run, err := Read(strings.NewReader(text), name)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// markdownOf builds run's report with o and writes its report.md,
// failing the test on an error.
func markdownOf(t *testing.T, run *Run, o Options) (*Report, string) {
	t.Helper()
	r, err := Build(run, o)
	if err != nil {
		t.Fatal(err)
	}
	var md strings.Builder
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	return r, md.String()
}

func mustRead(t *testing.T, paths ...string) *Run {
	t.Helper()
	for i, p := range paths {
		paths[i] = filepath.Join("testdata", p)
	}
	run, err := ReadFiles(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := filepath.Join("testdata", "vm.txt")
	for name, c := range map[string]struct {
		path string
		want string
	}{
		"missing":   {filepath.Join(dir, "nope.txt"), "nope.txt"},
		"malformed": {write("bad.txt", "goos: linux\nBenchmarkFloor/place=llc-2 100 abc ns/op\n"), "bad.txt:2"},
		"no unit":   {write("nounit.txt", "BenchmarkFloor-2 100 12\n"), "nounit.txt"},
		"empty":     {write("empty.txt", ""), "empty.txt: no benchmark results"},
		"NaN":       {write("nan.txt", "BenchmarkX 1 5 ns/op\nBenchmarkX 1 NaN ns/op\n"), "nan.txt:2: malformed results file: NaN ns/op is not a finite measurement"},
		"Inf":       {write("inf.txt", "BenchmarkX 1 -Inf B/op\n"), "inf.txt:1: malformed results file: -Inf B/op"},
		"text only": {write("text.txt", "PASS\nok  pkg 1s\n"), "text.txt: no benchmark results"},
		"directory": {dir, dir},
	} {
		_, err := ReadFiles(good, c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %q", name, err, c.want)
		}
	}
	if _, err := ReadFiles(); err == nil {
		t.Error("no files: no error")
	}
	if _, err := mustRead(t, "vm.txt").Tables(TableOptions{Filter: "/place:("}); err == nil {
		t.Error("bad filter: no error")
	}
	if _, err := mustRead(t, "vm.txt").Tables(TableOptions{Col: "/place@(("}); err == nil {
		t.Error("bad projection: no error")
	}
}

func TestReadConfig(t *testing.T) {
	run := mustRead(t, "vm.txt")
	e := run.Envs[0]
	if !e.IsVM() || e.Get("governor") != "powersave" || e.Get("topology") != "1 package, 1 node, 1 L3, 2 cores, 2 CPUs" {
		t.Errorf("env %+v", e.Values)
	}
	if p := e.Pairs(); len(p) != 2 || p[1] != (DeclaredPair{affinity.LLC, "0,1"}) {
		t.Errorf("pairs %v", p)
	}
	if run.Config("machine") != "amd-epyc-7b13-2c-2t-kvm" {
		t.Errorf("machine %q", run.Config("machine"))
	}
	if mustRead(t, "bare.txt").Envs[0].IsVM() {
		t.Error("bare metal read as VM")
	}
	// 258 lines: 16 config lines, 240 results, PASS and ok.
	if n := len(run.Results); n != 240 {
		t.Errorf("%d results", n)
	}
}

func TestWriteReport(t *testing.T) {
	dir := t.TempDir()
	run := mustRead(t, "bare.txt")
	sum, err := WriteReport(dir, run, Options{Matrix: matrixtest.Bare()})
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "heatmap.png heatmap.svg report.md" {
		t.Errorf("files written: %v", names)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	for _, want := range []string{
		"# pinbench report: intel-xeon-gold-6230-20c-40t-bare",
		"- topology: 2 packages, 2 nodes, 2 L3, 40 cores, 80 CPUs",
		"![core-to-core latency heat map](heatmap.png)",
		"## Recommendations", "**Placement: pin the two iothreads of a handoff as smt",
		"## Warnings",
		"## By placement class (/place)", "## By mechanism (/via)", "## By wait strategy (/wait)",
		"## Poll-window sweep (/pollmax)", "## Queue padding (/pad)", "## Allocations",
		"| benchmark | smt sec/op | llc sec/op | vs base |",
		"| Floor-32 | 21.71n ± 1% | 59.82n ± 4% | +175.56% (p=0.000 n=10) |",
		"go tool benchstat -table .config -row .fullname -col /place",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if !strings.Contains(sum, "Placement: pin") || !strings.HasSuffix(sum, filepath.Join(dir, "report.md")+"\n") {
		t.Errorf("summary:\n%s", sum)
	}
	// A report without a matrix has no heat map.
	dir2 := t.TempDir()
	if _, err := WriteReport(dir2, mustRead(t, "vm.txt"), Options{}); err != nil {
		t.Fatal(err)
	}
	md2, _ := os.ReadFile(filepath.Join(dir2, "report.md"))
	if strings.Contains(string(md2), "heatmap") || !strings.Contains(string(md2), "**virtual machine (KVM)**") {
		t.Errorf("report without matrix:\n%s", md2[:500])
	}
}

func TestWriteReportFailsWhole(t *testing.T) {
	run := mustRead(t, "vm.txt")
	base := t.TempDir()
	notDir := filepath.Join(base, "file")
	os.WriteFile(notDir, []byte("x"), 0o644)
	for _, dir := range []string{filepath.Join(base, "missing"), notDir} {
		_, err := WriteReport(dir, run, Options{Matrix: matrixtest.FakeVM()})
		if err == nil || !strings.Contains(err.Error(), dir) {
			t.Errorf("%s: error %v does not name the folder", dir, err)
		}
	}
	ents, _ := os.ReadDir(base)
	if len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
	// A failure after some temporary files were written removes them and
	// leaves an existing report untouched.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "report.md"), []byte("old"), 0o644)
	os.Mkdir(filepath.Join(dir, "heatmap.png"), 0o755) // rename onto a directory fails
	os.WriteFile(filepath.Join(dir, "heatmap.png", "x"), nil, 0o644)
	if _, err := WriteReport(dir, run, Options{Matrix: matrixtest.FakeVM()}); err == nil {
		t.Fatal("no error renaming onto a directory")
	}
	old, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	if string(old) != "old" {
		t.Errorf("report.md replaced after a failure")
	}
	ents, _ = os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

// TestCompare checks Compare's tables against those of both files read
// together with CompareOptions, the flags internal/benchtab's test checks
// against benchstat (its "compare" case), and Compare's column labels.
func TestCompare(t *testing.T) {
	a, b := mustRead(t, "bare.txt"), mustRead(t, "vm.txt")
	ours, err := Compare(a, b)
	if err != nil {
		t.Fatal(err)
	}
	var llc *benchtab.Table
	for _, tb := range ours.Tables {
		if tb.Key[0] == [2]string{"/place", "llc"} && tb.Unit == "sec/op" {
			llc = tb
		}
	}
	if llc == nil || strings.Join(llc.Cols, " ") != "testdata/bare.txt testdata/vm.txt" {
		t.Fatalf("no llc sec/op table comparing both runs: %+v", llc)
	}
	if i := llc.Row("Floor"); i < 0 || llc.Cells[i][1].Delta() == "" {
		t.Errorf("llc Floor row missing or not compared: rows %v", llc.Rows)
	}
	both, err := mustRead(t, "bare.txt", "vm.txt").Tables(CompareOptions())
	if err != nil {
		t.Fatal(err)
	}
	var got, want bytes.Buffer
	if err := ours.WriteText(&got, RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := both.WriteText(&want, RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("Compare differs from the files' tables with CompareOptions:\n%.600s\nwant:\n%.600s", got.String(), want.String())
	}
	if !strings.Contains(got.String(), "/place: llc") {
		t.Errorf("text compare lacks the table keys:\n%.300s", got.String())
	}
	// Same names get A:/B: labels.
	same, err := Compare(a, a)
	if err != nil {
		t.Fatal(err)
	}
	if c := same.Tables[0].Cols; len(c) != 2 || !strings.HasPrefix(c[0], "A: ") || !strings.HasPrefix(c[1], "B: ") {
		t.Errorf("columns %v", c)
	}
}

// A results file cut off after a bare benchmark name is an error naming
// the file and line, not "too few samples".
func TestTruncatedResults(t *testing.T) {
	good := "machine: test\nBenchmarkFloor/place=llc-2 \t 1000 \t 35.0 ns/op\n"
	if _, err := Read(strings.NewReader(good), "good.txt"); err != nil {
		t.Fatalf("complete file: %v", err)
	}
	for _, cut := range []string{"BenchmarkFloor/place=smt-2", "BenchmarkFloor/place=smt-2 \t 1000\n"} {
		_, err := Read(strings.NewReader(good+cut), "cut.txt")
		if err == nil || !strings.Contains(err.Error(), "cut.txt:3") || strings.Contains(err.Error(), "samples") {
			t.Errorf("file ending %q: error %v; want one naming cut.txt:3", cut, err)
		}
	}
}

// A Thresholds field at zero or below takes its default, Alpha for the
// tables too: a negative Alpha must not make every table comparison "~"
// while the recommendations judge at 0.05.
func TestNegativeAlphaIsTheDefault(t *testing.T) {
	run := mustRead(t, "vm.txt")
	_, want := markdownOf(t, run, Options{})
	_, got := markdownOf(t, run, Options{Thresholds: Thresholds{Alpha: -1}})
	if got != want {
		t.Errorf("report with Alpha -1 differs from the default's:\n%s", got)
	}
}

// TestMarkdownShowsPlainText: report.md shows a ">" in its prose as ">",
// not "&gt;" (issue 20, item 10), and escapes only what Markdown would
// read as markup: emphasis, HTML, a block quote, a table cell's end.
func TestMarkdownShowsPlainText(t *testing.T) {
	r := &Report{Title: "t",
		Recommendations: []Recommendation{{Topic: TopicPlacement, Withheld: true,
			Summary:  "Placement: no recommendation; llc and node are not significantly different (p=0.818 n=6 > alpha 0.05).",
			Evidence: []string{"> quoted", "a <b>bold</b> claim, a < b", "x | y *z* a_b"}}},
		Warnings: []Warning{{WarnUnstable, "unstable", "cells 0->1 from 324 to 607 ns"}},
	}
	var b strings.Builder
	if err := r.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{"(p=0.818 n=6 > alpha 0.05)", "0->1 from", `  - \> quoted`, `a \<b>bold\</b> claim, a < b`, `x \| y \*z\* a\_b`} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "&gt;") || strings.Contains(md, "&lt;") {
		t.Errorf("report.md escapes plain text as HTML entities:\n%s", md)
	}
}

// TestReadErrorNamesFileOnce: the error for a malformed or unreadable
// line names the file once, with the line (issue 20, item 15).
func TestReadErrorNamesFileOnce(t *testing.T) {
	good := "machine: test\nBenchmarkFloor/place=llc-2 \t 1000 \t 35.0 ns/op\n"
	for _, c := range []struct{ tail, want string }{
		{"BenchmarkFloor/place=smt-2 \t 1000 \t 3", "cut.txt:3: malformed results file: "},
		{"BenchmarkFloor/place=smt-2 \t 1000 \t abc ns/op\n", "cut.txt:3: malformed results file: "},
		{"BenchmarkFloor/place=smt-2 \t 1000 \t 35.0 " + strings.Repeat("x", 70000), "cut.txt:3: "},
	} {
		_, err := Read(strings.NewReader(good+c.tail), "cut.txt")
		if err == nil || !strings.HasPrefix(err.Error(), c.want) || strings.Count(err.Error(), "cut.txt") != 1 {
			t.Errorf("file ending %.40q: error %v; want one starting %q and naming cut.txt once", c.tail, err, c.want)
		}
	}
}
