package report

import (
	"bytes"
	"os"
	"path/filepath"

	"github.com/pinbench/pinbench/internal/atomicfile"
)

// WriteFleet writes the fleet report f into the folder dir, complete or
// absent: fleet.md and, when any machine has a latency matrix, the heat
// maps picture (FleetHeatMaps .svg and .png) are written into a staging
// folder beside dir, which is renamed to dir once all are written
// (atomicfile.Stage). An empty dir is replaced; one holding files only
// with replace. dir's parent folder must exist. On an error nothing is
// left behind and dir is as it was.
func WriteFleet(dir string, f *Fleet, replace bool) error {
	files, err := f.files()
	if err != nil {
		return err
	}
	staged, err := atomicfile.Stage(dir)
	if err != nil {
		return err
	}
	defer staged.Discard()
	for _, file := range files {
		// The staging folder's Commit syncs every file in it.
		if err := os.WriteFile(filepath.Join(staged.Path(), file.Name), file.Data, 0o644); err != nil {
			return err
		}
	}
	return staged.Commit(replace)
}

// files renders the fleet report's files.
func (f *Fleet) files() ([]atomicfile.Named, error) {
	var md bytes.Buffer
	if err := f.WriteMarkdown(&md); err != nil {
		return nil, err
	}
	files := []atomicfile.Named{{Name: FleetMarkdown, Data: md.Bytes()}}
	if pics := f.HeatMaps(); len(pics) > 0 {
		var svg, png bytes.Buffer
		if err := pics.WriteSVG(&svg); err != nil {
			return nil, err
		}
		if err := pics.WritePNG(&png); err != nil {
			return nil, err
		}
		files = append(files, atomicfile.Named{Name: FleetHeatMaps + ".svg", Data: svg.Bytes()},
			atomicfile.Named{Name: FleetHeatMaps + ".png", Data: png.Bytes()})
	}
	return files, nil
}
