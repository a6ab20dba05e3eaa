package main

import (
	"os"
	"testing"
)

// TestMain runs the command line instead of the tests in a child process
// that tune starts from this test binary (its os.Executable) to run the
// benchmark suite, as the real binary does with itself.
func TestMain(m *testing.M) {
	if os.Getenv(selfEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
