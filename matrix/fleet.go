package matrix

import (
	"errors"
	"fmt"
	"io"
)

// Panel is one machine's heat map in a Fleet picture.
type Panel struct {
	// Name is drawn above the map: the machine's name. The caller makes
	// it printable (no control characters).
	Name string
	// Note is a second line under Name, such as the run's folder; ""
	// for none.
	Note string
	// Matrix is the machine's latency matrix, drawn at its own CPU
	// count with the cell size a single heat map of it has.
	Matrix *Matrix
}

// Fleet is the heat maps of several machines in one picture: side by side
// in rows, each under its name, all coloured on one scale (that of every
// measured cell of every map) with one colour bar, so that one colour is
// one latency wherever it appears. The drawing is a single heat map's
// (WriteSVG, WritePNG): the same cells, labels, class outlines and bar.
type Fleet []Panel

// The fleet picture's title lines.
const (
	fleetTitle    = "core-to-core one-way latency (ns), median per pair, one map per machine"
	fleetSubtitle = "rows: from cpu, columns: to cpu; one colour scale for every map; outlines separate placement classes"
)

// Room around the panels: the row labels' margin left of each grid, the
// space between panels side by side and between rows, and the widest
// row of panels before the next panel starts a new row.
const (
	panelLabelW = 44
	panelGap    = 40
	rowGap      = 16
	maxRowW     = 1600
	fleetTop    = 48 // the first row's top, under the title lines
)

// panelLayout places one panel: its top-left corner (x, y), where its name
// starts, its grid, and its size with the room for its labels.
type panelLayout struct {
	x, y, w, h int
	grid       layout
}

// fleetLayout places a Fleet picture: each panel, the colour bar (x, top,
// height), the legend's baseline, and the picture's size.
type fleetLayout struct {
	panels             []panelLayout
	barX, barTop, barH int
	legendY            int
	width, height      int
}

// check refuses a fleet the picture cannot show.
func (f Fleet) check() error {
	if len(f) == 0 {
		return errors.New("matrix: a fleet picture needs at least one heat map")
	}
	for i, p := range f {
		if p.Matrix == nil {
			return fmt.Errorf("matrix: fleet panel %d (%q) has no latency matrix", i+1, p.Name)
		}
	}
	return nil
}

// headerH is the room above each grid: one line per name line, then the
// column labels. Every panel has the same, so that the grids of a row
// line up.
func (f Fleet) headerH() int {
	lines := 1
	for _, p := range f {
		if p.Note != "" {
			lines = 2
		}
	}
	return 16*lines + 22
}

// layout places the panels left to right, starting a new row when one
// would pass maxRowW, then the colour bar right of the widest row and
// the legend under everything.
func (f Fleet) layout() fleetLayout {
	var l fleetLayout
	x, y, rowH, right := 0, fleetTop, 0, 0
	for _, p := range f {
		pl := f.place(p, x, y)
		if x > 0 && x+pl.w > maxRowW {
			x, y, rowH = 0, y+rowH+rowGap, 0
			pl = f.place(p, x, y)
		}
		l.panels = append(l.panels, pl)
		x += pl.w + panelGap
		rowH = max(rowH, pl.h)
		right = max(right, pl.x+pl.w)
	}
	first := l.panels[0].grid
	l.barX, l.barTop, l.barH = right+24, first.top, 160
	for _, pl := range l.panels {
		if pl.y == fleetTop {
			l.barH = max(l.barH, pl.grid.gridW)
		}
	}
	l.legendY = max(y+rowH, l.barTop+l.barH) + 22
	l.width = max(l.barX+90, panelLabelW+max(textW(fleetTitle), textW(fleetSubtitle))+12)
	l.height = l.legendY + 32
	return l
}

// place lays out panel p with its top-left corner at (x, y).
func (f Fleet) place(p Panel, x, y int) panelLayout {
	g := p.Matrix.gridLayout(x+panelLabelW, y+f.headerH())
	widest := max(g.gridW, textW(p.Name), textW(p.Note), textW(p.Matrix.classesText()))
	return panelLayout{x: x, y: y, w: panelLabelW + widest, h: f.headerH() + g.gridW + 26, grid: g}
}

// classesText names the map's placement classes, under its grid.
func (m *Matrix) classesText() string {
	if m.Class == nil {
		return "classes unknown"
	}
	return "classes: " + m.classNames()
}

// draw paints the picture: titles, each panel under its name on the one
// scale, the colour bar and the legend.
func (f Fleet) draw(c canvas, l fleetLayout) {
	ms := make([]*Matrix, len(f))
	for i, p := range f {
		ms[i] = p.Matrix
	}
	sc := scaleOf(ms...)
	c.rect(0, 0, l.width, l.height, colBackground)
	c.text(panelLabelW, 18, fleetTitle, "start", colText)
	c.text(panelLabelW, 34, fleetSubtitle, "start", colText)
	for i, p := range f {
		g := l.panels[i].grid
		c.text(g.left, l.panels[i].y+13, p.Name, "start", colText)
		if p.Note != "" {
			c.text(g.left, l.panels[i].y+29, p.Note, "start", colText)
		}
		p.Matrix.drawGrid(c, g, sc)
		c.text(g.left, g.top+g.gridW+18, p.Matrix.classesText(), "start", colText)
	}
	drawColourBar(c, l.barX, l.barTop, l.barH, sc)
	drawKey(c, panelLabelW, l.legendY, 2, true, "placement class boundary")
}

// WriteSVG writes the fleet picture as an SVG document. A fleet without
// panels, or a panel without a matrix, is an error.
func (f Fleet) WriteSVG(w io.Writer) error {
	if err := f.check(); err != nil {
		return err
	}
	l := f.layout()
	return writeSVG(w, l.width, l.height, func(c canvas) { f.draw(c, l) })
}

// WritePNG writes the same picture as WriteSVG as a PNG image.
func (f Fleet) WritePNG(w io.Writer) error {
	if err := f.check(); err != nil {
		return err
	}
	l := f.layout()
	return writePNG(w, l.width, l.height, func(c canvas) { f.draw(c, l) })
}
