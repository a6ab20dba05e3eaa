package lab

import (
	"slices"
	"strings"
)

// KnownFailure is a test that fails in lab guests for a defect outside
// the lab's reach (another package's, being fixed by its owner). The
// guest skips it with -test.skip and writes the reason into tests.txt, so
// that a known defect is reported on every run without failing CI; remove
// the entry when the defect is fixed.
type KnownFailure struct {
	// ImportPath is the test's package.
	ImportPath string
	// Test is the test's name (matched exactly).
	Test string
	// Why says what fails and where it was seen.
	Why string
}

// KnownFailures are the tests the lab's guests skip.
var KnownFailures = []KnownFailure{
	{
		ImportPath: "github.com/pinbench/pinbench/bench",
		Test:       "TestForcedOutlierIsExplained",
		Why: "the flight-recorder trace does not cover the forced sleep in lab guests (numa2): the sleep grew to 2.7 s, twice 5000x the emulated 270.8 us median, " +
			"and the trace saw the sender blocked for only 1.62 s of it, so the main-cause check (at least 90% of the sleep) fails",
	},
	{
		ImportPath: "github.com/pinbench/pinbench/report",
		Test:       "TestExplainOutlierLongerThanTheTrace",
		Why:        "timing-bound in lab guests (numa2): the sender was seen blocked for 6.6 ms of the 20 ms the trace was expected to hold",
	},
	{
		ImportPath: "github.com/pinbench/pinbench/aio",
		Test:       "TestTracePointsInTrace",
		Why:        "timing-bound in lab guests (smt2): an unpinned iothread traced 50 aio_schedule_bh regions and no aio_wait_futex region, where the test wants some (under emulation the loop never went to sleep)",
	},
	{
		ImportPath: "github.com/pinbench/pinbench/report",
		Test:       "TestExplainOutlierFile",
		Why:        "timing-bound in lab guests (smt2): a spinning hop traced live showed a 3.5 ms preemption of the receiver, so its report lacked the expected nothing visible",
	},
}

// knownSkip returns the -test.skip pattern for a package's known failures
// and the lines that record them, or "" when it has none.
func knownSkip(importPath string) (pattern string, notes []string) {
	var names []string
	for _, k := range KnownFailures {
		if k.ImportPath == importPath && !slices.Contains(names, k.Test) {
			names = append(names, k.Test)
			notes = append(notes, "lab: known failure skipped: "+k.Test+" in "+k.ImportPath+": "+k.Why)
		}
	}
	if len(names) == 0 {
		return "", nil
	}
	return "^(" + strings.Join(names, "|") + ")$", notes
}
