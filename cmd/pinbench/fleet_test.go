package main

import (
	"bytes"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/internal/testcheck"
)

var updateFleet = flag.Bool("update-fleet", false, "rewrite testdata/fleet.md from the committed results folders")

// fleetRuns are the committed results folders the fleet golden is built
// from: a KVM guest and three emulated lab machines (4 CPUs with L2
// clusters, two NUMA nodes, SMT siblings).
var fleetRuns = []string{
	"results/amd-epyc-2c2t-vm-7c0fcb/latest",
	"lab/results/l2/tune",
	"lab/results/numa2/tune",
	"lab/results/smt2/tune",
}

// TestCompareFleetGolden: compare --out writes fleet.md, byte for byte
// testdata/fleet.md, and the heat maps picture; on the terminal it
// prints what compare prints without --out, then the folder's path. A
// change that alters fleet.md on purpose regenerates it with
//
//	go test ./cmd/pinbench -run CompareFleetGolden -update-fleet
//
// and commits it beside the change.
func TestCompareFleetGolden(t *testing.T) {
	t.Chdir(filepath.Join("..", "..")) // fleet.md names the runs as given
	out := filepath.Join(t.TempDir(), "fleet")
	code, stdout, stderr := runCLI(append([]string{"compare", "--out", out}, fleetRuns...)...)
	if code != 0 {
		t.Fatalf("compare --out: exit %d: %s", code, stderr)
	}
	code, plain, plainErr := runCLI(append([]string{"compare"}, fleetRuns...)...)
	if code != 0 || stdout != plain+"fleet report: "+out+"\n" || stderr != plainErr {
		t.Errorf("compare --out prints other than compare (exit %d) and the folder's path:\n%.300s\n...\n%s", code, stdout, stdout[max(0, len(stdout)-200):])
	}
	got, err := os.ReadFile(filepath.Join(out, "fleet.md"))
	if err != nil {
		t.Fatal(err)
	}
	testcheck.Golden(t, filepath.Join("cmd", "pinbench", "testdata", "fleet.md"), got, *updateFleet, "-update-fleet")
	if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 1 {
		t.Errorf("beside the fleet folder: %v; want no staging folder left", ents)
	}
	ents, _ := os.ReadDir(out)
	if len(ents) != 3 {
		t.Errorf("the fleet folder holds %d files, want fleet.md, heatmaps.svg, heatmaps.png", len(ents))
	}
	data, err := os.ReadFile(filepath.Join(out, "heatmaps.png"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(data)); err != nil {
		t.Errorf("heatmaps.png: %v", err)
	}
}

// TestCompareFleetErrors: each mistake is one line, exit 2 for a bad
// command line and 1 for a failure, before any table is printed, and
// leaves the --out folder as it was.
func TestCompareFleetErrors(t *testing.T) {
	a, b := writeRun(t, "a", "a's report"), writeRun(t, "b", "b's report")
	base := t.TempDir()
	full := filepath.Join(base, "full")
	if err := os.Mkdir(full, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(full, "keep.txt"), "mine")
	file := filepath.Join(a, rawFile)
	empty := t.TempDir()
	out := filepath.Join(base, "new")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--out", out, a}, 2, "two or more"},
		{[]string{"--out", out, a, file}, 2, file + " is a file, not a results folder"},
		{[]string{"--out", out, a, filepath.Join(base, "gone")}, 1, filepath.Join(base, "gone") + ": no such results folder"},
		{[]string{"--out", out, a, empty}, 1, empty + " is a folder without bench.txt: not a results folder"},
		{[]string{"--out", full, a, b}, 2, full + " is not empty; pass --force"},
		{[]string{"--out", b, "--force", a, b}, 2, b + " is a results folder"},
		{[]string{"--force", a, b}, 2, "--force applies to --out only"},
	} {
		code, stdout, stderr := runCLI(append([]string{"compare"}, c.args...)...)
		line := strings.TrimSpace(stderr)
		if code != c.code || stdout != "" || strings.Contains(line, "\n") || !strings.Contains(line, c.want) {
			t.Errorf("compare %q: exit %d, stdout %q, stderr %q; want exit %d and one line with %q", c.args, code, stdout, stderr, c.code, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("compare %q wrote %s", c.args, out)
		}
	}
	if keep, _ := os.ReadFile(filepath.Join(full, "keep.txt")); string(keep) != "mine" {
		t.Error("a refused --out lost its file")
	}
	if md, _ := os.ReadFile(filepath.Join(b, reportFile)); string(md) != "b's report" {
		t.Error("a results folder given as --out was touched")
	}
}

// TestCompareFleetForce: --force replaces a folder that holds files with
// the whole fleet report, and runs without a latency matrix get a fleet.md
// that says so and no picture. A missing parent folder is created.
func TestCompareFleetForce(t *testing.T) {
	a, b := writeRun(t, "a", ""), writeRun(t, "b", "")
	full := filepath.Join(t.TempDir(), "full")
	if err := os.Mkdir(full, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(full, "old.txt"), "")
	nested := filepath.Join(t.TempDir(), "x", "y", "fleet")
	for _, out := range []string{full, nested} {
		code, stdout, stderr := runCLI("compare", "--out", out, "--force", a, b)
		if code != 0 || !strings.HasSuffix(stdout, "fleet report: "+out+"\n") {
			t.Fatalf("compare --out %s --force: exit %d: %s%s", out, code, stdout, stderr)
		}
		ents, _ := os.ReadDir(out)
		md, _ := os.ReadFile(filepath.Join(out, "fleet.md"))
		if len(ents) != 1 || !strings.Contains(string(md), "No run has a latency matrix") {
			t.Errorf("%s holds %d files (want fleet.md alone), fleet.md:\n%s", out, len(ents), md)
		}
	}
}
