package matrix_test

import (
	"bytes"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/matrixtest"
	"github.com/pinbench/pinbench/matrix"
)

// roundTrip writes m with write, reads it back with read, checks the CPUs
// came back in order and that writing what was read gives the same bytes,
// and returns what was read and the first write.
func roundTrip(t *testing.T, m *matrix.Matrix, write func(*matrix.Matrix, io.Writer) error, read func(io.Reader) (*matrix.Matrix, error)) (*matrix.Matrix, string) {
	t.Helper()
	var buf, again bytes.Buffer
	if err := write(m, &buf); err != nil {
		t.Fatal(err)
	}
	got, err := read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.CPUs, m.CPUs) {
		t.Fatalf("CPUs %v, want %v", got.CPUs, m.CPUs)
	}
	if err := write(got, &again); err != nil {
		t.Fatal(err)
	}
	if again.String() != buf.String() {
		t.Errorf("second write differs:\n%s\nvs\n%s", again.String(), buf.String())
	}
	return got, buf.String()
}

func TestCSVRoundTrip(t *testing.T) {
	for _, m := range []*matrix.Matrix{matrixtest.FakeVM(), matrixtest.Bare()} {
		got, text := roundTrip(t, m, (*matrix.Matrix).WriteCSV, matrix.ReadCSV)
		for i := range m.CPUs {
			for j := range m.CPUs {
				a, b := m.NS[i][j], got.NS[i][j]
				if math.IsNaN(a) != math.IsNaN(b) || (!math.IsNaN(a) && math.Abs(a-b) > 0.05) {
					t.Errorf("cell %d,%d: read %v, wrote %v", m.CPUs[i], m.CPUs[j], b, a)
				}
			}
		}
		if !strings.HasPrefix(text, "cpu,") || !strings.Contains(strings.Split(text, "\n")[1], ",,") {
			t.Errorf("grid CSV should start with a cpu header and leave the diagonal empty:\n%s", text[:80])
		}
	}
}

// The long form keeps every sample and class exactly.
func TestLongCSVRoundTrip(t *testing.T) {
	m := matrixtest.FakeVM()
	got, _ := roundTrip(t, m, (*matrix.Matrix).WriteLongCSV, matrix.ReadLongCSV)
	for i := range m.CPUs {
		for j := range m.CPUs {
			if i == j {
				continue
			}
			if got.NS[i][j] != m.NS[i][j] || got.Class[i][j] != m.Class[i][j] ||
				!slices.Equal(got.Samples[i][j], m.Samples[i][j]) {
				t.Fatalf("cell %d,%d differs", i, j)
			}
		}
	}
}

// Bad input fails with an error that says where and what: the line, and the
// header column or CPU whose field is wrong.
func TestBadCSV(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "latency matrix: empty file"},
		{"bad header", "cpu,0,x\n0,,1\n", `header column 3: CPU id "x" is not a number`},
		{"row count", "cpu,0,1\n0,,5\n", "2 CPUs in the header but 1 rows"},
		{"row order", "cpu,0,1\n1,,5\n0,5,\n", `line 2: row CPU "1", want 0`},
		{"bad value", "cpu,0,1\n0,,abc\n1,5,\n", `line 2, CPU 1: latency "abc" is not a non-negative number`},
		{"negative", "cpu,0,1\n0,,1\n1,-3,\n", `line 3, CPU 0: latency "-3" is not a non-negative number`},
		{"infinite", "cpu,0,1\n0,,inf\n1,5,\n", `line 2, CPU 1: latency "inf"`},
		{"short row", "cpu,0,1\n0,\n1,5,\n", "line 2: 2 cells, want 3"},
		{"quoted break", "cpu,0,1\n0,\"\n", "line 2"},
		// A CPU named twice would make its cells ambiguous (At finds the first).
		{"repeated cpu", "cpu,0,1,0\n0,,5,\n1,5,,5\n0,,5,\n", "header column 4: CPU 0 repeats column 2"},
	} {
		_, err := matrix.ReadCSV(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
	for _, tc := range []struct{ name, in, want string }{
		{"no header", "a,b,c,d,e\n", `missing header "from,to,class,median_ns,samples_ns"`},
		{"field count", "from,to,class,median_ns,samples_ns\n0,1,llc,5\n", "record on line 2: wrong number of fields"},
		{"bad cpu", "from,to,class,median_ns,samples_ns\n0,1,llc,5,5\nx,0,llc,5,5\n", `line 3: malformed row "x,0,llc,5,5"`},
		{"negative median", "from,to,class,median_ns,samples_ns\n0,1,llc,-5,5\n", `line 2: malformed row`},
		{"bad sample", "from,to,class,median_ns,samples_ns\n0,1,llc,5,5 x\n", `line 2: sample "x" is not a non-negative number`},
		// The grid form refuses these; so does the long one.
		{"NaN median", "from,to,class,median_ns,samples_ns\n0,1,llc,NaN,5\n", `line 2: malformed row`},
		{"infinite median", "from,to,class,median_ns,samples_ns\n0,1,llc,+Inf,5\n", `line 2: malformed row`},
		{"negative sample", "from,to,class,median_ns,samples_ns\n0,1,llc,5,5 -1\n", `line 2: sample "-1" is not a non-negative number`},
		{"infinite sample", "from,to,class,median_ns,samples_ns\n0,1,llc,5,Inf\n", `line 2: sample "Inf" is not a non-negative number`},
		// A pair given twice would keep the last row silently.
		{"repeated pair", "from,to,class,median_ns,samples_ns\n0,1,llc,5,5\n1,0,llc,5,5\n0,1,llc,7,7\n", "line 4: pair 0->1 repeats line 2"},
		// A quoted field may span lines: the error names the row's own line.
		{"after a two-line row", "from,to,class,median_ns,samples_ns\n0,1,llc,5,\"5\n6\"\n1,0,llc,x,5\n", "line 4: malformed row"},
	} {
		_, err := matrix.ReadLongCSV(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("long %s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "m.csv")
	os.WriteFile(p, []byte("cpu,0,1\n0,,oops\n1,5,\n"), 0o644)
	if _, err := matrix.ReadFile(p); err == nil || !strings.Contains(err.Error(), p+": latency matrix: line 2, CPU 1") {
		t.Errorf("error %v does not name the file, line and CPU", err)
	}
	long := filepath.Join(dir, "long.csv")
	os.WriteFile(long, []byte("from,to,class,median_ns,samples_ns\n0,1,llc,5,5 x\n"), 0o644)
	if _, err := matrix.ReadFile(long); err == nil || !strings.Contains(err.Error(), long+": latency matrix: line 2: sample") {
		t.Errorf("long form: error %v does not name the file and line", err)
	}
	if _, err := matrix.ReadFile(filepath.Join(dir, "absent.csv")); err == nil || !strings.Contains(err.Error(), "absent.csv") {
		t.Errorf("missing file: error %v does not name it", err)
	}
}

// The text form names its unit and the repetitions behind each cell, and
// lists each pair's spread (p10-p90, min-max).
func TestTextSpread(t *testing.T) {
	m := matrix.New([]int{0, 1})
	m.Classify(func(a, b int) affinity.Class { return affinity.LLC })
	m.Set(0, 1, 30, 31, 32, 33, 90)
	m.Set(1, 0, 30, 31, 32, 33, 90)
	var b strings.Builder
	if err := m.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"One-way cache-line latency in ns", "the median of 5 repetitions per pair", "p10-p90", "0-1   llc    32      30-67    30-90    5"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
}

// A matrix read from the grid form knows only medians: its text is the
// table alone, with no spread section (and no panic on the absent samples).
func TestTextGridOnly(t *testing.T) {
	m, err := matrix.ReadCSV(strings.NewReader("cpu,0,1\n0,,31.0\n1,32.0,\n"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := m.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "the median of the repetitions per pair") || strings.Contains(b.String(), "Spread") {
		t.Errorf("text of a grid-form matrix:\n%s", b.String())
	}
}
