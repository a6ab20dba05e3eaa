package perfcount

import (
	"os"
	"path/filepath"
	"testing"
)

// perfFDs counts this process's open perf event file descriptors.
func perfFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("reading /proc/self/fd: %v", err)
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && l == "anon_inode:[perf_event]" {
			n++
		}
	}
	return n
}

// Once perf has been probed, its software counters stay open, so that
// opening and closing a benchmark's counters never takes the kernel's
// perf static keys through zero (each flip patches kernel text on every
// CPU; see perfKeep).
func TestPerfKeeperHoldsCountersOpen(t *testing.T) {
	if err := Unavailable(); err != nil {
		t.Skipf("perf_event_open unavailable: %v", err)
	}
	if perfKeep == nil || perfKeep.sw[0] < 0 || perfKeep.sw[1] < 0 {
		t.Fatalf("no keeper counters after the probe: %+v", perfKeep)
	}
	before := perfFDs(t)
	if before < 2 {
		t.Fatalf("%d perf descriptors open after the probe, want the keeper's 2 or more", before)
	}
	c, err := Open(0)
	if err != nil {
		t.Fatal(err)
	}
	if perfFDs(t) <= before {
		t.Fatalf("opening counters did not add descriptors")
	}
	c.Close()
	if got := perfFDs(t); got != before {
		t.Fatalf("%d perf descriptors after closing a benchmark's counters, want the keeper's %d", got, before)
	}
	if _, err := perfKeep.Read(); err != nil {
		t.Fatalf("the keeper's counters are not readable: %v", err)
	}
}
