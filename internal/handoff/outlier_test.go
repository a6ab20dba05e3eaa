package handoff

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/internal/outlier"
	"github.com/pinbench/pinbench/report"
)

// A sleep injected into one sampled hop makes exactly one outlier file,
// and the report's explanation of it names the sleep and the code that
// slept. The threshold (5000x a median of 4-40 us here) is far above
// this machine's own hiccups, even under a loaded go test ./...; should
// one still cross it, its file is told apart by its hop and logged. The
// sleep is at least twice the threshold, however slow the machine (an
// emulated lab guest's hops take far longer).
func TestForcedOutlierIsExplained(t *testing.T) {
	dir := t.TempDir()
	var progress strings.Builder
	// The window reaches back past the whole sleep (seconds in an
	// emulated guest, where the median is a few hundred microseconds, and
	// across the runtime's own generation changes, each second);
	// MaxPerBench leaves room for the forced outlier after any natural
	// one.
	const factor = 5000
	const hops, slow = 600, 400
	const name = "BenchmarkForced/via=aio/wait=block/place=unpinned"
	var w *outlier.Watch
	sleep := 400 * time.Millisecond
	var cuts chan struct{}
	var rec *outlier.Recorder
	onSend := func(hop int) {
		if hop == slow {
			// The median was last written by a side before this send
			// was ordered after it (the handoff's push and drain).
			sleep = max(sleep, time.Duration(2*factor*float64(w.Median())))
			// Generation changes during the sleep (the recorder's cut,
			// forced three times): a generation that sees nothing of the
			// sleeping sender makes the next one restate its state,
			// which must not end its block.
			cuts = make(chan struct{})
			go func() {
				defer close(cuts)
				for range 3 {
					time.Sleep(sleep / 4)
					rec.Cut()
				}
			}()
			time.Sleep(sleep)
		}
	}
	rec, err := outlier.Start(outlier.Options{Dir: dir, Factor: factor, MaxPerBench: 20, Window: time.Minute, Progress: &progress, OnSend: onSend})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Stop()
	runtime.GC() // none due during the run: the sleep is to be the cause
	w = rec.Watch(name)
	_, err = RunAio(Config{Wait: aio.WaitBlock, Hops: hops, Outliers: w})
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
