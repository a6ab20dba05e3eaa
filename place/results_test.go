package place

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadResults(t *testing.T) {
	res := resultsOf(t, big16Results)
	allowed, err := res.Allowed()
	if err != nil || allowed.String() != "0-15" || res.Matrix == nil || len(res.Matrix.CPUs) != 16 {
		t.Errorf("allowed %s (%v), matrix %v: want 0-15 and a 16-CPU matrix", allowed, err, res.Matrix != nil)
	}
}

// TestReadResultsErrors wants each missing or malformed file named.
func TestReadResultsErrors(t *testing.T) {
	copyTo := func(dir string, names ...string) {
		for _, name := range names {
			data, err := os.ReadFile(filepath.Join(epycResults, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	noTopo := t.TempDir()
	copyTo(noTopo, BenchFile)
	badMatrix := t.TempDir()
	copyTo(badMatrix, BenchFile, TopologyFile)
	if err := os.WriteFile(filepath.Join(badMatrix, MatrixFile), []byte("cpu,0,1\n0,,x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]string{
		t.TempDir(): BenchFile,
		noTopo:      TopologyFile,
		badMatrix:   MatrixFile,
	} {
		if _, err := ReadResults(dir); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one naming %s", dir, err, want)
		}
	}
}

// TestAllowedLine checks the run's allowed line against the topology.
func TestAllowedLine(t *testing.T) {
	topo := capture(t, "numa-split-package")
	for line, want := range map[string]string{
		"":     "0-7",
		"2-5":  "2-5",
		"2-x":  `malformed CPU list "2-x"`,
		"6-12": "include 8-12, which the topology (0-7) does not have",
	} {
		res := &Results{Dir: "x", Run: synthRun(t, synthFigures, line, WaitPoll), Topology: topo}
		set, err := res.Allowed()
		got := set.String()
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, want) {
			t.Errorf("allowed line %q: %s, want %s", line, got, want)
		}
	}
}
