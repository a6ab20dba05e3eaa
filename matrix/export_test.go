package matrix

// Size returns the heat map's width and height in pixels, for the tests
// of package matrix_test.
func Size(m *Matrix) (width, height int) {
	l := m.layout()
	return l.width, l.height
}

// LegendLabelX is the x of the colour-bar labels.
func LegendLabelX(m *Matrix) int { return m.layout().legendX + 23 }

// Cell returns the top-left corner and the side of cell (i, j) in pixels.
func Cell(m *Matrix, i, j int) (x, y, side int) {
	l := m.layout()
	return l.left + j*l.cell, l.top + i*l.cell, l.cell
}
