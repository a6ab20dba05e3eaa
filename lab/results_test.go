package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// resultsDir is where the committed lab runs live, one folder per preset.
const resultsDir = "results"

// Every committed lab run (results/<preset>) passes the checks against
// its preset's declaration, and says that it is emulated.
func TestCommittedLabRuns(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(resultsDir, "*"))
	found := map[string]bool{}
	for _, dir := range dirs {
		name := filepath.Base(dir)
		found[name] = true
		t.Run(name, func(t *testing.T) {
			p, err := LookupPreset(name)
			if err != nil {
				t.Fatalf("%s is not a preset's run: %v", dir, err)
			}
			d, err := ParseDecl(p.Args())
			if err != nil {
				t.Fatal(err)
			}
			_, err = os.Stat(filepath.Join(dir, "tune"))
			tune := err == nil
			if p.Small && !tune {
				t.Errorf("%s: a small preset's committed run has no tune/", dir)
			}
			// A run made with --plan-check holds plan.txt and quick/ (or,
			// with --plan-check-full, full/): its tune is held to the
			// plan's estimate here too.
			planCheck := ""
			if _, err := os.Stat(filepath.Join(dir, "plan.txt")); err == nil {
				planCheck = "quick"
				if _, err := os.Stat(filepath.Join(dir, "full")); err == nil {
					planCheck = "full"
				}
			}
			// A run made since the place step holds its outputs.
			_, err = os.Stat(filepath.Join(dir, "place-pins.txt"))
			place := err == nil
			res := Check(dir, d, CheckOptions{Tune: tune, PlanCheck: planCheck, Place: place})
			for _, pr := range res.Problems {
				t.Errorf("%s: %s", dir, pr)
			}
			b, err := os.ReadFile(filepath.Join(dir, "EMULATED.md"))
			if err != nil || !strings.Contains(string(b), "mean nothing") {
				t.Errorf("%s: no EMULATED.md saying the timings mean nothing (%v)", dir, err)
			}
		})
	}
	for _, p := range Presets() {
		if !found[p.Name] {
			t.Errorf("no committed run of preset %s in %s/%s", p.Name, resultsDir, p.Name)
		}
	}
}

// copyDir copies a folder tree into a temporary folder.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// edit rewrites one file of dir with f.
func edit(t *testing.T, dir, name string, f func(string) string) {
	t.Helper()
	p := filepath.Join(dir, name)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(f(string(b))), 0o644); err != nil {
		t.Fatal(err)
	}
}

// dropLines removes the lines containing sub.
func dropLines(sub string) func(string) string {
	return func(s string) string {
		var keep []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.Contains(l, sub) {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
}

// Each kind of broken run is caught, naming what is wrong.
func TestCheckCatchesBrokenRuns(t *testing.T) {
	src := filepath.Join(resultsDir, "numa2")
	if _, err := os.Stat(filepath.Join(src, "tune")); err != nil {
		t.Fatalf("the committed numa2 run with tune/ is needed: %v", err)
	}
	p, _ := LookupPreset("numa2")
	d, err := ParseDecl(p.Args())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		breakIt func(dir string)
		want    string
	}{
		{"a class's result missing", func(dir string) {
			edit(t, dir, "smoke.txt", dropLines("BenchmarkFloor/place=remote"))
		}, "Floor has no result at place=remote"},
		{"a class skipped", func(dir string) {
			edit(t, dir, "smoke.txt", func(s string) string {
				return strings.Replace(s, "BenchmarkFloor/place=remote\n", "BenchmarkFloor/place=remote\n    main_test.go:72: no two allowed CPUs\n--- SKIP: BenchmarkFloor/place=remote\n", 1)
			})
			edit(t, dir, "smoke.txt", dropLines("BenchmarkFloor/place=remote-"))
		}, "Floor skipped place=remote"},
		{"an undeclared class", func(dir string) {
			edit(t, dir, "smoke.txt", func(s string) string {
				return strings.ReplaceAll(s, "BenchmarkFloor/place=remote-", "BenchmarkFloor/place=llc-")
			})
		}, "Floor ran at place=llc"},
		{"node-wide pinning missing a node pair", func(dir string) {
			edit(t, dir, "smoke.txt", dropLines("BenchmarkHandoff/via=aio/wait=block/pin=node/place=remote"))
		}, "Handoff/via=aio/wait=block/pin=node has no result at place=remote"},
		{"a failed benchmark", func(dir string) {
			edit(t, dir, "smoke.txt", func(s string) string { return strings.Replace(s, "\nPASS", "\n--- FAIL: BenchmarkX\nFAIL", 1) })
		}, "did not end with PASS"},
		{"a failed step", func(dir string) {
			edit(t, dir, "status", func(s string) string { return strings.Replace(s, "smoke 0 ", "smoke 1 ", 1) })
		}, `step "smoke" exited 1`},
		{"a step past its limit", func(dir string) {
			edit(t, dir, "status", func(s string) string { return strings.Replace(s, "smoke 0 ", "smoke 137 ", 1) + "tune 0 5 timeout\n" })
		}, `step "tune" ran into its time limit`},
		{"the watchdog", func(dir string) {
			edit(t, dir, "status", func(s string) string { return dropLines("done")(s) + "\nwatchdog - 900 total-limit\n" })
		}, "in-guest watchdog ended the run"},
		{"wrong counts", func(dir string) {
			edit(t, dir, "topology.json", func(s string) string { return strings.Replace(s, `"numa_nodes": 2`, `"numa_nodes": 1`, 1) })
		}, "topology: the guest counts"},
		{"a wrong pair", func(dir string) {
			edit(t, dir, "topology.json", func(s string) string { return strings.Replace(s, `"samecpu": [`, `"smt": [0, 1], "samecpu": [`, 1) })
		}, "topology: the smt pair 0,1 is remote apart"},
		{"a failed test", func(dir string) {
			edit(t, dir, "tests.txt", func(s string) string {
				return s + "--- FAIL: TestX (0.00s)\nFAIL\tgithub.com/pinbench/pinbench/x\t1s\n"
			})
		}, "tests: --- FAIL: TestX"},
		{"a tune file missing", func(dir string) {
			if err := os.Remove(filepath.Join(dir, "tune", "heatmap.png")); err != nil {
				t.Fatal(err)
			}
		}, "heatmap.png missing"},
		{"no emulation warning", func(dir string) {
			edit(t, dir, "tune/report.md", func(s string) string { return strings.ReplaceAll(s, "emulated (QEMU TCG)", "") })
		}, "does not say its timings are emulated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, src)
			if res := Check(dir, d, CheckOptions{Tune: true}); len(res.Problems) != 0 {
				t.Fatalf("the unbroken copy has problems: %q", res.Problems)
			}
			tc.breakIt(dir)
			res := Check(dir, d, CheckOptions{Tune: true})
			if !strings.Contains(strings.Join(res.Problems, "\n"), tc.want) {
				t.Errorf("problems %q, want one mentioning %q", res.Problems, tc.want)
			}
		})
	}
}
