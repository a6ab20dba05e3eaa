package place

import (
	"path/filepath"
	"testing"

	"github.com/pinbench/pinbench/affinity"
	captures "github.com/pinbench/pinbench/internal/capture"
)

// topologies is the repository's folder of topology fixtures, seen from
// this package's folder.
const topologies = "../testdata/topologies"

// epycResults is the results folder of the 2-core EPYC VM.
const epycResults = "../results/amd-epyc-2c2t-vm-7c0fcb/latest"

// big16Results is the quick tuning run of the big16 lab guest (emulated:
// its timings mean nothing, its shape is what the tests use).
const big16Results = "../lab/results/big16/quick"

// capture discovers the topology of a fixture: a folder under topologies,
// or a .tar.gz there, read by internal/capture.
func capture(tb testing.TB, name string) *affinity.Topology {
	tb.Helper()
	t, err := captures.Discover(filepath.Join(topologies, name))
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// resultsOf reads a results folder, failing the test on an error.
func resultsOf(tb testing.TB, dir string) *Results {
	tb.Helper()
	res, err := ReadResults(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

// modelOf reads a results folder and builds its model for wait.
func modelOf(tb testing.TB, dir string, wait Wait) *Model {
	tb.Helper()
	m, err := NewModel(resultsOf(tb, dir), wait)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}
