package main

import (
	"os"
	"testing"

	"github.com/pinbench/pinbench/internal/atomicfile"
	"github.com/pinbench/pinbench/tune"
)

// TestMain runs the command line instead of the tests in a child process
// that tune starts from this test binary (its os.Executable) to run the
// benchmark suite, as the real binary does with itself.
func TestMain(m *testing.M) {
	if os.Getenv(tune.SelfEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// writeFile writes content to the file at path (mode 0644), failing the
// test on an error.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The results folder's names, as tune names them, for the tests.
const (
	latestLink    = tune.LatestLink
	stagingMark   = atomicfile.StagingMark
	outliersDir   = tune.OutliersDir
	tracedRawFile = tune.TracedRawFile
)
