package report

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/trace"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pinbench/pinbench/internal/tracex"
)

// traceOutlier traces body on a goroutine of its own, locked to its
// thread as an iothread's, then logs an outlier record for a hop that
// took as long as body did, and writes the trace into dir/name.
func traceOutlier(t *testing.T, dir, name string, body func()) string {
	t.Helper()
	// A collection now, so that none is due during body (the earlier
	// tests allocated): the hops below are to show what body did.
	runtime.GC()
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skipf("cannot take a trace (go test -trace holds the tracer): %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		start := time.Now()
		body()
		rec := tracex.OutlierRecord{Bench: "BenchmarkX/via=aio", Hop: 7, Ns: int64(time.Since(start)), MedianNs: 1000, Factor: 20,
			Sender: "iothread 1 unpinned", Receiver: "iothread 2 unpinned", SenderCPU: [2]int{0, 0}, ReceiverCPU: [2]int{1, 1}}
		trace.Log(context.Background(), tracex.Outlier, rec.String())
	}()
	<-done
	trace.Stop()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A hop spent running (here: spinning) shows nothing in the trace; one
// spent in a system call names the call and the code that made it.
func TestExplainOutlierFile(t *testing.T) {
	dir := t.TempDir()
	spin := traceOutlier(t, dir, "spin-1.trace", func() {
		for end := time.Now().Add(2 * time.Millisecond); time.Now().Before(end); {
		}
	})
	e, err := ExplainOutlierFile(spin)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Causes) != 0 || !strings.Contains(e.Summary(), "hop 7 of BenchmarkX/via=aio took") || !strings.Contains(e.Summary(), "nothing visible") {
		t.Errorf("a spinning hop: causes %+v, summary %q; want none, nothing visible", e.Causes, e.Summary())
	}
	nap := traceOutlier(t, dir, "nap-1.trace", func() {
		ts := unix.NsecToTimespec(int64(5 * time.Millisecond))
		for unix.Nanosleep(&ts, &ts) == unix.EINTR {
		}
	})
	e, err = ExplainOutlierFile(nap)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Causes) == 0 || e.Causes[0].Kind != "syscall" || !strings.Contains(e.Causes[0].Text, "the receiver's coroutine") ||
		!strings.Contains(e.Causes[0].Text, "Nanosleep in report.TestExplainOutlierFile") || e.Causes[0].Dur < 4*time.Millisecond {
		t.Errorf("a hop in nanosleep: causes %+v; want the receiver in a system call, Nanosleep in this test, about 5 ms", e.Causes)
	}

	if !strings.Contains(e.Summary(), "syscall (") || !strings.Contains(e.Summary(), " of it): goroutine") {
		t.Errorf("summary %q: want the main cause with how much of the hop it covers", e.Summary())
	}
	// A generation change in the hop (here the flight recorder's cut) is
	// noted: a preemption then may be the tracer's own.
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{})
	if err := fr.Start(); err != nil {
		t.Fatal(err)
	}
	cut := traceOutlier(t, dir, "cut-1.trace", func() {
		time.Sleep(time.Millisecond)
		fr.WriteTo(io.Discard)
		time.Sleep(time.Millisecond)
	})
	fr.Stop()
	if e, err = ExplainOutlierFile(cut); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(e.Causes, func(c OutlierCause) bool { return c.Kind == "tracer" }) {
		t.Errorf("a hop with a generation change: causes %+v, want a tracer note", e.Causes)
	}
	if e, _ = ExplainOutlierFile(nap); slices.ContainsFunc(e.Causes, func(c OutlierCause) bool { return c.Kind == "tracer" }) {
		t.Errorf("a hop without a generation change: causes %+v, want no tracer note", e.Causes)
	}

	exps, err := ExplainOutliers(dir, "outliers")
	if err != nil || len(exps) != 3 || exps[0].File != "outliers/cut-1.trace" || exps[1].File != "outliers/nap-1.trace" || exps[2].File != "outliers/spin-1.trace" {
		t.Fatalf("ExplainOutliers: %v, %+v; want cut-1, nap-1 and spin-1 under outliers/", err, exps)
	}
	exps = exps[1:]
	var md bytes.Buffer
	(&Report{Title: "t", Outliers: exps}).WriteMarkdown(&md)
	for _, want := range []string{"## Outliers", "- `outliers/nap-1.trace`: hop 7 of BenchmarkX/via=aio took", "  - syscall, ", "nothing visible"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report.md lacks %q:\n%s", want, md.String())
		}
	}
	md.Reset()
	(&Report{Title: "t"}).WriteMarkdown(&md)
	if strings.Contains(md.String(), "Outliers") {
		t.Error("an Outliers section without outliers")
	}
}

// A file that is no trace, or a trace with no outlier in it, is an error
// naming the file.
func TestExplainOutlierFileErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.trace")
	if err := os.WriteFile(junk, []byte("not a trace"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ExplainOutlierFile(junk); err == nil || !strings.Contains(err.Error(), "junk.trace") {
		t.Errorf("junk: error %v, want one naming the file", err)
	}
	if _, err := ExplainOutliers(dir, "outliers"); err == nil || !strings.Contains(err.Error(), "junk.trace") {
		t.Errorf("a folder with junk: error %v", err)
	}
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skipf("cannot take a trace (go test -trace holds the tracer): %v", err)
	}
	trace.Log(context.Background(), "other", "message")
	trace.Stop()
	plain := filepath.Join(dir, "plain.trace")
	if err := os.WriteFile(plain, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ExplainOutlierFile(plain); err == nil || !strings.Contains(err.Error(), "plain.trace") || !strings.Contains(err.Error(), "not a pinbench outlier trace") {
		t.Errorf("a trace without an outlier: error %v", err)
	}
}

// A hop that began before the trace did (an outlier longer than the
// flight recorder's window) is explained from the part the trace holds:
// the sender's coroutine, blocked since before the trace began, is named
// although the trace learns of it only as it wakes.
func TestExplainOutlierLongerThanTheTrace(t *testing.T) {
	runtime.GC()
	const receiver = "iothread 2 unpinned"
	started, pushed, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var buf bytes.Buffer
	var start time.Time
	go func() { // the sender: sleeps, then pushes (its trace point)
		start = time.Now()
		close(started)
		time.Sleep(30 * time.Millisecond)
		trace.Log(context.Background(), tracex.CoSchedule, "ctx "+receiver+" co 0xc000001 where test")
		close(pushed)
	}()
	go func() { // the receiver: suspended until the push, then arrives
		defer close(done)
		<-pushed
		rec := tracex.OutlierRecord{Bench: "BenchmarkLong", Hop: 3, Ns: int64(time.Since(start)), MedianNs: 1000, Factor: 20,
			Sender: "iothread 1 unpinned", Receiver: receiver, SenderCPU: [2]int{-1, -1}, ReceiverCPU: [2]int{-1, -1}}
		trace.Log(context.Background(), tracex.Outlier, rec.String())
	}()
	<-started
	time.Sleep(10 * time.Millisecond)
	if err := trace.Start(&buf); err != nil {
		<-done
		t.Skipf("cannot take a trace (go test -trace holds the tracer): %v", err)
	}
	<-done
	trace.Stop()
	path := filepath.Join(t.TempDir(), "long-1.trace")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := ExplainOutlierFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if e.Covered >= time.Duration(e.Record.Ns) || e.Covered < 10*time.Millisecond {
		t.Errorf("covered %v of a %v hop, want the part after the trace began", e.Covered, time.Duration(e.Record.Ns))
	}
	if len(e.Causes) == 0 || e.Causes[0].Kind != "blocked" || !strings.Contains(e.Causes[0].Text, "the sender's coroutine") ||
		!strings.Contains(e.Causes[0].Text, "since before the trace's window began") || e.Causes[0].Dur < 10*time.Millisecond {
		t.Errorf("causes %+v, want the sender's coroutine blocked since before the window, for the 20 ms the trace holds", e.Causes)
	}
	for _, c := range e.Causes {
		if strings.Contains(c.Text, "the receiver's coroutine") {
			t.Errorf("the receiver, suspended until the push as it should be, is named: %+v", c)
		}
	}
	var md bytes.Buffer
	writeOutliersMarkdown(&md, []OutlierExplanation{e})
	if !strings.Contains(md.String(), "the trace reaches back over") {
		t.Errorf("report.md does not say the trace covers only part of the hop:\n%s", md.String())
	}
}
