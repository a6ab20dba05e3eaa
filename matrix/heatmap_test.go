package matrix_test

import (
	"bytes"
	"flag"
	"fmt"
	"image/color"
	"image/png"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/internal/matrixtest"
	"github.com/pinbench/pinbench/internal/testcheck"
	"github.com/pinbench/pinbench/matrix"
)

var update = flag.Bool("update", false, "rewrite the heat map goldens in testdata")

// The heat maps of the two fixtures, and of a sampled matrix (that of
// lab/results/big16/quick, three quarters of its cells unmeasured), are
// pinned byte for byte; a change that alters them on purpose regenerates
// them with go test ./matrix -update and commits the images after looking
// at them.
func TestHeatMapGolden(t *testing.T) {
	sampled, err := matrix.ReadFile(filepath.Join("testdata", "sampled.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]*matrix.Matrix{"vm": matrixtest.FakeVM(), "bare": matrixtest.Bare(), "sampled": sampled} {
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
		w, h := matrix.Size(m)
		if img.Bounds().Dx() != w || img.Bounds().Dy() != h {
			t.Errorf("%s: PNG %v, layout %dx%d", name, img.Bounds(), w, h)
		}
		if !strings.Contains(s, fmt.Sprintf(`width="%d" height="%d"`, w, h)) {
			t.Errorf("%s: SVG size is not the layout's %dx%d", name, w, h)
		}
		for ext, got := range map[string][]byte{".svg": svg.Bytes(), ".png": pngBuf.Bytes()} {
			testcheck.Golden(t, filepath.Join("testdata", "heatmap-"+name+ext), got, *update, "-update")
		}
	}
}

// A cell that was not measured is drawn grey, in both backends, and not in
// the colour of the fastest (or a zero) latency (issue 10).
func TestHeatMapNotMeasured(t *testing.T) {
	m := matrix.New([]int{0, 1, 2})
	for _, p := range [][2]int{{0, 1}, {1, 0}, {1, 2}, {2, 1}, {2, 0}} {
		m.Set(p[0], p[1], float64(30+10*p[0]+p[1]))
	}
	// (0, 2) and the diagonal are not measured.
	missing := color.RGBA{215, 215, 215, 255}
	var svg, pngBuf bytes.Buffer
	if err := m.WriteSVG(&svg); err != nil {
		t.Fatal(err)
	}
	if err := m.WritePNG(&pngBuf); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(pngBuf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		for j := range 3 {
			x, y, side := matrix.Cell(m, i, j)
			rect := fmt.Sprintf(`<rect x="%d" y="%d" width="%d" height="%d" fill="#d7d7d7"/>`, x, y, side, side)
			// A pixel inside the cell, clear of the grid lines and of the
			// value printed in its middle.
			c := color.RGBAModel.Convert(img.At(x+3, y+3)).(color.RGBA)
			measured := i != j && !(i == 0 && j == 2)
			if got := strings.Contains(svg.String(), rect); got == measured {
				t.Errorf("cell %d,%d: SVG grey rect present %v, want %v", i, j, got, !measured)
			}
			if (c == missing) == measured {
				t.Errorf("cell %d,%d: PNG pixel %v, measured %v", i, j, c, measured)
			}
		}
	}
	if !strings.Contains(svg.String(), ">not measured</text>") {
		t.Error("SVG legend does not explain the grey cells")
	}
}

// A matrix whose pairs all measured the same (a 2-CPU machine has one pair)
// gets one colour-bar label, not five copies of it; a narrow range gets
// decimals so that its labels differ.
func TestHeatMapLegendLabels(t *testing.T) {
	legend := func(m *matrix.Matrix) []string {
		var svg bytes.Buffer
		if err := m.WriteSVG(&svg); err != nil {
			t.Fatal(err)
		}
		var labels []string
		for _, line := range strings.Split(svg.String(), "\n") {
			if strings.Contains(line, fmt.Sprintf(`x="%d"`, matrix.LegendLabelX(m))) {
				labels = append(labels, line[strings.Index(line, ">")+1:strings.LastIndex(line, "<")])
			}
		}
		return labels
	}
	one := matrix.New([]int{0, 1})
	one.Set(0, 1, 36.3)
	one.Set(1, 0, 36.3)
	if got := legend(one); len(got) != 1 || got[0] != "36" {
		t.Errorf("one value: legend labels %q, want one \"36\"", got)
	}
	narrow := matrix.New([]int{0, 1})
	narrow.Set(0, 1, 36.1)
	narrow.Set(1, 0, 37.3)
	if got := legend(narrow); len(got) != 5 || got[0] != "36.1" || got[4] != "37.3" {
		t.Errorf("narrow range: legend labels %q, want five from 36.1 to 37.3", got)
	}
}

// The heat map of a sparse matrix of many CPUs grows with its measured
// cells and its CPUs, not with 64 times the square of the CPUs: 1000 CPUs
// with one measured pair each made a 59 MB SVG and a 256 MB image.
func TestHeatMapOfManyCPUsIsSmall(t *testing.T) {
	const n = 1000
	cpus := make([]int, n)
	for i := range cpus {
		cpus[i] = i
	}
	m := matrix.New(cpus)
	for i := 0; i+1 < n; i++ {
		m.Set(i, i+1, 5+float64(i%7))
	}
	var svg strings.Builder
	if err := m.WriteSVG(&svg); err != nil {
		t.Fatal(err)
	}
	if svg.Len() > 1<<20 {
		t.Errorf("SVG of %d CPUs with %d measured cells: %d bytes", n, n-1, svg.Len())
	}
	var pngLen int
	b := testcheck.HeapBytes(func() {
		var w strings.Builder
		m.WritePNG(&w)
		pngLen = w.Len()
	})
	if b > 32<<20 || pngLen > 1<<20 {
		t.Errorf("PNG of %d CPUs: %d bytes allocated, %d written", n, b, pngLen)
	}
}
