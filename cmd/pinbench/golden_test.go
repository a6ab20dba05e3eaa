package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestReportCommittedResults pins what `pinbench report` writes for the
// committed results: report.md and both heat maps must be byte-for-byte the
// files in the results folder. A change that alters them on purpose
// regenerates them with
//
//	go run ./cmd/pinbench report results/amd-epyc-2c2t-vm-7c0fcb/20261130T013942Z-full
//
// and commits the result beside the change.
func TestReportCommittedResults(t *testing.T) {
	const dir = "results/amd-epyc-2c2t-vm-7c0fcb/20261130T013942Z-full"
	t.Chdir(filepath.Join("..", "..")) // report.md names its input relative to the root
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"report", dir, "--out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("pinbench report: exit %d: %s", code, stderr.String())
	}
	for _, name := range []string{"report.md", "heatmap.svg", "heatmap.png"} {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the committed %s/%s (%d bytes, want %d)", name, dir, name, len(got), len(want))
		}
	}
}
