package matrix_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/internal/matrixtest"
	"github.com/pinbench/pinbench/matrix"
)

// pair returns a matrix of CPUs 0 and 1 whose two cells are a (0 to 1)
// and b (1 to 0).
func pair(a, b float64) *matrix.Matrix {
	m := matrix.New([]int{0, 1})
	m.Set(0, 1, a)
	m.Set(1, 0, b)
	return m
}

// fleetPictures renders f in both backends.
func fleetPictures(t *testing.T, f matrix.Fleet) (string, image.Image) {
	t.Helper()
	var svg, pngBuf bytes.Buffer
	if err := f.WriteSVG(&svg); err != nil {
		t.Fatal(err)
	}
	if err := f.WritePNG(&pngBuf); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&pngBuf)
	if err != nil {
		t.Fatal(err)
	}
	return svg.String(), img
}

// pixel is the colour of the PNG at (x, y).
func pixel(img image.Image, x, y int) color.RGBA {
	return color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
}

// The fleet picture has one panel per machine, its grid the size of that
// machine's own heat map (its CPU count times its cell), its name above
// it, and the panels do not overlap; the picture is as large as its
// layout in both backends and has one colour bar.
func TestFleetPanels(t *testing.T) {
	sampled, err := matrix.ReadFile(filepath.Join("testdata", "sampled.csv"))
	if err != nil {
		t.Fatal(err)
	}
	f := matrix.Fleet{
		{Name: "two", Note: "results/two", Matrix: pair(30, 40)},
		{Name: "vm16", Matrix: matrixtest.FakeVM()},
		{Name: "bare16", Note: "results/bare", Matrix: matrixtest.Bare()},
		{Name: "sampled", Matrix: sampled},
	}
	svg, img := fleetPictures(t, f)
	w, h := matrix.FleetSize(f)
	if img.Bounds() != image.Rect(0, 0, w, h) || !strings.Contains(svg, fmt.Sprintf(`width="%d" height="%d"`, w, h)) {
		t.Errorf("PNG %v, SVG header %.120q; layout %dx%d", img.Bounds(), svg, w, h)
	}
	panels, grids := matrix.FleetPanels(f)
	if len(panels) != len(f) || len(grids) != len(f) {
		t.Fatalf("%d panels and %d grids for %d machines", len(panels), len(grids), len(f))
	}
	for i, p := range f {
		_, _, side := matrix.Cell(p.Matrix, 0, 0)
		g := grids[i]
		if want := len(p.Matrix.CPUs) * side; g.Dx() != want || g.Dy() != want {
			t.Errorf("%s: grid %v, want %dx%d (%d CPUs of %d pixels, as its own heat map)", p.Name, g, want, want, len(p.Matrix.CPUs), side)
		}
		if !g.In(panels[i]) || !panels[i].In(img.Bounds()) {
			t.Errorf("%s: grid %v outside its panel %v or the panel outside the picture %v", p.Name, g, panels[i], img.Bounds())
		}
		if c := pixel(img, g.Min.X, g.Min.Y); c != (color.RGBA{20, 20, 20, 255}) {
			t.Errorf("%s: no frame at the grid's corner %v: %v", p.Name, g.Min, c)
		}
		name := fmt.Sprintf(`<text x="%d" y="%d" font-size="13" text-anchor="start" fill="#141414">%s</text>`, g.Min.X, panels[i].Min.Y+13, p.Name)
		if !strings.Contains(svg, name) {
			t.Errorf("%s: name not drawn above its grid at %d,%d", p.Name, g.Min.X, panels[i].Min.Y+13)
		}
		for j := range i {
			if panels[i].Overlaps(panels[j]) {
				t.Errorf("panels %s %v and %s %v overlap", p.Name, panels[i], f[j].Name, panels[j])
			}
		}
	}
	if n := strings.Count(svg, ">ns</text>") + strings.Count(svg, ">ns (log)</text>"); n != 1 {
		t.Errorf("%d colour bars, want one", n)
	}
}

// The colour scale is shared: a latency has one colour in every panel.
// Panel a spans 100-150 ns and panel b 150-1000 ns, so each on its own
// scale would draw 150 ns brightest in a and darkest in b.
func TestFleetSharedScale(t *testing.T) {
	f := matrix.Fleet{{Name: "a", Matrix: pair(100, 150)}, {Name: "b", Matrix: pair(150, 1000)}}
	_, img := fleetPictures(t, f)
	_, grids := matrix.FleetPanels(f)
	at := func(panel, i, j int) color.RGBA {
		x, y, _ := matrix.Cell(f[panel].Matrix, i, j) // relative to a single map's grid at (44, 56)
		g := grids[panel].Min
		return pixel(img, g.X+x-44+3, g.Y+y-56+3) // clear of the grid lines and the value
	}
	a150, b150 := at(0, 1, 0), at(1, 0, 1)
	if a150 != b150 {
		t.Errorf("150 ns is %v in panel a and %v in panel b: the panels have their own scales", a150, b150)
	}
	if lo, hi := at(0, 0, 1), at(1, 1, 0); lo == a150 || hi == a150 || lo == hi {
		t.Errorf("100, 150 and 1000 ns are %v, %v, %v: want three colours", lo, a150, hi)
	}
	var single bytes.Buffer
	if err := f[0].Matrix.WritePNG(&single); err != nil {
		t.Fatal(err)
	}
	own, err := png.Decode(&single)
	if err != nil {
		t.Fatal(err)
	}
	if x, y, _ := matrix.Cell(f[0].Matrix, 1, 0); pixel(own, x+3, y+3) == a150 {
		t.Errorf("150 ns has the colour of panel a's own heat map (%v): the fleet's scale is not the fleet's", a150)
	}
}

// Many panels wrap into rows, so that the picture stays about as wide as
// a few maps, and no two panels overlap.
func TestFleetWraps(t *testing.T) {
	var f matrix.Fleet
	for i := range 6 {
		f = append(f, matrix.Panel{Name: fmt.Sprintf("m%d", i), Matrix: matrixtest.Bare()})
	}
	panels, _ := matrix.FleetPanels(f)
	rows := map[int]bool{}
	for i, p := range panels {
		rows[p.Min.Y] = true
		for j := range i {
			if p.Overlaps(panels[j]) {
				t.Errorf("panels %d %v and %d %v overlap", i, p, j, panels[j])
			}
		}
	}
	if w, _ := matrix.FleetSize(f); len(rows) < 2 || w > 2000 {
		t.Errorf("6 maps of 16 CPUs: %d rows, %d pixels wide; want them wrapped", len(rows), w)
	}
}

// A fleet without maps, or a panel without a matrix, is refused with an
// error that names it.
func TestFleetErrors(t *testing.T) {
	for _, c := range []struct {
		f    matrix.Fleet
		want string
	}{
		{nil, "at least one"},
		{matrix.Fleet{{Name: "a", Matrix: pair(1, 2)}, {Name: "lost"}}, `panel 2 ("lost")`},
	} {
		for _, write := range []func(*bytes.Buffer) error{
			func(b *bytes.Buffer) error { return c.f.WriteSVG(b) },
			func(b *bytes.Buffer) error { return c.f.WritePNG(b) },
		} {
			var b bytes.Buffer
			if err := write(&b); err == nil || !strings.Contains(err.Error(), c.want) || b.Len() > 0 {
				t.Errorf("%d panels: err %v, %d bytes written; want an error naming %s and nothing written", len(c.f), err, b.Len(), c.want)
			}
		}
	}
}
