package outlier

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pinbench/pinbench/internal/harness"
)

func TestFileName(t *testing.T) {
	for in, want := range map[string]string{
		"BenchmarkHandoff/via=aio/wait=poll/place=llc":               "Handoff_via_aio_wait_poll_place_llc",
		"BenchmarkHandoff/via=aio/wait=block/rate=sparse/place=x#01": "Handoff_via_aio_wait_block_rate_sparse_place_x_01",
		"../../etc/passwd": ".._.._etc_passwd",
	} {
		if got := FileName(in); got != want || strings.Contains(got, "/") {
			t.Errorf("FileName(%q) = %q, want %q", in, got, want)
		}
	}
}

// The detector judges nothing before it has a median, then flags a hop
// above Factor times the running median, and follows a median that moves.
func TestDetector(t *testing.T) {
	w := &Watch{rec: &Recorder{opts: Options{Factor: 20}}}
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

// harness.MonoNow placed on the trace's clock lies between two CLOCK_MONOTONIC
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
		t.Fatalf("MonoNow on the trace's clock %d, outside [%d, %d] widened by %d", m, a.Nano(), b.Nano(), within)
	}
}

// A benchmark gets MaxPerBench files at most, counted in the folder (so
// across the processes of a tuning run), numbered from 1; once they are
// there, a worse outlier replaces the mildest this process wrote, and a
// milder one is not written.
func TestFilesPerBenchmarkBounded(t *testing.T) {
	dir := t.TempDir()
	rec, err := Start(Options{Dir: dir, MaxPerBench: 2, Window: 10 * time.Millisecond})
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

// A factor of 1 or less would call every hop an outlier: refused, named.
func TestStartRefusesFactorAtMostOne(t *testing.T) {
	if _, err := Start(Options{Dir: t.TempDir(), Factor: 0.5}); err == nil || !strings.Contains(err.Error(), "factor 0.5") {
		t.Fatalf("factor 0.5: error %v, want one naming it", err)
	}
}
