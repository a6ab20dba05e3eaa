package tune

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/bench"
	"github.com/pinbench/pinbench/internal/atomicfile"
	"github.com/pinbench/pinbench/matrix/measure"
)

// fakeBenchBin writes a shell script that answers as a go test binary of
// ./bench does to what Run asks of it: the listing of the probe, the plan
// (-plan: BenchmarkFloor/place=unpinned would run) and a round (one
// result of it).
func fakeBenchBin(t *testing.T) string {
	t.Helper()
	return fakeBenchBinResult(t, "BenchmarkFloor/place=unpinned-2   	1000	 50.0 ns/op")
}

// fakeBenchBinResult is fakeBenchBin with result, a line without quotes,
// as each round's output.
func fakeBenchBinResult(t *testing.T, result string) string {
	t.Helper()
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh for a fake benchmark binary")
	}
	script := filepath.Join(t.TempDir(), "bench.test")
	body := `#!/bin/sh
echo "goos: linux"
echo "machine: fake-machine"
case " $* " in
*" -test.list "*) echo BenchmarkFloor; echo BenchmarkHandoff ;;
*" -plan "*)
	echo "=== RUN   BenchmarkFloor/place=unpinned"
	echo "    floor_test.go:1: ` + bench.PlanSkip + `"
	echo "--- SKIP: BenchmarkFloor/place=unpinned (0.00s)" ;;
*) echo "` + result + `" ;;
esac
`
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script
}

// Run with a suite program of its own: the run's folder complete (the
// files, the report naming it), the summary and the result's fields;
// every round of the count in bench.txt under the settings lines.
func TestRunFakeSuite(t *testing.T) {
	topo, err := affinity.Discover()
	if err != nil {
		t.Skip("no topology:", err)
	}
	o := Defaults(Quick)
	o.BenchBin, o.Count, o.Benchtime, o.MatrixReps, o.MatrixTransfers = fakeBenchBin(t), 2, "1x", 1, 200
	o.Out = filepath.Join(t.TempDir(), "run")
	var progress bytes.Buffer
	res, err := Run(context.Background(), o, &progress)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, progress.String())
	}
	if res.Dir != o.Out || res.Machine != topo.MachineID() || res.Topology == nil || res.Elapsed <= 0 {
		t.Errorf("result: folder %s, machine %s, elapsed %v; want %s, %s", res.Dir, res.Machine, res.Elapsed, o.Out, topo.MachineID())
	}
	if (res.Matrix != nil) != (topo.Allowed.Count() >= 2) {
		t.Errorf("matrix %v with %d allowed CPUs", res.Matrix != nil, topo.Allowed.Count())
	}
	if !strings.Contains(res.Summary, filepath.Join(o.Out, ReportFile)) {
		t.Errorf("summary does not name the report in the run's folder:\n%s", res.Summary)
	}
	for _, name := range []string{RawFile, ReportFile, TopologyFile} {
		if _, err := os.Stat(filepath.Join(o.Out, name)); err != nil {
			t.Errorf("the run's folder lacks %s: %v", name, err)
		}
	}
	raw, _ := os.ReadFile(filepath.Join(o.Out, RawFile))
	if !strings.HasPrefix(string(raw), "tune-mode: quick\nbenchtime: 1x\ncount: 2\n") || strings.Count(string(raw), "BenchmarkFloor/place=unpinned-2") != 2 {
		t.Errorf("bench.txt: want the settings lines, then one result a round:\n%s", raw)
	}
	for _, want := range []string{"[1/5 ", "[5/5 ", "machine " + res.Machine} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, progress.String())
		}
	}
}

// A run whose benchmark program reports NaN and infinite metrics keeps
// its results: bench.txt holds the result without them, the report is
// written, and the progress warns of each metric left out.
func TestRunNonFiniteMetrics(t *testing.T) {
	if _, err := affinity.Discover(); err != nil {
		t.Skip("no topology:", err)
	}
	o := Defaults(Quick)
	o.BenchBin = fakeBenchBinResult(t, "BenchmarkFloor/place=unpinned-2   	1000	 50.0 ns/op	 NaN ratio/op	 +Inf items/s")
	o.Count, o.Benchtime, o.MatrixReps, o.MatrixTransfers = 2, "1x", 1, 200
	o.Out = filepath.Join(t.TempDir(), "run")
	var progress bytes.Buffer
	if _, err := Run(context.Background(), o, &progress); err != nil {
		t.Fatalf("Run: %v\n%s", err, progress.String())
	}
	raw, _ := os.ReadFile(filepath.Join(o.Out, RawFile))
	if strings.Count(string(raw), "BenchmarkFloor/place=unpinned-2   	1000	 50.0 ns/op\n") != 2 {
		t.Errorf("bench.txt: want each round's result without its NaN and +Inf metrics:\n%s", raw)
	}
	for _, want := range []string{"warning: BenchmarkFloor/place=unpinned-2: NaN ratio/op ", "warning: BenchmarkFloor/place=unpinned-2: +Inf items/s "} {
		if strings.Count(progress.String(), want) != 2 {
			t.Errorf("progress: want %q once a round:\n%s", want, progress.String())
		}
	}
}

// A run whose context is done keeps nothing: no folder, no staging
// folder, and an error saying it was interrupted.
func TestRunCancelled(t *testing.T) {
	if _, err := affinity.Discover(); err != nil {
		t.Skip("no topology:", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := Defaults(Quick)
	o.BenchBin = fakeBenchBin(t)
	parent := t.TempDir()
	o.Out = filepath.Join(parent, "run")
	_, err := Run(ctx, o, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("Run with a done context: %v, want it interrupted", err)
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Errorf("an interrupted run left %v", left)
	}
}

// Options that no run takes are an *OptionError naming the flag, before
// anything is measured.
func TestOptionErrors(t *testing.T) {
	for _, c := range []struct {
		set  func(*Options)
		want string
	}{
		{func(o *Options) { o.Mode = Mode{} }, "want at least one sample"},
		{func(o *Options) { o.Count = MaxCount + 1 }, "--count 101: want at most 100"},
		{func(o *Options) { o.Force = true }, "--force needs --out"},
		{func(o *Options) { o.Benchtime = "0s" }, "--benchtime"},
		{func(o *Options) { o.Benchtime = "0x" }, "--benchtime"},
		{func(o *Options) { o.Bench = "(" }, "not a regular expression"},
		{func(o *Options) { o.OutlierFactor = 1 }, "--outlier-factor 1"},
		{func(o *Options) { o.Root = "capture" }, "--root needs --plan"},
	} {
		o := Defaults(Quick)
		c.set(&o)
		_, err := Run(context.Background(), o, &bytes.Buffer{})
		var oe *OptionError
		if !errors.As(err, &oe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an *OptionError saying %q", o, err, c.want)
		}
	}
	// The figures' overrides apply where set, and only there.
	o := Defaults(Full)
	o.Count, o.MatrixReps = 3, -1
	if m := o.resolved(); m.Count != 3 || m.Benchtime != Full.Benchtime || m.Matrix != Full.Matrix {
		t.Errorf("resolved %+v; want Full with 3 samples", m)
	}
}

// The plan for a capture: quick and full side by side for a run in either
// mode, a mode of its own alone; Count, Benchtime and Sweep apply to each
// mode planned, the matrix stays at each mode's repetitions.
func TestPlanCapture(t *testing.T) {
	root := filepath.Join("..", "testdata", "topologies", "two-socket-smt")
	smoke := Mode{Name: "smoke", Count: 6, Benchtime: "10x", Matrix: measure.Params{Reps: 3, Transfers: 2000}, SampleMatrix: true}
	for _, c := range []struct {
		mode  Mode
		sweep bool
		modes int
		want  []string
	}{
		{Full, false, 2, []string{"\nquick mode: 3 interleaved rounds of the suite, -benchtime 7x\n", "\nfull mode: 3 interleaved rounds of the suite, -benchtime 7x, poll-window sweep\n", "5 repetitions of 20000", "11 repetitions of 50000"}},
		{Quick, true, 2, []string{"\nquick mode: 3 interleaved rounds of the suite, -benchtime 7x, poll-window sweep\n", "\nfull mode: 3 interleaved rounds of the suite, -benchtime 7x, poll-window sweep\n"}},
		{smoke, false, 1, []string{"\nsmoke mode: 3 interleaved rounds of the suite, -benchtime 7x\n", "3 repetitions of 2000"}},
	} {
		o := Defaults(c.mode)
		o.Root, o.Bench, o.Count, o.Benchtime, o.MatrixReps, o.Sweep = root, "Floor", 3, "7x", 9, c.sweep
		var w, progress bytes.Buffer
		if err := Plan(context.Background(), o, &w, &progress); err != nil {
			t.Fatal(err)
		}
		plan := w.String()
		if !strings.HasPrefix(plan, "pinbench tune --plan for the capture "+root+": ") || strings.Count(plan, " mode: ") != c.modes {
			t.Errorf("%s: plan:\n%s", c.mode.Name, plan)
		}
		for _, want := range c.want {
			if !strings.Contains(plan, want) {
				t.Errorf("%s: plan lacks %q:\n%s", c.mode.Name, want, plan)
			}
		}
		if strings.Contains(plan, "9 repetitions") || strings.Contains(progress.String(), "measuring") {
			t.Errorf("%s: the plan took MatrixReps, or measured:\n%s\n%s", c.mode.Name, plan, progress.String())
		}
	}
	// No staging or extraction is left by a plan.
	if left, _ := filepath.Glob(filepath.Join(root, "*"+atomicfile.StagingMark+"*")); len(left) > 0 {
		t.Errorf("left: %v", left)
	}
}
