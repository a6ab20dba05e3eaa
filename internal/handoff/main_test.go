package handoff

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/pinbench/pinbench/internal/leakcheck"
)

// long makes the stress tests run for seconds instead of a fraction.
var long = flag.Bool("long", false, "run stress tests for longer")

func TestMain(m *testing.M) {
	flag.Parse()
	// Fill the runtime's idle thread pool, then run each kind of side
	// once, so the leak checks see the tests' own threads end rather than
	// threads the runtime starts once for its own use (the template thread
	// that creates threads on behalf of locked ones).
	leakcheck.WarmThreads(24)
	if err := WarmUp(); err != nil {
		fmt.Fprintf(os.Stderr, "handoff: %v\n", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}
