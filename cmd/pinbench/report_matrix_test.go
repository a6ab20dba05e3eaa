package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportRefusesForeignMatrixCPUs: a small matrix-samples.csv naming
// CPUs the run's machine never had (a chain through 1000 CPUs, 21 KB,
// once 46 s, 2.2 GB and a 250 MB heatmap.svg) is refused with one line
// naming the file and the CPU, and no heat map is written (issue 20,
// item 5). The machine's own CPUs are read as before.
func TestReportRefusesForeignMatrixCPUs(t *testing.T) {
	src := filepath.Join("..", "..", "results", "amd-epyc-2c2t-vm-7c0fcb", "latest")
	dir := t.TempDir()
	for _, name := range []string{rawFile, topologyFile, matrixLongFile} {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if code, _, stderr := runCLI("report", dir, "--force"); code != 0 {
		t.Fatalf("report over the machine's own matrix: exit %d: %s", code, stderr)
	}
	var chain strings.Builder
	chain.WriteString("from,to,class,median_ns,samples_ns\n")
	for c := range 1000 {
		fmt.Fprintf(&chain, "%d,%d,llc,30,30\n", c, c+1)
	}
	samples := filepath.Join(dir, matrixLongFile)
	writeFile(t, samples, chain.String())
	os.Remove(filepath.Join(dir, "heatmap.svg"))
	code, _, stderr := runCLI("report", dir, "--force")
	if code == 0 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, samples) || !strings.Contains(stderr, "CPU 2") {
		t.Fatalf("report over a 1000-CPU matrix of a 2-CPU run: exit %d, %q; want a failure naming %s and CPU 2", code, stderr, samples)
	}
	if _, err := os.Stat(filepath.Join(dir, "heatmap.svg")); err == nil {
		t.Error("a heat map was written from the refused matrix")
	}
}
