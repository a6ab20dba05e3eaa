package report

import (
	"bytes"
	"fmt"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeVMMatrix is a 16-CPU virtual machine that declares 16 separate cores
// sharing one LLC, where CPUs 2-3 and 8-9 are in fact host SMT siblings
// (~27 ns against ~100 ns) and the pair 5-12 is unstable between
// repetitions (27 ns in some, 100+ ns in others).
func fakeVMMatrix() *Matrix {
	cpus := make([]int, 16)
	for i := range cpus {
		cpus[i] = i
	}
	m := NewMatrix(cpus)
	rng := rand.New(rand.NewPCG(9, 9))
	sib := func(a, b int) bool {
		return (a == 2 && b == 3) || (a == 3 && b == 2) || (a == 8 && b == 9) || (a == 9 && b == 8)
	}
	for _, a := range cpus {
		for _, b := range cpus {
			if a == b {
				continue
			}
			base := 95 + 10*rng.Float64()
			if sib(a, b) {
				base = 27
			}
			var s []float64
			for k := range 7 {
				v := base * (1 + 0.04*rng.NormFloat64())
				if (a == 5 && b == 12) || (a == 12 && b == 5) {
					v = []float64{27, 110, 28, 120, 26, 105, 30}[k]
				}
				s = append(s, v)
			}
			m.Set(a, b, s...)
		}
	}
	m.Classify(func(a, b int) string {
		if a == b {
			return "samecpu"
		}
		return "llc"
	})
	return m
}

// bareMatrix is a 2-socket machine, 4 cores with SMT per socket, ordered by
// topology: CPUs 0-3 and 8-11 on socket 0 (siblings i and i+8), 4-7 and
// 12-15 on socket 1.
func bareMatrix() *Matrix {
	order := []int{0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15}
	m := NewMatrix(order)
	socket := func(c int) int { return (c % 8) / 4 }
	rel := func(a, b int) string {
		switch {
		case a == b:
			return "samecpu"
		case a%8 == b%8:
			return "smt"
		case socket(a) == socket(b):
			return "llc"
		}
		return "remote"
	}
	rng := rand.New(rand.NewPCG(5, 5))
	for _, a := range order {
		for _, b := range order {
			base := map[string]float64{"smt": 22, "llc": 62, "remote": 135}[rel(a, b)]
			if a == b {
				continue
			}
			var s []float64
			for range 7 {
				s = append(s, base*(1+0.05*rng.NormFloat64()))
			}
			m.Set(a, b, s...)
		}
	}
	m.Classify(rel)
	return m
}

func TestMatrixCSVRoundTrip(t *testing.T) {
	for _, m := range []*Matrix{fakeVMMatrix(), bareMatrix()} {
		var buf bytes.Buffer
		if err := m.WriteCSV(&buf); err != nil {
			t.Fatal(err)
		}
		got, err := ReadCSV(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if !equalInts(got.CPUs, m.CPUs) {
			t.Fatalf("CPUs %v, want %v", got.CPUs, m.CPUs)
		}
		for i := range m.CPUs {
			for j := range m.CPUs {
				a, b := m.NS[i][j], got.NS[i][j]
				if math.IsNaN(a) != math.IsNaN(b) || (!math.IsNaN(a) && math.Abs(a-b) > 0.05) {
					t.Errorf("cell %d,%d: read %v, wrote %v", m.CPUs[i], m.CPUs[j], b, a)
				}
			}
		}
		// Writing what was read gives the same bytes.
		var again bytes.Buffer
		got.WriteCSV(&again)
		if again.String() != buf.String() {
			t.Errorf("second write differs:\n%s\nvs\n%s", again.String(), buf.String())
		}
		if !strings.HasPrefix(buf.String(), "cpu,") || !strings.Contains(strings.Split(buf.String(), "\n")[1], ",,") {
			t.Errorf("grid CSV should start with a cpu header and leave the diagonal empty:\n%s", buf.String()[:80])
		}
	}
}

func TestMatrixLongCSVRoundTrip(t *testing.T) {
	m := fakeVMMatrix()
	var buf bytes.Buffer
	if err := m.WriteLongCSV(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := ReadLongCSV(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !equalInts(got.CPUs, m.CPUs) {
		t.Fatalf("CPUs %v, want %v", got.CPUs, m.CPUs)
	}
	for i := range m.CPUs {
		for j := range m.CPUs {
			if i == j {
				continue
			}
			if got.NS[i][j] != m.NS[i][j] || got.Class[i][j] != m.Class[i][j] ||
				len(got.Samples[i][j]) != len(m.Samples[i][j]) {
				t.Fatalf("cell %d,%d differs", i, j)
			}
			for k := range m.Samples[i][j] {
				if got.Samples[i][j][k] != m.Samples[i][j][k] {
					t.Fatalf("cell %d,%d sample %d differs", i, j, k)
				}
			}
		}
	}
}

func TestMatrixBadCSV(t *testing.T) {
	for name, in := range map[string]string{
		"empty":        "",
		"bad header":   "cpu,0,x\n0,,1\n",
		"row count":    "cpu,0,1\n0,,5\n",
		"row order":    "cpu,0,1\n1,,5\n0,5,\n",
		"bad value":    "cpu,0,1\n0,,abc\n1,5,\n",
		"negative":     "cpu,0,1\n0,,-3\n1,5,\n",
		"short row":    "cpu,0,1\n0,\n1,5,\n",
		"quoted break": "cpu,0,1\n0,\"\n",
	} {
		if _, err := ReadCSV(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := ReadLongCSV(strings.NewReader("a,b\n")); err == nil {
		t.Error("long form without header: no error")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "m.csv")
	os.WriteFile(p, []byte("cpu,0,1\n0,,oops\n1,5,\n"), 0o644)
	if _, err := ReadMatrixFile(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("error %v does not name the file", err)
	}
}

func TestHeatMap(t *testing.T) {
	for name, m := range map[string]*Matrix{"vm": fakeVMMatrix(), "bare": bareMatrix()} {
		var svg, pngBuf bytes.Buffer
		if err := m.WriteSVG(&svg); err != nil {
			t.Fatal(err)
		}
		if err := m.WritePNG(&pngBuf); err != nil {
			t.Fatal(err)
		}
		s := svg.String()
		if !strings.HasPrefix(s, "<svg") || !strings.HasSuffix(s, "</svg>\n") {
			t.Errorf("%s: not an SVG document", name)
		}
		if n := strings.Count(s, `stroke="#e61e50"`); n == 0 {
			t.Errorf("%s: no class outlines", name)
		}
		img, err := png.Decode(bytes.NewReader(pngBuf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		l := m.layout()
		if img.Bounds().Dx() != l.width || img.Bounds().Dy() != l.height {
			t.Errorf("%s: PNG %v, layout %dx%d", name, img.Bounds(), l.width, l.height)
		}
		// The fastest cell is dark, the slowest bright.
		if *update {
			os.WriteFile(filepath.Join("testdata", "heatmap-"+name+".svg"), svg.Bytes(), 0o644)
			os.WriteFile(filepath.Join("testdata", "heatmap-"+name+".png"), pngBuf.Bytes(), 0o644)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A matrix whose pairs all measured the same (a 2-CPU machine has one pair)
// gets one colour-bar label, not five copies of it; a narrow range gets
// decimals so that its labels differ.
func TestHeatMapLegendLabels(t *testing.T) {
	legend := func(m *Matrix) []string {
		var svg bytes.Buffer
		if err := m.WriteSVG(&svg); err != nil {
			t.Fatal(err)
		}
		var labels []string
		for _, line := range strings.Split(svg.String(), "\n") {
			// Legend labels sit right of the bar, at legendX+23.
			if strings.Contains(line, fmt.Sprintf(`x="%d"`, m.layout().legendX+23)) {
				labels = append(labels, line[strings.Index(line, ">")+1:strings.LastIndex(line, "<")])
			}
		}
		return labels
	}
	one := NewMatrix([]int{0, 1})
	one.Set(0, 1, 36.3)
	one.Set(1, 0, 36.3)
	if got := legend(one); len(got) != 1 || got[0] != "36" {
		t.Errorf("one value: legend labels %q, want one \"36\"", got)
	}
	narrow := NewMatrix([]int{0, 1})
	narrow.Set(0, 1, 36.1)
	narrow.Set(1, 0, 37.3)
	if got := legend(narrow); len(got) != 5 || got[0] != "36.1" || got[4] != "37.3" {
		t.Errorf("narrow range: legend labels %q, want five from 36.1 to 37.3", got)
	}
}

// The text form names its unit and the repetitions behind each cell, and
// lists each pair's spread (p10-p90, min-max), which the unstable-cell
// warning reads too.
func TestMatrixTextSpread(t *testing.T) {
	m := NewMatrix([]int{0, 1})
	m.Classify(func(a, b int) string { return "llc" })
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
	if _, ok := kinds((Options{}).MatrixWarnings(m, nil))["unstable"]; !ok {
		t.Error("no unstable warning for a cell from 30 to 90 ns")
	}
}
