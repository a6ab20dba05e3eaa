package bench

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/trace"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/internal/harness"
	"github.com/pinbench/pinbench/report"
)

// outliers is the -explain-outliers recorder, nil without the flag.
var outliers *OutlierRecorder

// Test hooks for the tuning run's tests (cmd/pinbench), which run this
// binary: with -explain-outliers, noFlightRecorderEnv=1 makes the flight
// recorder fail to start, and forceOutlierEnv=HOP:DURATION sleeps that
// long in the send of sampled hop HOP of every watched run.
const (
	noFlightRecorderEnv = "PINBENCH_TEST_NO_FLIGHT_RECORDER"
	forceOutlierEnv     = "PINBENCH_TEST_FORCE_OUTLIER"
)

// startOutliersFlag starts the recorder when -explain-outliers is given;
// its error is the line the test binary prints before it exits.
func startOutliersFlag() error {
	if !*explainOutliers {
		return nil
	}
	if os.Getenv(noFlightRecorderEnv) == "1" {
		newFlightRecorder = func(trace.FlightRecorderConfig) flightRecorder { return failingRecorder{} }
	}
	if v := os.Getenv(forceOutlierEnv); v != "" {
		h, d, _ := strings.Cut(v, ":")
		hop, herr := strconv.Atoi(h)
		sleep, derr := time.ParseDuration(d)
		if herr != nil || derr != nil {
			return fmt.Errorf("%s=%q: want HOP:DURATION", forceOutlierEnv, v)
		}
		handoffSendHook = func(n int) {
			if n == hop {
				time.Sleep(sleep)
			}
		}
	}
	rec, err := StartOutlierRecorder(OutlierOptions{Dir: *outlierDir, Factor: *outlierFactor, Progress: os.Stderr})
	if err != nil {
		return errors.New("-explain-outliers: " + err.Error())
	}
	outliers = rec
	return nil
}

// skipUnderFlightRecorder skips a test that runs its own flight recorder
// when the process already has one (-explain-outliers): only one may run.
func skipUnderFlightRecorder(t *testing.T) {
	if outliers != nil {
		t.Skip("-explain-outliers holds the process's flight recorder")
	}
}

func TestOutlierFileName(t *testing.T) {
	for in, want := range map[string]string{
		"BenchmarkHandoff/via=aio/wait=poll/place=llc":               "Handoff_via_aio_wait_poll_place_llc",
		"BenchmarkHandoff/via=aio/wait=block/rate=sparse/place=x#01": "Handoff_via_aio_wait_block_rate_sparse_place_x_01",
		"../../etc/passwd": ".._.._etc_passwd",
	} {
		if got := OutlierFileName(in); got != want || strings.Contains(got, "/") {
			t.Errorf("OutlierFileName(%q) = %q, want %q", in, got, want)
		}
	}
}

// The detector judges nothing before it has a median, then flags a hop
// above Factor times the running median, and follows a median that moves.
func TestOutlierDetector(t *testing.T) {
	w := &OutlierWatch{rec: &OutlierRecorder{opts: OutlierOptions{Factor: 20}}}
	for i := range outlierRing - 1 {
		if out, _ := w.observe(1e6); out { // a slow first stretch: no median yet
			t.Fatalf("sample %d flagged before the median exists", i)
		}
	}
	if out, _ := w.observe(1000); out {
		t.Fatal("flagged before the median exists")
	}
	for range outlierRing {
		w.observe(1000)
	}
	if out, median := w.observe(19000); out || median != 1000 {
		t.Fatalf("19x the median 1000: flagged %v, median %d; want not flagged, median 1000", out, median)
	}
	if out, _ := w.observe(21000); !out {
		t.Fatal("21x the median: not flagged")
	}
	for range 2 * outlierRing {
		w.observe(5000)
	}
	if out, median := w.observe(21000); out || median != 5000 {
		t.Fatalf("after the median moved to 5000: 21000 flagged %v against %d", out, median)
	}
}

// A sleep injected into one sampled hop makes exactly one outlier file,
// and the report's explanation of it names the sleep and the code that
// slept. The threshold (5000x a median of 4-40 us here) is far above
// this machine's own hiccups, even under a loaded go test ./...; should
// one still cross it, its file is told apart by its hop and logged. The
// sleep is at least twice the threshold, however slow the machine (an
// emulated lab guest's hops take far longer).
func TestForcedOutlierIsExplained(t *testing.T) {
	skipUnderFlightRecorder(t)
	dir := t.TempDir()
	var progress strings.Builder
	// The window reaches back past the whole sleep (seconds in an
	// emulated guest, where the median is a few hundred microseconds, and
	// across the runtime's own generation changes, each second);
	// MaxPerBench leaves room for the forced outlier after any natural
	// one.
	const factor = 5000
	rec, err := StartOutlierRecorder(OutlierOptions{Dir: dir, Factor: factor, MaxPerBench: 20, Window: time.Minute, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Stop()
	const hops, slow = 600, 400
	const name = "BenchmarkForced/via=aio/wait=block/place=unpinned"
	runtime.GC() // none due during the run: the sleep is to be the cause
	w := rec.Watch(name)
	sleep := 400 * time.Millisecond
	var cuts chan struct{}
	handoffSendHook = func(hop int) {
		if hop == slow {
			// The median was last written by a side before this send
			// was ordered after it (the handoff's push and drain).
			sleep = max(sleep, time.Duration(2*factor*float64(w.median)))
			// Generation changes during the sleep (the recorder's cut,
			// forced three times): a generation that sees nothing of the
			// sleeping sender makes the next one restate its state,
			// which must not end its block.
			cuts = make(chan struct{})
			go func() {
				defer close(cuts)
				for range 3 {
					time.Sleep(sleep / 4)
					rec.mu.Lock()
					_, _ = rec.fr.WriteTo(io.Discard)
					rec.mu.Unlock()
				}
			}()
			time.Sleep(sleep)
		}
	}
	defer func() { handoffSendHook = nil }()
	_, err = RunAioHandoff(HandoffConfig{Wait: aio.WaitBlock, Hops: hops, Outliers: w})
	if cuts != nil { // the hook ran, before the iothreads were joined
		<-cuts
	}
	files, werr := w.Close()
	if err != nil || werr != nil {
		t.Fatalf("handoff: %v; writing traces: %v", err, werr)
	}
	onDisk, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != len(onDisk) {
		t.Fatalf("outlier files %q, but on disk %q", files, onDisk)
	}
	exps, err := report.ExplainOutliers(dir, "outliers")
	if err != nil {
		t.Fatal(err)
	}
	var forced []report.OutlierExplanation
	for _, e := range exps {
		if e.Record.Hop == slow {
			forced = append(forced, e)
		} else {
			t.Logf("a natural outlier crossed the threshold too: %s", e.Summary())
		}
	}
	if len(forced) != 1 {
		t.Fatalf("%d files for the forced outlier (files %q), want exactly 1", len(forced), files)
	}
	if !strings.Contains(progress.String(), "hop 400 took") {
		t.Errorf("no progress line for the outlier: %q", progress.String())
	}
	e := forced[0]
	t.Logf("%s: %s", e.File, e.Summary())
	for _, c := range e.Causes {
		t.Logf("  %s %v: %s", c.Kind, c.Dur, c.Text)
	}
	if !strings.HasPrefix(e.File, "outliers/Forced_via_aio_wait_block_place_unpinned-") || e.Record.Bench != name || time.Duration(e.Record.Ns) < sleep || e.Record.AtNs == 0 {
		t.Fatalf("explanation of %s for %+v, want hop %d of %s, at least %v, with its arrival's time", e.File, e.Record, slow, name, sleep)
	}
	if e.Covered < sleep {
		t.Errorf("the trace covers %v of the hop, want the whole sleep", e.Covered)
	}
	if len(e.Causes) == 0 || e.Causes[0].Kind != "blocked" ||
		!strings.Contains(e.Causes[0].Text, "(sleep)") || !strings.Contains(e.Causes[0].Text, "TestForcedOutlierIsExplained") ||
		!strings.Contains(e.Causes[0].Text, "the sender's coroutine") || e.Causes[0].Dur < sleep*9/10 {
		t.Fatalf("main cause %+v, want the sender's coroutine blocked (sleep) in this test for about %v", e.Causes, sleep)
	}
	if !strings.Contains(e.Summary(), "blocked (") {
		t.Errorf("summary %q does not name the sleep", e.Summary())
	}
}

// monoNow placed on the trace's clock lies between two CLOCK_MONOTONIC
// reads around it, give or take the placement's error.
func TestTraceClockEpoch(t *testing.T) {
	epoch, within := traceClockEpoch()
	if within < 0 {
		t.Fatal("CLOCK_MONOTONIC cannot be read")
	}
	var a, b unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &a); err != nil {
		t.Fatal(err)
	}
	m := epoch + harness.MonoNow()
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &b); err != nil {
		t.Fatal(err)
	}
	if m < a.Nano()-within || m > b.Nano()+within {
		t.Fatalf("monoNow on the trace's clock %d, outside [%d, %d] widened by %d", m, a.Nano(), b.Nano(), within)
	}
}

// failingRecorder is a flight recorder that cannot start.
type failingRecorder struct{}

func (failingRecorder) Start() error                     { return errors.New("not supported by this runtime") }
func (failingRecorder) Stop()                            {}
func (failingRecorder) WriteTo(io.Writer) (int64, error) { return 0, errors.New("not started") }

// Where the flight recorder cannot run, -explain-outliers fails with a
// line that says so: forced by the hook, and for real when another flight
// recorder holds the process's one slot.
func TestOutliersFlagWithoutFlightRecorder(t *testing.T) {
	skipUnderFlightRecorder(t)
	defer func(old bool, dir string) { *explainOutliers, *outlierDir, outliers = old, dir, nil }(*explainOutliers, *outlierDir)
	*explainOutliers, *outlierDir = true, t.TempDir()

	defer func(old func(trace.FlightRecorderConfig) flightRecorder) { newFlightRecorder = old }(newFlightRecorder)
	newFlightRecorder = func(trace.FlightRecorderConfig) flightRecorder { return failingRecorder{} }
	err := startOutliersFlag()
	if err == nil || err.Error() != "-explain-outliers: the execution tracer's flight recorder is unavailable, so outliers cannot be explained: not supported by this runtime" {
		t.Fatalf("forced unavailable: error %v", err)
	}

	newFlightRecorder = func(cfg trace.FlightRecorderConfig) flightRecorder { return trace.NewFlightRecorder(cfg) }
	other := trace.NewFlightRecorder(trace.FlightRecorderConfig{})
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	err = startOutliersFlag()
	other.Stop()
	if err == nil || !strings.Contains(err.Error(), "-explain-outliers: the execution tracer's flight recorder is unavailable") || !strings.Contains(err.Error(), "already enabled") {
		t.Fatalf("with another flight recorder running: error %v", err)
	}
	if outliers != nil {
		t.Fatal("a recorder was set up although starting failed")
	}
	if _, err := StartOutlierRecorder(OutlierOptions{Dir: t.TempDir(), Factor: 0.5}); err == nil || !strings.Contains(err.Error(), "factor 0.5") {
		t.Fatalf("factor 0.5: error %v, want one naming it", err)
	}
}

// A benchmark gets MaxPerBench files at most, counted in the folder (so
// across the processes of a tuning run), numbered from 1; once they are
// there, a worse outlier replaces the mildest this process wrote, and a
// milder one is not written.
func TestOutlierFilesPerBenchmarkBounded(t *testing.T) {
	skipUnderFlightRecorder(t)
	dir := t.TempDir()
	rec, err := StartOutlierRecorder(OutlierOptions{Dir: dir, MaxPerBench: 2, Window: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Stop()
	var got []string
	for _, ratio := range []float64{30, 25, 40, 20, 35} {
		p, err := rec.snapshot("X", ratio, "")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, filepath.Base(p))
	}
	// 30 and 25 fill the two files; 40 replaces 25's, 20 is milder
	// than both, 35 replaces 30's.
	if strings.Join(got, ",") != "X-1.trace,X-2.trace,X-2.trace,.,X-1.trace" {
		t.Fatalf("snapshots of X at 30, 25, 40, 20, 35x with at most 2 gave %q", got)
	}
	ratios := []float64{}
	for _, st := range rec.saved["X"] {
		ratios = append(ratios, st.ratio)
	}
	if fmt.Sprint(ratios) != "[35 40]" {
		t.Errorf("kept ratios %v, want [35 40]", ratios)
	}
	if p, _ := rec.snapshot("Y", 1, ""); filepath.Base(p) != "Y-1.trace" {
		t.Errorf("another benchmark's first file is %q, want Y-1.trace", p)
	}
	// Files another process wrote fill the cap, and are not replaced.
	if err := os.WriteFile(filepath.Join(dir, "Z-1.trace"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Z-2.trace"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if p, _ := rec.snapshot("Z", 1000, ""); p != "" {
		t.Errorf("a full cap of another process's files: wrote %s", p)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %q", left)
	}
}
