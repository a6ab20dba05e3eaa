package matrix

import (
	"image"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"
)

// digitH, which centres the labels, is the face's digit height: the ink of
// every digit spans exactly the digitH rows above the baseline.
func TestDigitHeight(t *testing.T) {
	for r := '0'; r <= '9'; r++ {
		img := image.NewAlpha(image.Rect(0, 0, 3*face.Advance, 3*face.Height))
		base := 2 * face.Height
		d := font.Drawer{Dst: img, Src: image.Opaque, Face: face, Dot: fixed.P(face.Advance, base)}
		d.DrawString(string(r))
		top, bottom := -1, -1
		for y := range img.Bounds().Dy() {
			for x := range img.Bounds().Dx() {
				if img.AlphaAt(x, y).A != 0 {
					if top < 0 {
						top = y
					}
					bottom = y
				}
			}
		}
		if top != base-digitH || bottom != base-1 {
			t.Errorf("%q: ink rows %d..%d, want %d..%d (digitH %d above the baseline %d)", r, top, bottom, base-digitH, base-1, digitH, base)
		}
	}
}
