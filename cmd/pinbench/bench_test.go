package main

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/tune"
)

// A round's child whose tune process is gone (its parent is not the one
// tune.ParentEnv names) stops before its next benchmark instead of running
// the rest for nobody.
func TestBenchStopsWhenTuneIsGone(t *testing.T) {
	t.Setenv(tune.ParentEnv, strconv.Itoa(os.Getpid())) // never this process's parent
	code, stdout, stderr := runCLI("bench", "--bench", "Floor", "--benchtime", "1x", "--progress=false")
	if code != 1 || strings.Contains(stdout, "ns/op") || !strings.Contains(stderr, "is gone") {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 1, no result, and the parent named as gone", code, stdout, stderr)
	}
}
