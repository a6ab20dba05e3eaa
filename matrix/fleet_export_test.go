package matrix

import "image"

// FleetSize returns the fleet picture's width and height in pixels, for
// the tests of package matrix_test.
func FleetSize(f Fleet) (width, height int) {
	l := f.layout()
	return l.width, l.height
}

// FleetPanels returns each panel's rectangle (its name, grid and labels)
// and its grid's, in pixels.
func FleetPanels(f Fleet) (panels, grids []image.Rectangle) {
	for _, p := range f.layout().panels {
		panels = append(panels, image.Rect(p.x, p.y, p.x+p.w, p.y+p.h))
		grids = append(grids, image.Rect(p.grid.left, p.grid.top, p.grid.left+p.grid.gridW, p.grid.top+p.grid.gridW))
	}
	return panels, grids
}
