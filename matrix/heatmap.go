package matrix

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"slices"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/pinbench/pinbench/affinity"
)

// The heat map is drawn by hand: SVG is plain text we write element by
// element, and PNG is painted with image/png, its labels in
// golang.org/x/image/font/basicfont's 7x13 face through font.Drawer. No
// plotting library is used: the picture is a grid of rectangles with a few
// labels, and a hand-written drawing stays deterministic and testable byte
// for byte.

// canvas is what the heat map layout draws on: the SVG writer or the PNG
// painter.
type canvas interface {
	rect(x, y, w, h int, c color.RGBA)
	line(x1, y1, x2, y2, width int, c color.RGBA)
	// text draws s in the one text size (the 7x13 face) with its
	// baseline-left (anchor "start"), centre ("middle") or right ("end")
	// at (x, y).
	text(x, y int, s, anchor string, c color.RGBA)
}

var (
	colBackground = color.RGBA{255, 255, 255, 255}
	colText       = color.RGBA{20, 20, 20, 255}
	colMissing    = color.RGBA{215, 215, 215, 255}
	colOutline    = color.RGBA{230, 30, 80, 255}
	colGrid       = color.RGBA{255, 255, 255, 255}
)

// viridis colour stops, dark (fast) to bright (slow).
var viridis = []color.RGBA{
	{68, 1, 84, 255}, {59, 82, 139, 255}, {33, 145, 140, 255}, {94, 201, 98, 255}, {253, 231, 37, 255},
}

func ramp(f float64) color.RGBA {
	f = math.Max(0, math.Min(1, f))
	x := f * float64(len(viridis)-1)
	i := int(x)
	if i >= len(viridis)-1 {
		return viridis[len(viridis)-1]
	}
	t := x - float64(i)
	a, b := viridis[i], viridis[i+1]
	mix := func(p, q uint8) uint8 { return uint8(math.Round(float64(p) + t*(float64(q)-float64(p)))) }
	return color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 255}
}

// scale maps latencies to [0, 1]: logarithmic when the range spans more
// than a factor 10, linear otherwise.
type scale struct {
	lo, hi float64
	log    bool
}

func (s scale) frac(v float64) float64 {
	if s.hi <= s.lo {
		return 0.5
	}
	if s.log {
		return (math.Log(v) - math.Log(s.lo)) / (math.Log(s.hi) - math.Log(s.lo))
	}
	return (v - s.lo) / (s.hi - s.lo)
}

func (s scale) at(f float64) float64 {
	if s.log {
		return math.Exp(math.Log(s.lo) + f*(math.Log(s.hi)-math.Log(s.lo)))
	}
	return s.lo + f*(s.hi-s.lo)
}

func (m *Matrix) scale() scale { return scaleOf(m) }

// scaleOf is the one scale of every measured cell of ms: a fleet picture
// colours all its maps on it.
func scaleOf(ms ...*Matrix) scale {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, m := range ms {
		for _, row := range m.NS {
			for _, v := range row {
				if !math.IsNaN(v) {
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
			}
		}
	}
	if math.IsInf(lo, 0) {
		return scale{0, 1, false}
	}
	return scale{lo, hi, lo > 0 && hi/lo > 10}
}

// face is the PNG's one font; the SVG asks for a monospace font of its
// height, and the layout measures text by its advance.
var face = basicfont.Face7x13

// digitH is the height of a digit in face: the ink of "0" to "9" spans the
// digitH rows above the baseline, so a baseline digitH/2+1 below a centre
// line centres them on it.
const digitH = 9

// textW is the width of s in face, in pixels.
func textW(s string) int { return len(s) * face.Advance }

// layout places the heat map: n CPUs in cells of cell pixels, the grid
// gridW pixels square at (left, top), the colour bar at legendX, class
// outlines outline pixels wide, and the image width x height.
type layout struct {
	n, cell, left, top, gridW int
	legendX, width, height    int
	outline                   int
}

// Cells are 40 pixels for a few CPUs, smaller for more so that the grid
// stays about 640 pixels wide, and at least minCell pixels up to 80 CPUs.
// Past 80 CPUs they shrink, to 1 pixel from 640 CPUs, so that the image
// grows with the square of the CPUs rather than 64 times it. Cells smaller
// than minCell have outlines 1 pixel wide, and each run of unmeasured cells
// in a row is one grey rectangle, so that the SVG of a sparse matrix grows
// with its measured cells rather than with all of them. Larger cells are
// drawn one rectangle each, as the heat maps in results/ were.
const minCell = 8

func (m *Matrix) layout() layout {
	l := m.gridLayout(44, 56)
	l.legendX = l.left + l.gridW + 24
	// Wide enough for the longest line of text (titles, class legend),
	// however few CPUs there are.
	longest := max(textW(heatTitle), textW(heatSubtitle), textW(m.classLine()))
	l.width = max(l.legendX+90, l.left+longest+12)
	l.height = l.top + max(l.gridW, 160) + 64
	return l
}

// gridLayout places m's grid with its top-left corner at (left, top), its
// cells and outlines sized for its CPU count; the fields beyond the grid
// (legend, image size) are left zero.
func (m *Matrix) gridLayout(left, top int) layout {
	n := len(m.CPUs)
	cell := 40
	if n > 0 {
		cell = max(1, min(40, 640/n))
	}
	l := layout{n: n, cell: cell, left: left, top: top, outline: 2}
	if cell < minCell {
		l.outline = 1
	}
	l.gridW = n * cell
	return l
}

// The heat map's title lines.
const (
	heatTitle    = "core-to-core one-way latency (ns), median per pair"
	heatSubtitle = "rows: from cpu, columns: to cpu; outlines separate placement classes"
)

// classLine is the text beside the outline sample under the grid.
func (m *Matrix) classLine() string {
	if m.Class == nil {
		return "placement classes unknown (no outline)"
	}
	return "placement class boundary; classes: " + m.classNames()
}

// classNames lists the classes of classList: "smt, llc, node".
func (m *Matrix) classNames() string {
	var names []string
	for _, c := range m.classList() {
		names = append(names, string(c))
	}
	return strings.Join(names, ", ")
}

func (m *Matrix) draw(c canvas) {
	l := m.layout()
	sc := m.scale()
	c.rect(0, 0, l.width, l.height, colBackground)
	c.text(l.left, 18, heatTitle, "start", colText)
	c.text(l.left, 34, heatSubtitle, "start", colText)
	m.drawGrid(c, l, sc)
	drawColourBar(c, l.legendX, l.top, max(l.gridW, 160), sc)
	m.drawClassLegend(c, l)
}

// drawGrid draws one map where l places it, its cells coloured on sc:
// the CPU labels, the cells, the grid and class lines and the frame.
func (m *Matrix) drawGrid(c canvas, l layout, sc scale) {
	m.drawLabels(c, l)
	for i := range m.CPUs {
		m.drawRow(c, l, sc, i)
	}
	m.drawLines(c, l)
}

// drawLabels labels every CPU when the labels fit, side by side above the
// grid and one above the other beside it; otherwise every k'th.
func (m *Matrix) drawLabels(c canvas, l layout) {
	widest := 0
	for _, cpu := range m.CPUs {
		widest = max(widest, textW(fmt.Sprint(cpu)))
	}
	need := max(widest+4, digitH+4)
	labelEvery := (need + l.cell - 1) / l.cell
	for i, cpu := range m.CPUs {
		if i%labelEvery != 0 {
			continue
		}
		mid := l.top + i*l.cell + l.cell/2
		c.text(l.left-4, mid+digitH/2+1, fmt.Sprint(cpu), "end", colText)
		c.text(l.left+i*l.cell+l.cell/2, l.top-5, fmt.Sprint(cpu), "middle", colText)
	}
}

// drawRow draws row i's cells: a measured one in its colour, with its value
// when the cells are large and it fits; an unmeasured one grey, a run of
// them one rectangle when the cells are smaller than minCell.
func (m *Matrix) drawRow(c canvas, l layout, sc scale, i int) {
	y := l.top + i*l.cell
	run := 0 // unmeasured cells just before column j, not drawn yet
	grey := func(j int) {
		if run > 0 {
			c.rect(l.left+(j-run)*l.cell, y, run*l.cell, l.cell, colMissing)
			run = 0
		}
	}
	for j := range m.CPUs {
		x, v := l.left+j*l.cell, m.NS[i][j]
		if math.IsNaN(v) {
			run++
			if l.cell >= minCell {
				grey(j + 1)
			}
			continue
		}
		grey(j)
		f := sc.frac(v)
		c.rect(x, y, l.cell, l.cell, ramp(f))
		if label := fmt.Sprintf("%.0f", v); l.cell >= 28 && textW(label)+4 <= l.cell {
			tc := colBackground
			if f > 0.6 {
				tc = colText
			}
			c.text(x+l.cell/2, y+l.cell/2+digitH/2+1, label, "middle", tc)
		}
	}
	grey(len(m.CPUs))
}

// drawLines draws a thin white grid when the cells are large enough, then
// the class boundaries, then the frame.
func (m *Matrix) drawLines(c canvas, l layout) {
	if l.cell >= 12 {
		for k := 1; k < l.n; k++ {
			c.line(l.left+k*l.cell, l.top, l.left+k*l.cell, l.top+l.gridW, 1, colGrid)
			c.line(l.left, l.top+k*l.cell, l.left+l.gridW, l.top+k*l.cell, 1, colGrid)
		}
	}
	if m.Class != nil {
		for i := range l.n {
			for j := range l.n {
				x, y := l.left+j*l.cell, l.top+i*l.cell
				if j+1 < l.n && m.Class[i][j] != m.Class[i][j+1] {
					c.line(x+l.cell, y, x+l.cell, y+l.cell, l.outline, colOutline)
				}
				if i+1 < l.n && m.Class[i][j] != m.Class[i+1][j] {
					c.line(x, y+l.cell, x+l.cell, y+l.cell, l.outline, colOutline)
				}
			}
		}
	}
	c.line(l.left, l.top, l.left+l.gridW, l.top, 1, colText)
	c.line(l.left, l.top+l.gridW, l.left+l.gridW, l.top+l.gridW, 1, colText)
	c.line(l.left, l.top, l.left, l.top+l.gridW, 1, colText)
	c.line(l.left+l.gridW, l.top, l.left+l.gridW, l.top+l.gridW, 1, colText)
}

// drawColourBar draws the legend: a vertical colour bar barH pixels high
// with its top-left corner at (x, top), fast at the top, with its ticks
// and unit.
func drawColourBar(c canvas, x, top, barH int, sc scale) {
	const steps = 64
	for k := range steps {
		y0 := top + k*barH/steps
		y1 := top + (k+1)*barH/steps
		c.rect(x, y0, 16, y1-y0, ramp(float64(k)/float64(steps-1)))
	}
	c.line(x, top, x+16, top, 1, colText)
	c.line(x, top+barH, x+16, top+barH, 1, colText)
	// Five ticks; one, in the middle where every cell is coloured, when
	// all pairs measured the same (a 2-CPU machine has one pair); a
	// decimal when whole numbers would repeat.
	ticks, format := []float64{0, 0.25, 0.5, 0.75, 1}, "%.0f"
	switch {
	case sc.hi <= sc.lo:
		ticks = []float64{0.5}
	case sc.hi-sc.lo < 4:
		format = "%.1f"
	}
	for _, f := range ticks {
		y := top + int(f*float64(barH))
		c.line(x+16, y, x+20, y, 1, colText)
		c.text(x+23, y+digitH/2+1, fmt.Sprintf(format, sc.at(f)), "start", colText)
	}
	unit := "ns"
	if sc.log {
		unit = "ns (log)"
	}
	c.text(x, top-5, unit, "start", colText)
}

// drawClassLegend explains the outlines and the grey cells under the grid.
func (m *Matrix) drawClassLegend(c canvas, l layout) {
	drawKey(c, l.left, l.top+max(l.gridW, 160)+22, l.outline, m.Class != nil, m.classLine())
}

// drawKey draws at baseline y the outline sample (when outlined, outline
// pixels wide) with text beside it, or text alone, and under them the
// grey of unmeasured cells.
func drawKey(c canvas, x, y, outline int, outlined bool, text string) {
	if outlined {
		c.line(x, y-3, x+14, y-3, outline, colOutline)
		c.text(x+20, y, text, "start", colText)
	} else {
		c.text(x, y, text, "start", colText)
	}
	c.rect(x, y+10, 14, 10, colMissing)
	c.text(x+20, y+19, "not measured", "start", colText)
}

// classList returns the classes present off the diagonal: affinity's,
// innermost first, then unpinned, then any others by name.
func (m *Matrix) classList() []affinity.Class {
	order := append(affinity.Classes(), affinity.Unpinned)
	seen := map[affinity.Class]bool{}
	for i := range m.Class {
		for j := range m.Class[i] {
			if i != j && m.Class[i][j] != "" {
				seen[m.Class[i][j]] = true
			}
		}
	}
	var out []affinity.Class
	for _, c := range order {
		if seen[c] {
			out = append(out, c)
			delete(seen, c)
		}
	}
	var rest []affinity.Class
	for c := range seen {
		rest = append(rest, c)
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// WriteSVG writes the heat map as an SVG document: CPUs in the matrix order,
// cells coloured by median latency (viridis, dark = fast), a colour legend,
// and placement-class blocks outlined.
func (m *Matrix) WriteSVG(w io.Writer) error {
	l := m.layout()
	return writeSVG(w, l.width, l.height, m.draw)
}

// writeSVG writes an SVG document width x height pixels that draw paints.
func writeSVG(w io.Writer, width, height int, draw func(canvas)) error {
	s := &svgCanvas{}
	fmt.Fprintf(&s.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="monospace">`+"\n",
		width, height, width, height)
	draw(s)
	s.b.WriteString("</svg>\n")
	_, err := io.WriteString(w, s.b.String())
	return err
}

type svgCanvas struct{ b strings.Builder }

func hex(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

func (s *svgCanvas) rect(x, y, w, h int, c color.RGBA) {
	fmt.Fprintf(&s.b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>`+"\n", x, y, w, h, hex(c))
}

func (s *svgCanvas) line(x1, y1, x2, y2, width int, c color.RGBA) {
	fmt.Fprintf(&s.b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="%d"/>`+"\n", x1, y1, x2, y2, hex(c), width)
}

func (s *svgCanvas) text(x, y int, str, anchor string, c color.RGBA) {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	fmt.Fprintf(&s.b, `<text x="%d" y="%d" font-size="%d" text-anchor="%s" fill="%s">%s</text>`+"\n",
		x, y, face.Height, anchor, hex(c), r.Replace(str))
}

// WritePNG writes the same heat map as WriteSVG as a PNG image, its text in
// the 7x13 face of golang.org/x/image/font/basicfont.
func (m *Matrix) WritePNG(w io.Writer) error {
	l := m.layout()
	return writePNG(w, l.width, l.height, m.draw)
}

// writePNG writes a PNG image width x height pixels that draw paints.
func writePNG(w io.Writer, width, height int, draw func(canvas)) error {
	p := &pngCanvas{img: image.NewRGBA(image.Rect(0, 0, width, height))}
	draw(p)
	return png.Encode(w, p.img)
}

type pngCanvas struct{ img *image.RGBA }

func (p *pngCanvas) rect(x, y, w, h int, c color.RGBA) {
	r := image.Rect(x, y, x+w, y+h).Intersect(p.img.Bounds())
	for yy := r.Min.Y; yy < r.Max.Y; yy++ {
		for xx := r.Min.X; xx < r.Max.X; xx++ {
			p.img.SetRGBA(xx, yy, c)
		}
	}
}

func (p *pngCanvas) line(x1, y1, x2, y2, width int, c color.RGBA) {
	// Only axis-aligned lines are drawn; width grows around the line.
	off := width / 2
	if x1 == x2 {
		p.rect(x1-off, min(y1, y2), width, abs(y2-y1)+1, c)
	} else {
		p.rect(min(x1, x2), y1-off, abs(x2-x1)+1, width, c)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func (p *pngCanvas) text(x, y int, s, anchor string, c color.RGBA) {
	d := font.Drawer{Dst: p.img, Src: image.NewUniform(c), Face: face}
	w := d.MeasureString(s).Ceil()
	switch anchor {
	case "middle":
		x -= w / 2
	case "end":
		x -= w
	}
	d.Dot = fixed.P(x, y)
	d.DrawString(s)
}
