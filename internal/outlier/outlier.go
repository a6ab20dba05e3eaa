// Package outlier explains a benchmark's slow sampled operations: while
// it runs, the execution tracer's flight recorder (runtime/trace's
// FlightRecorder) keeps the last moments of trace in memory. When a
// sampled operation takes more than a threshold (Factor times the running
// median of the samples before it), the side that saw it logs a
// tracex.OutlierRecord into the trace (tracex.Outlier) and a writer
// goroutine saves the recorder's window to DIR/NAME-N.trace, NAME the
// benchmark's sanitised name (FileName). A few files per benchmark at
// most: the count is taken in DIR, so it holds across the processes of a
// tuning run's rounds; once they are there, a worse outlier replaces the
// mildest one this process wrote, so the files are the worst seen. The
// files are read back by the names internal/tracex defines.
//
// Who may call what: a Recorder's methods from any goroutine; a Watch's
// Check, Sent and Report from the measured sides, one at a time (the
// sides take turns, ordered by the operation itself, as for a
// harness.Sampler); its Close once, after the run.
package outlier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime/trace"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pinbench/pinbench/internal/atomicfile"
	"github.com/pinbench/pinbench/internal/harness"
	"github.com/pinbench/pinbench/internal/tracex"
)

// Defaults of Options.
const (
	// DefaultFactor: a sampled hop slower than 20x the running
	// median is an outlier.
	DefaultFactor = 20
	// DefaultPerBench bounds the files written per benchmark.
	DefaultPerBench = 3
	// DefaultWindow is the flight recorder's window; see
	// Options.Window.
	DefaultWindow = 50 * time.Millisecond
	// outlierMaxBytes bounds the older part of a snapshot (the flight
	// recorder's MaxBytes); the current window is always whole.
	outlierMaxBytes = 8 << 20
	// outlierRing is how many recent samples the running median is taken
	// of, and outlierEvery how often it is recomputed (in samples): at
	// most every 32 samples, a copy and sort of 128 values (a few
	// microseconds, on the receiver before its next send, outside any
	// timed hop).
	outlierRing  = 128
	outlierEvery = 32
)

// Options configure Start. Zero fields take the
// defaults named on each.
type Options struct {
	// Dir receives the trace files; it is created if missing.
	Dir string
	// Factor is the threshold against the running median (default
	// DefaultFactor).
	Factor float64
	// MaxPerBench bounds the files per benchmark name in Dir (default
	// DefaultPerBench).
	MaxPerBench int
	// Window is about how far back a snapshot reaches (default
	// DefaultWindow): the recorder cuts the trace into generations
	// of that length (the runtime's own period is a second) and keeps the
	// current one and the one before, so a snapshot holds one to two
	// windows. A traced busy-polling handoff writes some 200 bytes a hop,
	// so at 50 ms a file is a few megabytes; an outlier longer than the
	// window is explained from the part the trace still holds. Each cut
	// briefly stops every P at a safe point (the runtime's forEachP), 20
	// times a second at the default: timings taken meanwhile are for
	// explaining, not for tables.
	Window time.Duration
	// Progress, when set, gets one line per trace file written.
	Progress io.Writer
	// NewFlightRecorder, when set, makes the flight recorder in place of
	// runtime/trace's (tests: one that cannot start).
	NewFlightRecorder func(trace.FlightRecorderConfig) FlightRecorder
	// OnSend, when set, is called by the sender of every watched sampled
	// operation between its clock read and its send (Watch.Sent), where a
	// delay is the operation's (tests: a forced outlier).
	OnSend func(hop int)
}

// FlightRecorder is what the recorder needs of
// runtime/trace.FlightRecorder.
type FlightRecorder interface {
	Start() error
	Stop()
	WriteTo(w io.Writer) (int64, error)
}

// newFlightRecorder is runtime/trace's flight recorder, the default of
// Options.NewFlightRecorder.
func newFlightRecorder(cfg trace.FlightRecorderConfig) FlightRecorder {
	return trace.NewFlightRecorder(cfg)
}

// Recorder runs the flight recorder for the whole process and hands out
// a Watch per benchmark run. Its methods may be called
// from any goroutine.
type Recorder struct {
	opts Options
	fr   FlightRecorder
	// mu serialises snapshots and generation cuts (the flight recorder
	// takes one WriteTo at a time), the choice of each file's number, and
	// saved.
	mu sync.Mutex
	// saved lists, per benchmark file name, the files this process wrote
	// and how slow their outliers were (times the median), so that once
	// MaxPerBench are there a worse outlier replaces the mildest.
	saved map[string][]savedTrace
	// epoch is where harness.MonoNow's zero lies on the execution trace's clock
	// (see traceClockEpoch), 0 when unknown; set once at the start.
	epoch int64
	// stop ends the cutting goroutine, which closes stopped as it ends.
	stop, stopped chan struct{}
}

// Start starts the flight recorder. It fails with an error
// saying so when the execution tracer's flight recorder cannot run here
// (another one is active in the process, or the runtime refuses it), or
// when Dir cannot be created.
//
// The window kept is one to two times opts.Window (see there).
func Start(opts Options) (*Recorder, error) {
	if opts.Dir == "" {
		return nil, errors.New("outlier recorder: no folder for the trace files")
	}
	if opts.Factor == 0 {
		opts.Factor = DefaultFactor
	}
	if opts.Factor <= 1 {
		return nil, fmt.Errorf("outlier recorder: factor %g: want more than 1 (a hop slower than FACTOR x the running median)", opts.Factor)
	}
	if opts.MaxPerBench <= 0 {
		opts.MaxPerBench = DefaultPerBench
	}
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("outlier recorder: cannot create %s: %w", opts.Dir, err)
	}
	newFR := opts.NewFlightRecorder
	if newFR == nil {
		newFR = newFlightRecorder
	}
	fr := newFR(trace.FlightRecorderConfig{MinAge: opts.Window, MaxBytes: outlierMaxBytes})
	if err := fr.Start(); err != nil {
		return nil, fmt.Errorf("the execution tracer's flight recorder is unavailable, so outliers cannot be explained: %w", err)
	}
	r := &Recorder{opts: opts, fr: fr, stop: make(chan struct{}), stopped: make(chan struct{}), saved: map[string][]savedTrace{}}
	r.epoch, _ = traceClockEpoch()
	go r.cut()
	return r, nil
}

// cut ends a trace generation every window, so that a snapshot holds the
// last one or two windows rather than up to a second of trace (see
// Options.Window).
func (r *Recorder) cut() {
	defer close(r.stopped)
	tick := time.NewTicker(r.opts.Window)
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-tick.C:
			r.Cut()
		}
	}
}

// Cut ends the trace's current generation now, as the recorder does
// every Options.Window: a WriteTo is the public way to end one. A failed
// cut only leaves the window longer.
func (r *Recorder) Cut() {
	r.mu.Lock()
	_, _ = r.fr.WriteTo(io.Discard)
	r.mu.Unlock()
}

// Stop stops the flight recorder. Call it once, after every watch is
// closed.
func (r *Recorder) Stop() {
	close(r.stop)
	<-r.stopped
	r.fr.Stop()
}

// Watch returns the watch for one run of benchmark bench (its full name);
// close it when the run is over.
func (r *Recorder) Watch(bench string) *Watch {
	w := &Watch{rec: r, bench: bench, name: FileName(bench), found: make(chan tracex.OutlierRecord, 1), done: make(chan struct{})}
	go w.writer()
	return w
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// FileName is the sanitised file-name stem for benchmark bench:
// "Benchmark" dropped, every run of characters other than letters,
// digits, '.', '_' and '-' turned into one '_' (so '/' and '=' become
// '_'): BenchmarkHandoff/via=aio/wait=poll/place=llc is
// Handoff_via_aio_wait_poll_place_llc.
func FileName(bench string) string {
	return strings.Trim(unsafeName.ReplaceAllString(strings.TrimPrefix(bench, "Benchmark"), "_"), "_")
}

// Watch watches the sampled hops of one benchmark run: the detector runs
// on whichever side receives a sampled hop (the sides take turns, ordered
// by the handoff itself, as for a harness.Sampler); the trace files are
// written by a goroutine of its own. Make one with Recorder.Watch.
type Watch struct {
	rec   *Recorder
	bench string
	name  string

	// The detector: recorder side only.
	ring    [outlierRing]int64 // the latest samples, cyclically
	scratch [outlierRing]int64
	seen    int   // samples observed
	median  int64 // of ring, recomputed every outlierEvery samples
	// dropped counts outliers not written because the writer was still
	// busy with an earlier one; recorder side only, read by Close after
	// the run.
	dropped int

	// found carries outliers to the writer (capacity 1: one that comes
	// while another waits is dropped and counted); done is closed when
	// the writer has finished.
	found chan tracex.OutlierRecord
	done  chan struct{}
	// Writer side until done is closed, then the closer's: the files
	// written and the first error.
	files []string
	err   error
}

// observe adds one sampled latency and reports whether it is an outlier:
// more than Factor times the running median, once outlierRing samples
// were seen. It returns the median it compared against.
func (w *Watch) observe(ns int64) (bool, int64) {
	w.ring[w.seen%outlierRing] = ns
	w.seen++
	if w.seen%outlierEvery == 0 && w.seen >= outlierRing {
		w.scratch = w.ring
		slices.Sort(w.scratch[:])
		w.median = w.scratch[outlierRing/2]
	}
	if w.median <= 0 {
		return false, 0
	}
	return float64(ns) > w.rec.opts.Factor*float64(w.median), w.median
}

// Check adds the latency ns of sampled hop hop, sent at sentAt (on
// harness.MonoNow's clock), and reports whether it is an outlier: more
// than Factor times the running median, once enough samples were seen.
// For an outlier it returns the record with the benchmark, the hop, the
// latency, the median, the factor and the arrival on the trace's clock
// (AtNs, 0 when unknown) filled in; the caller adds the sides and their
// CPUs and passes it to Report.
func (w *Watch) Check(hop int, sentAt, ns int64) (tracex.OutlierRecord, bool) {
	out, median := w.observe(ns)
	if !out {
		return tracex.OutlierRecord{}, false
	}
	var at int64 // the arrival, sentAt+ns on MonoNow's clock
	if e := w.rec.epoch; e != 0 {
		at = e + sentAt + ns
	}
	return tracex.OutlierRecord{Bench: w.bench, Hop: hop, Ns: ns, MedianNs: median, Factor: w.rec.opts.Factor, AtNs: at}, true
}

// Median is the running median Check compares against (0 before there is
// one); read it where Check is called.
func (w *Watch) Median() int64 { return w.median }

// Report logs rec into the trace and passes it to the writer, on the
// receiving side, right after the outlier arrived.
func (w *Watch) Report(rec tracex.OutlierRecord) {
	trace.Log(context.Background(), tracex.Outlier, rec.String())
	select {
	case w.found <- rec:
	default:
		w.dropped++
	}
}

// Sent is called by the sender of a watched sampled hop between its clock
// read and its send: Options.OnSend's place.
func (w *Watch) Sent(hop int) {
	if f := w.rec.opts.OnSend; f != nil {
		f(hop)
	}
}

// writer saves a snapshot per outlier it receives, until found is closed.
func (w *Watch) writer() {
	defer close(w.done)
	for rec := range w.found {
		path, err := w.rec.snapshot(w.name, float64(rec.Ns)/float64(max(rec.MedianNs, 1)), rec.String())
		switch {
		case err != nil:
			if w.err == nil {
				w.err = err
			}
		case path != "" && w.rec.opts.Progress != nil:
			fmt.Fprintf(w.rec.opts.Progress, "bench: outlier in %s: hop %d took %v, %.0fx the running median %v; trace in %s\n",
				rec.Bench, rec.Hop, time.Duration(rec.Ns), float64(rec.Ns)/float64(rec.MedianNs), time.Duration(rec.MedianNs), path)
		}
		if path != "" && !slices.Contains(w.files, path) { // a replaced file once
			w.files = append(w.files, path)
		}
	}
}

// Close waits for the files being written and returns their paths, and
// the first error met writing one. Call it once, after the run; the
// watch must not be used afterwards.
func (w *Watch) Close() ([]string, error) {
	close(w.found)
	<-w.done
	if w.dropped > 0 && w.rec.opts.Progress != nil {
		fmt.Fprintf(w.rec.opts.Progress, "bench: %d more outliers in %s came while an earlier one's trace was being written, and have none\n", w.dropped, w.bench)
	}
	return w.files, w.err
}

// savedTrace is a trace file this process wrote and its outlier's ratio
// to the median.
type savedTrace struct {
	path  string
	ratio float64
}

// snapshot writes the flight recorder's window for an outlier ratio
// times the median to dir/name-N.trace, N the first number free, after
// logging record (the outlier's, as its tracex.Outlier log has it) as a
// tracex.Snapshot: later outliers may have come in since this one, and
// the mark tells the reader which one the file is for. Once
// MaxPerBench files of that name are there, it replaces the one of this
// process with the mildest outlier if ratio is worse, and otherwise
// writes nothing: the files are the worst outliers seen, not the first.
// It returns the path written ("" when none).
func (r *Recorder) snapshot(name string, ratio float64, record string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	victim, write, err := r.victim(name, ratio)
	if err != nil || !write {
		return "", err
	}
	target := filepath.Join(r.opts.Dir, name+".trace") // names the temporary file
	if victim >= 0 {
		target = r.saved[name][victim].path
	}
	f, err := atomicfile.New(target)
	if err != nil {
		return "", fmt.Errorf("outlier recorder: %w", err)
	}
	defer f.Discard()
	trace.Log(context.Background(), tracex.Snapshot, record) // in the generation WriteTo ends
	if _, err := r.fr.WriteTo(f); err != nil {
		return "", fmt.Errorf("outlier recorder: writing the flight recorder's window for %s: %w", name, err)
	}
	if victim >= 0 {
		if err := f.Commit(); err != nil {
			return "", fmt.Errorf("outlier recorder: %w", err)
		}
		r.saved[name][victim].ratio = ratio
		return target, nil
	}
	return r.link(f, name, ratio)
}

// victim says whether an outlier ratio times the median gets a file of
// benchmark file name name, and which of this process's files it
// replaces (-1: a new one). With r.mu held.
func (r *Recorder) victim(name string, ratio float64) (victim int, write bool, err error) {
	existing, err := filepath.Glob(filepath.Join(r.opts.Dir, name+"-*.trace"))
	if err != nil {
		return -1, false, err
	}
	if len(existing) < r.opts.MaxPerBench {
		return -1, true, nil
	}
	victim = -1
	for i, st := range r.saved[name] {
		if st.ratio < ratio && (victim < 0 || st.ratio < r.saved[name][victim].ratio) {
			victim = i
		}
	}
	return victim, victim >= 0, nil
}

// link gives the written snapshot f the first free number of name. Link,
// not Commit: it fails when the name exists (another process of the
// tuning run took that number), so no file is overwritten. With r.mu
// held.
func (r *Recorder) link(f *atomicfile.File, name string, ratio float64) (string, error) {
	for n := 1; ; n++ {
		path := filepath.Join(r.opts.Dir, fmt.Sprintf("%s-%d.trace", name, n))
		err := f.Link(path)
		if err == nil {
			r.saved[name] = append(r.saved[name], savedTrace{path, ratio})
			return path, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("outlier recorder: %w", err)
		}
	}
}

// traceClockEpoch returns where harness.MonoNow's zero lies on the execution
// trace's clock, and how far off that may be (0, -1 when the clock
// cannot be read). On Linux the trace counts the runtime's nanotime,
// CLOCK_MONOTONIC read through the vDSO, in 64 ns units, and MonoNow
// counts the same clock from its epoch: a MonoNow read between two
// clock_gettime calls is placed to within half their gap, and the
// tightest of a few tries is kept. An outlier's arrival (a MonoNow read)
// then lands on the trace's own time line (OutlierRecord.AtNs).
func traceClockEpoch() (epoch, within int64) {
	within = -1
	for range 8 {
		var a, b unix.Timespec
		if unix.ClockGettime(unix.CLOCK_MONOTONIC, &a) != nil {
			return 0, -1
		}
		m := harness.MonoNow()
		if unix.ClockGettime(unix.CLOCK_MONOTONIC, &b) != nil {
			return 0, -1
		}
		if gap := b.Nano() - a.Nano(); within < 0 || gap-gap/2 < within {
			epoch, within = a.Nano()+gap/2-m, gap-gap/2
		}
	}
	return epoch, within
}
