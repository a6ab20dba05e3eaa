package benchtab

import (
	"bytes"
	"encoding/csv"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/perf/benchfmt"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from `go tool benchstat`")

// The inputs are report's synthetic raw files (report/testdata/gen.go
// writes them); the tests read them from that folder, as report's tests
// do, so that benchstat labels the columns "testdata/bare.txt" there and
// in the golden output alike.
const inputs = "../../report"

// readTables reads files (relative to inputs, the current directory
// inside a test that called enterInputs) and builds their tables.
func readTables(t *testing.T, opts Options, paths ...string) *Tables {
	t.Helper()
	b, err := NewBuilder(opts)
	if err != nil {
		t.Fatal(err)
	}
	files := benchfmt.Files{Paths: paths}
	for files.Scan() {
		switch rec := files.Result().(type) {
		case *benchfmt.SyntaxError:
			t.Fatal(rec)
		case *benchfmt.Result:
			b.Add(rec)
		}
	}
	if err := files.Err(); err != nil {
		t.Fatal(err)
	}
	ts, err := b.ToTables(files.Units())
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// enterInputs makes inputs the current directory for the rest of the
// test and returns the absolute path of this package's golden folder.
func enterInputs(t *testing.T) string {
	t.Helper()
	golden, err := filepath.Abs(filepath.Join("testdata", "golden"))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(inputs)
	return golden
}

// bsTable is one table parsed from `benchstat -format csv`.
type bsTable struct {
	cols []string
	unit string
	rows []bsRow
}

type bsRow struct {
	label string
	cells []string // raw CSV fields after the label
}

// parseBenchstatCSV parses benchstat's CSV output into tables.
func parseBenchstatCSV(t *testing.T, data []byte) []bsTable {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("parsing benchstat csv: %v", err)
	}
	var out []bsTable
	var cur *bsTable
	var colRow []string
	for _, rec := range recs {
		switch {
		case len(rec) == 1: // table key line or blank separator
			continue
		case rec[0] == "" && len(rec) > 2 && rec[2] == "CI":
			out = append(out, bsTable{unit: rec[1]})
			cur = &out[len(out)-1]
			for k := 1; k < len(colRow); k++ {
				if k == 1 || (k-3)%4 == 0 {
					cur.cols = append(cur.cols, colRow[k])
				}
			}
		case rec[0] == "":
			colRow = rec
		case cur != nil:
			cur.rows = append(cur.rows, bsRow{rec[0], rec[1:]})
			if rec[0] == "geomean" {
				cur = nil
			}
		}
	}
	return out
}

// field returns CSV field k of row (after the label), "" when absent.
func field(cells []string, k int) string {
	if k < len(cells) {
		return cells[k]
	}
	return ""
}

// compareWithBenchstat checks every median, CI, delta and p/n note of ours
// against benchstat's CSV figures.
func compareWithBenchstat(t *testing.T, ours *Tables, theirs []bsTable) {
	t.Helper()
	if len(ours.Tables) != len(theirs) {
		t.Fatalf("got %d tables, benchstat printed %d", len(ours.Tables), len(theirs))
	}
	checked := 0
	for ti, tb := range ours.Tables {
		bs := theirs[ti]
		if tb.Unit != bs.unit {
			t.Errorf("table %d: unit %q, benchstat %q", ti, tb.Unit, bs.unit)
			continue
		}
		if strings.Join(tb.Cols, "|") != strings.Join(bs.cols, "|") {
			t.Errorf("table %d (%s): columns %q, benchstat %q", ti, tb.Unit, tb.Cols, bs.cols)
			continue
		}
		if len(bs.rows) != len(tb.Rows)+1 {
			t.Errorf("table %d (%s): %d rows, benchstat %d (+geomean)", ti, tb.Unit, len(tb.Rows), len(bs.rows))
			continue
		}
		for i, label := range tb.Rows {
			row := bs.rows[i]
			if row.label != label {
				t.Errorf("table %d row %d: %q, benchstat %q", ti, i, label, row.label)
				continue
			}
			for j := range tb.Cols {
				k := 0
				if j > 0 {
					k = 2 + (j-1)*4
				}
				c := tb.Cells[i][j]
				if c == nil {
					if field(row.cells, k) != "" {
						t.Errorf("%s %s [%s]: empty here, benchstat %q", tb.Unit, label, tb.Cols[j], field(row.cells, k))
					}
					continue
				}
				want, err := strconv.ParseFloat(field(row.cells, k), 64)
				if err != nil {
					t.Errorf("%s %s [%s]: benchstat median %q: %v", tb.Unit, label, tb.Cols[j], field(row.cells, k), err)
					continue
				}
				if c.Summary.Center != want {
					t.Errorf("%s %s [%s]: median %v, benchstat %v", tb.Unit, label, tb.Cols[j], c.Summary.Center, want)
				}
				if got, want := c.CI(), field(row.cells, k+1); got != want {
					t.Errorf("%s %s [%s]: ±%s, benchstat ±%s", tb.Unit, label, tb.Cols[j], got, want)
				}
				if j > 0 && c.Baseline != nil {
					if got, want := c.Delta(), field(row.cells, k+2); got != want {
						t.Errorf("%s %s [%s]: vs base %s, benchstat %s", tb.Unit, label, tb.Cols[j], got, want)
					}
					if got, want := c.PN(), field(row.cells, k+3); got != want {
						t.Errorf("%s %s [%s]: %s, benchstat %s", tb.Unit, label, tb.Cols[j], got, want)
					}
				}
				checked++
			}
		}
		// The geomean row.
		gm := bs.rows[len(bs.rows)-1].cells
		for j, s := range tb.Geomean {
			k := 0
			if j > 0 {
				k = 2 + (j-1)*4
			}
			if s.HasSummary && !sameGeomean(s.Summary, field(gm, k)) {
				t.Errorf("%s geomean [%s]: %v, benchstat %s", tb.Unit, tb.Cols[j], s.Summary, field(gm, k))
			}
			if j > 0 {
				want := "?"
				if s.HasRatio {
					want = fmt.Sprintf("%+.2f%%", (s.Ratio-1)*100)
				}
				if got := field(gm, k+2); got != want {
					t.Errorf("%s geomean ratio [%s]: %s, benchstat %s", tb.Unit, tb.Cols[j], want, got)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no cells compared")
	}
}

// sameGeomean reports whether a geomean equals benchstat's printed one to
// within a few units in the last place: the golden output was captured on
// amd64, and on arm64 the compiler fuses multiply-adds in math.Log and
// math.Exp (the Go spec allows it), which moves the last bits (seen in the
// topology lab's arm64 guest: 5.334866944188327e-06 against benchstat's
// 5.3348669441883275e-06).
func sameGeomean(got float64, want string) bool {
	w, err := strconv.ParseFloat(want, 64)
	if err != nil {
		return false
	}
	return got == w || math.Abs(got-w) <= 1e-14*math.Abs(w)
}

var benchstatCases = []struct {
	name  string
	files []string
	opts  Options
}{
	{"bare-place", []string{"bare.txt"}, Options{Col: "/place"}},
	{"bare-via", []string{"bare.txt"}, Options{Col: "/via", Filter: ".name:Handoff"}},
	{"bare-wait", []string{"bare.txt"}, Options{Col: "/wait", Filter: "/via:aio"}},
	{"bare-pad", []string{"bare.txt"}, Options{Col: "/pad", Filter: "/impl:mpsc"}},
	{"bare-pollmax", []string{"bare.txt"}, Options{Col: "/pollmax", Row: ".name /rate", Filter: "/wait:adaptive /pollmax:/./"}},
	{"vm-place", []string{"vm.txt"}, Options{Col: "/place"}},
	{"few-place", []string{"few.txt"}, Options{Col: "/place"}},
	{"nosig-place", []string{"nosig.txt"}, Options{Col: "/place", Row: ".fullname", Table: NoKey}},
	{"files", []string{"few.txt", "nosig.txt"}, Options{Table: "goos", Ignore: ".config"}},
	{"gotest", []string{"gotest.txt"}, Options{Col: "/n"}},
	// report.CompareOptions: two machines side by side.
	{"compare", []string{"bare.txt", "vm.txt"}, Options{Table: "/place", Row: ".fullname", Col: ".file", Ignore: ".config /gomaxprocs"}},
}

// TestTablesMatchBenchstat compares our tables with benchstat's output for
// the same files and flags: from a live `go tool benchstat` when it runs
// here, and always from the golden output captured from it.
func TestTablesMatchBenchstat(t *testing.T) {
	goldenDir := enterInputs(t)
	for _, tc := range benchstatCases {
		t.Run(tc.name, func(t *testing.T) {
			var paths []string
			for _, f := range tc.files {
				paths = append(paths, filepath.Join("testdata", f))
			}
			ours := readTables(t, tc.opts, paths...)
			golden := filepath.Join(goldenDir, tc.name+".csv")
			live := runBenchstat(t, tc.opts, paths)
			if live != nil {
				compareWithBenchstat(t, ours, parseBenchstatCSV(t, live))
				if *update {
					if err := os.WriteFile(golden, live, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			data, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("golden output (run go test ./internal/benchtab -update): %v", err)
			}
			compareWithBenchstat(t, ours, parseBenchstatCSV(t, data))
		})
	}
}

// runBenchstat runs `go tool benchstat -format csv` with opts' flags, or
// returns nil when the go command or the tool is not available.
func runBenchstat(t *testing.T, opts Options, paths []string) []byte {
	t.Helper()
	if testing.Short() {
		return nil
	}
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Log("go command not found; using golden output only")
		return nil
	}
	args := append([]string{"tool", "benchstat", "-format", "csv"}, opts.Args()...)
	cmd := exec.Command(gocmd, append(args, paths...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Logf("go tool benchstat unavailable (%v: %s); using golden output only", err, stderr.String())
		return nil
	}
	return out
}

// TestTextMatchesBenchstat checks that the medians and deltas in our text
// rendering are the strings benchstat's text output shows.
func TestTextMatchesBenchstat(t *testing.T) {
	enterInputs(t)
	opts := Options{Col: "/place", Filter: ".name:Floor .unit:sec/op"}
	ours := readTables(t, opts, "testdata/bare.txt")
	var buf bytes.Buffer
	if err := ours.WriteText(&buf, RenderOptions{HideKeys: true}); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	for _, want := range []string{"21.71n ± 1%", "59.82n ± 4%", "+175.56% (p=0.000 n=10)", "137.60n ± 4%"} {
		if !strings.Contains(text, want) {
			t.Errorf("text table lacks %q:\n%s", want, text)
		}
	}
	if testing.Short() {
		return
	}
	cmd := exec.Command("go", append(append([]string{"tool", "benchstat"}, opts.Args()...), "testdata/bare.txt")...)
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("go tool benchstat: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "Floor") {
			continue
		}
		ourLine := ""
		for _, l := range strings.Split(text, "\n") {
			if strings.HasPrefix(l, "Floor") {
				ourLine = l
			}
		}
		if strings.Join(strings.Fields(line), " ") != strings.Join(strings.Fields(ourLine), " ") {
			t.Errorf("row differs:\nbenchstat: %s\nours:      %s", line, ourLine)
		}
	}
}

func TestMarkdownTable(t *testing.T) {
	enterInputs(t)
	ts := readTables(t, Options{Col: "/n"}, "testdata/gotest.txt")
	var buf bytes.Buffer
	if err := ts.WriteMarkdown(&buf, RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	for _, want := range []string{"`goos: linux`", "| benchmark | 16 sec/op | 256 sec/op | vs base |", "| --- | ---: | ---: | ---: |", "| Sort-2 |"} {
		if !strings.Contains(s, want) {
			t.Errorf("markdown lacks %q:\n%s", want, s)
		}
	}
}

// TestEscapeMarkdown: text in a Markdown table cell or line keeps its
// characters except where Markdown would read markup.
func TestEscapeMarkdown(t *testing.T) {
	for in, want := range map[string]string{
		"p=0.818 n=6 > alpha":   "p=0.818 n=6 > alpha",
		"> at the start":        `\> at the start`,
		"one\n  > two":          "one\n  \\> two",
		"a < b, <b>, </i>, <!x": `a < b, \<b>, \</i>, \<!x`,
		"a|b *c* d_e":           `a\|b \*c\* d\_e`,
		"0->1":                  "0->1",
	} {
		if got := EscapeMarkdown(in); got != want {
			t.Errorf("EscapeMarkdown(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPrintable: labels with control characters or bad UTF-8 are quoted,
// others shown as they are.
func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"results/a b": "results/a b", "µs": "µs", "two\nlines": `"two\nlines"`, "a\tb": `"a\tb"`, "\xff": `"\xff"`,
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %s, want %s", in, got, want)
		}
	}
}
