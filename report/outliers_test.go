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
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pinbench/pinbench/internal/futex"
	"github.com/pinbench/pinbench/internal/tracex"
)

// traceOutlier traces body on a goroutine of its own, locked to its
// thread as an iothread's, then logs an outlier record for a hop that
// took as long as body did, with its arrival on the trace's clock as
// bench's recorder writes it, and writes the trace into dir/name. lag,
// when not nil, runs between the arrival and the log (a receiver held
// up before it logs). It returns the file and how far off the arrival's
// time may be placed.
func traceOutlier(t *testing.T, dir, name string, body, lag func()) (string, time.Duration) {
	t.Helper()
	// A collection now, so that none is due during body (the earlier
	// tests allocated): the hops below are to show what body did.
	runtime.GC()
	traceClock, off := traceClockOf(t)
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skipf("cannot take a trace (go test -trace holds the tracer): %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		start := traceClock(time.Now())
		body()
		at := traceClock(time.Now())
		if lag != nil {
			lag()
		}
		rec := tracex.OutlierRecord{Bench: "BenchmarkX/via=aio", Hop: 7, Ns: at - start, MedianNs: 1000, Factor: 20,
			Sender: "iothread 1 unpinned", Receiver: "iothread 2 unpinned", SenderCPU: [2]int{0, 0}, ReceiverCPU: [2]int{1, 1}, AtNs: at}
		trace.Log(context.Background(), tracex.Outlier, rec.String())
	}()
	<-done
	trace.Stop()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, off
}

// traceClockOf returns a function placing a time.Now reading on
// CLOCK_MONOTONIC, the execution trace's clock on Linux, as bench's
// recorder places its clock: the hop's own clock reads are then vDSO
// reads, not system calls (a clock_gettime system call in the hop is a
// cause, hundreds of microseconds long in an emulated guest). It also
// returns how far off the placement may be.
func traceClockOf(t *testing.T) (func(time.Time) int64, time.Duration) {
	t.Helper()
	base := time.Now()
	var epoch, within int64 = 0, -1
	for range 8 {
		var a, b unix.Timespec
		if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &a); err != nil {
			t.Fatal(err)
		}
		m := int64(time.Since(base))
		if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &b); err != nil {
			t.Fatal(err)
		}
		if gap := b.Nano() - a.Nano(); within < 0 || gap < within {
			epoch, within = a.Nano()+gap/2-m, gap
		}
	}
	return func(now time.Time) int64 { return epoch + int64(now.Sub(base)) }, time.Duration(within - within/2)
}

// nap sleeps for d in the kernel (nanosleep, resumed after a signal).
func nap(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	for unix.Nanosleep(&ts, &ts) == unix.EINTR {
	}
}

// A hop spent running (here: spinning) shows nothing the receiver did;
// one spent in a system call names the call and the code that made it.
func TestExplainOutlierFile(t *testing.T) {
	dir := t.TempDir()
	spin, _ := traceOutlier(t, dir, "spin-1.trace", func() {
		for end := time.Now().Add(2 * time.Millisecond); time.Now().Before(end); {
		}
	}, nil)
	e, err := ExplainOutlierFile(spin)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.Summary(), "hop 7 of BenchmarkX/via=aio took") {
		t.Errorf("a spinning hop: summary %q does not name the hop", e.Summary())
	}
	// The receiver ran throughout: no block and no system call of its
	// own. What the runtime or the host did to it meanwhile (a
	// preemption, no P free, a collection, the tracer), which a loaded or
	// emulated machine may well show, is what the trace may name.
	for _, c := range e.Causes {
		switch c.Kind {
		case "preemption", "scheduling", "gc", "tracer":
			t.Logf("the spinning hop met %s (%v): %s", c.Kind, c.Dur, c.Text)
		default:
			t.Errorf("a spinning hop: cause %+v, want none of its own doing", c)
		}
	}
	if (len(e.Causes) == 0) != strings.Contains(e.Summary(), "nothing visible") {
		t.Errorf("a spinning hop: causes %+v, summary %q; want \"nothing visible\" exactly when there is no cause", e.Causes, e.Summary())
	}
	napped, off := traceOutlier(t, dir, "nap-1.trace", func() { nap(5 * time.Millisecond) }, nil)
	e, err = ExplainOutlierFile(napped)
	if err != nil {
		t.Fatal(err)
	}
	// The receiver was in the system call for all of the nanosleep's
	// 5 ms (less the trace clock's 64 ns ticks and how far off the
	// arrival's time may be); the runtime may add a wait for a P after
	// it.
	i := slices.IndexFunc(e.Causes, func(c OutlierCause) bool { return c.Kind == "syscall" })
	if i < 0 || !strings.Contains(e.Causes[i].Text, "the receiver's coroutine") ||
		!strings.Contains(e.Causes[i].Text, "Nanosleep in report.nap") || e.Causes[i].Dur < 5*time.Millisecond-off-time.Microsecond {
		t.Errorf("a hop in nanosleep: causes %+v; want the receiver in a system call, Nanosleep in this test's nap, for the 5 ms", e.Causes)
	}
	if !slices.IsSortedFunc(e.Causes, func(a, b OutlierCause) int { return int(b.Dur - a.Dur) }) {
		t.Errorf("causes %+v, want the largest first", e.Causes)
	}
	if len(e.Causes) > 0 && (!strings.Contains(e.Summary(), string(e.Causes[0].Kind)+" (") || !strings.Contains(e.Summary(), " of it): goroutine")) {
		t.Errorf("summary %q: want the main cause with how much of the hop it covers", e.Summary())
	}
	// A generation change in the hop (here the flight recorder's cut) is
	// noted: a preemption then may be the tracer's own.
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{})
	if err := fr.Start(); err != nil {
		t.Fatal(err)
	}
	cut, _ := traceOutlier(t, dir, "cut-1.trace", func() {
		time.Sleep(time.Millisecond)
		fr.WriteTo(io.Discard)
		time.Sleep(time.Millisecond)
	}, nil)
	fr.Stop()
	if e, err = ExplainOutlierFile(cut); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(e.Causes, func(c OutlierCause) bool { return c.Kind == "tracer" }) {
		t.Errorf("a hop with a generation change: causes %+v, want a tracer note", e.Causes)
	}
	if e, _ = ExplainOutlierFile(napped); slices.ContainsFunc(e.Causes, func(c OutlierCause) bool { return c.Kind == "tracer" }) {
		t.Errorf("a hop without a generation change: causes %+v, want no tracer note", e.Causes)
	}

	exps, err := ExplainOutliers(dir, "outliers")
	if err != nil || len(exps) != 3 || exps[0].File != "outliers/cut-1.trace" || exps[1].File != "outliers/nap-1.trace" || exps[2].File != "outliers/spin-1.trace" {
		t.Fatalf("ExplainOutliers: %v, %+v; want cut-1, nap-1 and spin-1 under outliers/", err, exps)
	}
	// The nap, and a hop whose trace shows nothing (the spin, on a quiet
	// machine).
	quiet := OutlierExplanation{File: "outliers/quiet-1.trace", Record: exps[2].Record, Covered: time.Duration(exps[2].Record.Ns)}
	var md bytes.Buffer
	(&Report{Title: "t", Outliers: []OutlierExplanation{exps[1], quiet}}).WriteMarkdown(&md)
	for _, want := range []string{"## Outliers", "- `outliers/nap-1.trace`: hop 7 of BenchmarkX/via=aio took", "  - syscall, ",
		"- `outliers/quiet-1.trace`: hop 7 of BenchmarkX/via=aio took", "median 1µs: nothing visible in the trace"} {
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

// The hop ends at the arrival the record gives, not at its log: what
// held the receiver up between the two (here a nanosleep, after a hop
// twice as long spent waiting, as a suspended receiver does) is not in
// it.
func TestExplainOutlierLoggedLate(t *testing.T) {
	late, _ := traceOutlier(t, t.TempDir(), "late-1.trace", func() { time.Sleep(10 * time.Millisecond) }, func() { nap(5 * time.Millisecond) })
	e, err := ExplainOutlierFile(late)
	if err != nil {
		t.Fatal(err)
	}
	if e.Record.AtNs == 0 {
		t.Fatal("CLOCK_MONOTONIC unreadable: the record has no arrival time")
	}
	for _, c := range e.Causes {
		if c.Kind == "syscall" {
			t.Errorf("the nanosleep after the arrival is named: %+v", c)
		}
	}
}

// A hop spent asleep on a futex word, in the one futex wrapper that aio's
// and colock's sleeps go through, is a futex wait, not a system call of
// the receiver's own: report finds the wrapper by the name tracex holds.
func TestExplainOutlierFutexWait(t *testing.T) {
	const d = 5 * time.Millisecond
	var word atomic.Uint32
	slept, off := traceOutlier(t, t.TempDir(), "futex-1.trace", func() {
		// Nothing wakes the word: each Wait ends at its timeout, or
		// early on a signal, and the loop sleeps out the rest.
		for end := time.Now().Add(d); time.Now().Before(end); {
			futex.Wait(&word, 0, time.Until(end))
		}
	}, nil)
	e, err := ExplainOutlierFile(slept)
	if err != nil {
		t.Fatal(err)
	}
	var wait time.Duration
	for _, c := range e.Causes {
		switch c.Kind {
		case CauseFutexWait:
			wait += c.Dur
		case CauseSyscall:
			t.Errorf("a hop asleep on a futex: cause %+v, want a futex wait", c)
		}
	}
	// Less the clock reads between the waits, the trace clock's ticks and
	// how far off the arrival's time may be.
	if wait < d*9/10-off {
		t.Errorf("a hop asleep on a futex for %v: causes %+v, want a futex wait covering most of it", d, e.Causes)
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

// A file saved for an outlier after later ones came in (its writer was
// busy) is explained for the one its snapshot mark names; without a mark,
// or with one naming no outlier in the file, for the last.
func TestExplainOutlierFileSavedFor(t *testing.T) {
	dir := t.TempDir()
	var recs [2]tracex.OutlierRecord
	for i := range recs {
		recs[i] = tracex.OutlierRecord{Bench: "BenchmarkX", Hop: i + 1, Ns: 50000, MedianNs: 1000, Factor: 20,
			Sender: "iothread 1 unpinned", Receiver: "iothread 2 unpinned", SenderCPU: [2]int{-1, -1}, ReceiverCPU: [2]int{-1, -1}}
	}
	for _, c := range []struct {
		mark string
		hop  int
	}{{"", 2}, {recs[0].String(), 1}, {recs[1].String(), 2}, {"bench=other", 2}} {
		var buf bytes.Buffer
		if err := trace.Start(&buf); err != nil {
			t.Skipf("cannot take a trace (go test -trace holds the tracer): %v", err)
		}
		for _, r := range recs {
			trace.Log(context.Background(), tracex.Outlier, r.String())
		}
		if c.mark != "" {
			trace.Log(context.Background(), tracex.Snapshot, c.mark)
		}
		trace.Stop()
		path := filepath.Join(dir, "x-1.trace")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		e, err := ExplainOutlierFile(path)
		if err != nil || e.Record.Hop != c.hop {
			t.Errorf("mark %q: explained %+v (error %v), want hop %d", c.mark, e.Record, err, c.hop)
		}
	}
}

// A hop that began before the trace did (an outlier longer than the
// flight recorder's window) is explained from the part the trace holds:
// the sender's coroutine, blocked since before the trace began, is named
// although the trace learns of it only as it wakes, and counted as
// blocked from the trace's start to its wake-up across the generation
// changes between, which restate its state without a reason.
func TestExplainOutlierLongerThanTheTrace(t *testing.T) {
	runtime.GC()
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{}) // to cut the trace into generations
	if err := fr.Start(); err != nil {
		t.Fatal(err)
	}
	defer fr.Stop()
	const receiver = "iothread 2 unpinned"
	// The sender's clock read: a minute before the trace, far more than
	// any delay between the receiver's clock read and its log.
	start := time.Now().Add(-time.Minute)
	release, pushed, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() { // the sender: blocked until released, then pushes (its trace point)
		<-release
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
	waitParked(t, "report.TestExplainOutlierLongerThanTheTrace.func1", "chan receive")
	var buf bytes.Buffer
	t0 := time.Now()
	if err := trace.Start(&buf); err != nil {
		close(release)
		<-done
		t.Skipf("cannot take a trace (go test -trace holds the tracer): %v", err)
	}
	// The sender is blocked from before the trace's first event through
	// [t1, t2]. Two generation changes: the second generation sees
	// nothing of it, so the third restates its state.
	t1 := time.Now()
	for range 2 {
		if _, err := fr.WriteTo(io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	// After the restatement, longer than the trace was before t1: a
	// block cut off at the restatement would come out shorter than
	// t2-t1.
	cut := time.Now()
	time.Sleep(t1.Sub(t0) + time.Millisecond)
	t2 := time.Now()
	close(release)
	<-done
	trace.Stop()
	whole := time.Since(t0)
	t.Logf("trace started in %v, generations cut in %v, block after the cuts %v", t1.Sub(t0), cut.Sub(t1), t2.Sub(cut))
	path := filepath.Join(t.TempDir(), "long-1.trace")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := ExplainOutlierFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Bounds the test's own clock reads give, less the trace clock's
	// 64 ns ticks.
	const tick = time.Microsecond
	if e.Covered >= time.Duration(e.Record.Ns) || e.Covered < t2.Sub(t1)-tick || e.Covered > whole+tick {
		t.Errorf("covered %v of a %v hop, want the part after the trace began: at least %v, at most %v", e.Covered, time.Duration(e.Record.Ns), t2.Sub(t1), whole)
	}
	i := slices.IndexFunc(e.Causes, func(c OutlierCause) bool { return c.Kind == "blocked" })
	if i < 0 || !strings.Contains(e.Causes[i].Text, "the sender's coroutine") ||
		!strings.Contains(e.Causes[i].Text, "since before the trace's window began") || e.Causes[i].Dur < t2.Sub(t1)-tick {
		t.Errorf("causes %+v, want the sender's coroutine blocked since before the window, for at least the %v the test kept it blocked in the trace", e.Causes, t2.Sub(t1))
	}
	for _, c := range e.Causes {
		if c.Kind == "blocked" && strings.Contains(c.Text, "the receiver's coroutine") {
			t.Errorf("the receiver, suspended until the push as it should be, is named: %+v", c)
		}
	}
	var md bytes.Buffer
	writeOutliersMarkdown(&md, []OutlierExplanation{e})
	if !strings.Contains(md.String(), "the trace reaches back over") {
		t.Errorf("report.md does not say the trace covers only part of the hop:\n%s", md.String())
	}
}

// waitParked waits until a goroutine running fn (a function its stack
// names, package-qualified) is parked in state ("chan receive"), failing
// the test after 10 s: the runtime's goroutine dump is the one place
// that tells.
func waitParked(t *testing.T, fn, state string) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for deadline := time.Now().Add(10 * time.Second); ; {
		dump := string(buf[:runtime.Stack(buf, true)])
		for g := range strings.SplitSeq(dump, "\n\n") {
			header, stack, _ := strings.Cut(g, "\n")
			if strings.Contains(header, "["+state) && strings.Contains(stack, "/"+fn+"(") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no goroutine of %s parked in %s after 10s:\n%s", fn, state, dump)
		}
		time.Sleep(100 * time.Microsecond)
	}
}
