package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/place"
)

// placeTune are tune's flags for a placing run in test mode: tinyTune's,
// with the pinned via=aio handoffs a placement is costed from (the last
// --bench wins).
func placeTune(args ...string) []string {
	return append(append(args, tinyTune...), "--bench", "Handoff/via=aio/wait=block")
}

// placementSection is report.md's placement section: from its heading
// to the next section's.
func placementSection(t *testing.T, md string) string {
	t.Helper()
	at := strings.Index(md, "\n## Placement")
	if at < 0 {
		t.Fatalf("report.md has no placement section:\n%s", md)
	}
	end := strings.Index(md[at+1:], "\n## ")
	if end < 0 {
		t.Fatalf("report.md ends in its placement section:\n%s", md)
	}
	return md[at+1 : at+1+end]
}

// tune --threads 2 --pattern pairs places the threads once the run is
// measured: report.md shows the placement after the summary, before the
// details, with each thread's CPU, the costs and the verdict;
// placement.json keeps it, and a report rebuilt from the folder shows
// the same section.
func TestTunePlacement(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the benchmarks and the placement")
	}
	if cpus, err := affinity.Allowed(); err != nil || cpus.Count() < 2 {
		t.Skip("needs two allowed CPUs")
	}
	out := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := runCLI(placeTune("tune", "--out", out, "--threads", "2", "--pattern", "pairs")...)
	if code != 0 {
		t.Fatalf("tune exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	md, err := os.ReadFile(filepath.Join(out, reportFile))
	if err != nil {
		t.Fatal(err)
	}
	section := placementSection(t, string(md))
	if s, m := strings.Index(string(md), "## Summary"), strings.Index(string(md), "## Machine"); !(s < strings.Index(string(md), section) && strings.Index(string(md), section) < m) {
		t.Errorf("the placement section is not between the summary and the machine:\n%s", md)
	}
	for _, want := range []string{"## Placement: 2 threads (pairs), wait=", "| t0 | ", "| t1 | ", "| plan | ", "| unpinned | unpinned | ", "Verified on this machine, 6 interleaved rounds of 50ms per placement: **the plan is "} {
		if !strings.Contains(section, want) {
			t.Errorf("placement section lacks %q:\n%s", want, section)
		}
	}
	d, err := place.ReadDocumentFile(filepath.Join(out, place.DocumentFile))
	if err != nil {
		t.Fatal(err)
	}
	if d.Results != out || len(d.Threads) != 2 || d.Verified == nil || d.Verified.Verdict == "" || len(d.Measured) == 0 {
		t.Errorf("placement.json: results %s, %d threads, verified %+v, measured %v", d.Results, len(d.Threads), d.Verified, d.Measured)
	}

	rebuilt := t.TempDir()
	if code, _, stderr := runCLI("report", "--out", rebuilt, out); code != 0 {
		t.Fatalf("report exited %d: %s", code, stderr)
	}
	md2, err := os.ReadFile(filepath.Join(rebuilt, reportFile))
	if err != nil {
		t.Fatal(err)
	}
	if got := placementSection(t, string(md2)); got != section {
		t.Errorf("the rebuilt report's placement section:\n%s\nwant:\n%s", got, section)
	}
}

// More threads than the run may use CPUs is refused before anything is
// measured: exit 2, one line naming the count, no folder.
func TestTunePlacementTooManyThreads(t *testing.T) {
	cpus, err := affinity.Allowed()
	if err != nil {
		t.Skip(err)
	}
	n := cpus.Count() + 2 - cpus.Count()%2
	out := filepath.Join(t.TempDir(), "run")
	code, _, stderr := runCLI(placeTune("tune", "--out", out, "--threads", strconv.Itoa(n), "--pattern", "pairs")...)
	if code != 2 || !strings.Contains(stderr, strconv.Itoa(n)+" threads to place, but this run may use "+strconv.Itoa(cpus.Count())+" CPUs") || strings.Contains(stderr, "[2/5") {
		t.Errorf("tune --threads %d: exit %d, want 2 before measuring:\n%s", n, code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused run left %s: %v", out, err)
	}
}
