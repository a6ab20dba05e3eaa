package matrix_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/testcheck"
	"github.com/pinbench/pinbench/matrix"
)

// chain is a long-form matrix of n+1 CPUs, first to first+n, each row
// naming a new one: a few bytes a CPU (issue 20, item 5).
func chain(first, n int) string {
	var b strings.Builder
	b.WriteString("from,to,class,median_ns,samples_ns\n")
	for c := first; c < first+n; c++ {
		fmt.Fprintf(&b, "%d,%d,,5,\n", c, c+1)
	}
	return b.String()
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Without a topology, a CPU id at or above MaxCPUs is refused with the line
// and the id, before the matrix is allocated: a small file cannot make the
// reader allocate a matrix of more than MaxCPUs squared cells.
func TestReadRefusesCPUsBeyondMaxCPUs(t *testing.T) {
	in := chain(matrix.MaxCPUs-10, 100) // line 11 names CPU MaxCPUs
	var err error
	n := testcheck.HeapBytes(func() { _, err = matrix.ReadLongCSV(strings.NewReader(in)) })
	want := fmt.Sprintf("line 11: CPU %d is outside 0-%d", matrix.MaxCPUs, matrix.MaxCPUs-1)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("long form: error %v, want it to contain %q", err, want)
	}
	if n > 1<<20 {
		t.Errorf("refusing a %d-byte file allocated %d bytes", len(in), n)
	}
	for _, tc := range []struct{ name, in, want string }{
		{"grid header", "cpu,0,5000\n0,,1\n5000,1,\n", "line 1, header column 3: CPU 5000 is outside"},
		{"grid negative", "cpu,0,-1\n0,,1\n-1,1,\n", "line 1, header column 3: CPU -1 is outside"},
	} {
		if _, err := matrix.ReadCSV(strings.NewReader(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
	if _, err := matrix.ReadLongCSV(strings.NewReader("from,to,class,median_ns,samples_ns\n0,-3,,5,\n")); err == nil ||
		!strings.Contains(err.Error(), "line 2: CPU -3 is outside") {
		t.Errorf("long negative: error %v", err)
	}
}

// With the topology's CPUs, an id outside them is refused with the file,
// the line and the id, however small the id; ids inside are read.
func TestReadFileInRefusesForeignCPUs(t *testing.T) {
	two := affinity.NewCPUSet(0, 1)
	long := writeFile(t, "matrix-samples.csv", "from,to,class,median_ns,samples_ns\n0,1,smt,5,5\n1,0,smt,5,5\n0,999,,5,5\n")
	var err error
	n := testcheck.HeapBytes(func() { _, err = matrix.ReadFileIn(long, two) })
	want := long + ": latency matrix: line 4: CPU 999 is not among the topology's CPUs 0-1"
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	if n > 1<<20 {
		t.Errorf("refusing allocated %d bytes", n)
	}
	grid := writeFile(t, "matrix.csv", "cpu,0,2\n0,,5\n2,5,\n")
	if _, err := matrix.ReadFileIn(grid, two); err == nil || !strings.Contains(err.Error(), grid+": latency matrix: line 1, header column 3: CPU 2 is not among") {
		t.Errorf("grid: error %v", err)
	}
	// The file: a chain of 1000 CPUs, refused on a 2-CPU machine.
	hostile := writeFile(t, "chain.csv", chain(0, 1000))
	n = testcheck.HeapBytes(func() { _, err = matrix.ReadFileIn(hostile, two) })
	if err == nil || !strings.Contains(err.Error(), "line 3: CPU 2 is not among") || n > 1<<20 {
		t.Errorf("chain: error %v after %d bytes", err, n)
	}
	m, err := matrix.ReadFileIn(grid, affinity.NewCPUSet(0, 2, 3))
	if err != nil || m.At(0, 2) != 5 {
		t.Errorf("CPUs within the topology: %v, %v", m, err)
	}
}

// A matrix is sized by the CPUs it names, not by their largest id: CPUs 0
// and 999 make a 2x2 matrix.
func TestSparseCPUIDs(t *testing.T) {
	in := "from,to,class,median_ns,samples_ns\n0,999,,5,5\n999,0,,6,6\n"
	var m *matrix.Matrix
	var err error
	n := testcheck.HeapBytes(func() { m, err = matrix.ReadLongCSV(strings.NewReader(in)) })
	if err != nil || len(m.CPUs) != 2 || len(m.NS) != 2 || len(m.NS[0]) != 2 || m.At(999, 0) != 6 {
		t.Fatalf("matrix %+v, error %v", m, err)
	}
	if n > 64<<10 {
		t.Errorf("reading 2 CPUs allocated %d bytes", n)
	}
}

// The long form's class column holds a placement class or nothing: any
// other text is refused, since the heat map's legend lists every class.
func TestReadRefusesUnknownClass(t *testing.T) {
	in := "from,to,class,median_ns,samples_ns\n0,1,smt,5,5\n1,0," + strings.Repeat("x", 5000) + ",5,5\n"
	_, err := matrix.ReadLongCSV(strings.NewReader(in))
	if err == nil || !strings.Contains(err.Error(), `line 3: class "xxxx`) || !strings.Contains(err.Error(), "is not a placement class") || len(err.Error()) > 300 {
		t.Errorf("error %v", err)
	}
}

// ReadFile reads regular files only, of at most MaxFileBytes: a device or
// a FIFO named by mistake is refused at once instead of read without end.
func TestReadFileRefusesNonRegularAndHuge(t *testing.T) {
	if _, err := os.Stat("/dev/null"); err == nil {
		if _, err := matrix.ReadFile("/dev/null"); err == nil || !strings.Contains(err.Error(), "/dev/null: not a regular file") {
			t.Errorf("/dev/null: error %v", err)
		}
	}
	p := filepath.Join(t.TempDir(), "huge.csv")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("cpu,0\n")
	if err := f.Truncate(matrix.MaxFileBytes + 1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	f.Close()
	n := testcheck.HeapBytes(func() { _, err = matrix.ReadFile(p) })
	if err == nil || !strings.Contains(err.Error(), p+": larger than") || n > 1<<20 {
		t.Errorf("huge file: error %v after %d bytes", err, n)
	}
}
