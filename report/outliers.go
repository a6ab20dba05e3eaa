package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	// The trace parser: golang.org/x/exp/trace. Go 1.26's standard
	// library has the same parser only as internal/trace (go doc
	// internal/trace: "use of internal package not allowed"), which cmd/trace
	// uses and no other module may import; x/exp/trace is its exported
	// copy, kept in step with the runtime's trace format (the version used
	// here reads Go 1.26 traces).
	xtrace "golang.org/x/exp/trace"

	"github.com/pinbench/pinbench/internal/tracex"
)

// OutlierCause is one thing an outlier's trace shows during the slow hop.
type OutlierCause struct {
	// Kind is what it is.
	Kind CauseKind
	// Dur is how much of the hop it covers (0 for a migration).
	Dur time.Duration
	// Text says it in a sentence: what, which goroutine, where.
	Text string
}

// CauseKind classifies an OutlierCause.
type CauseKind string

// The kinds of cause.
const (
	CauseGC         CauseKind = "gc"         // a stop-the-world, the concurrent mark phase, or mark assist
	CausePreemption CauseKind = "preemption" // preempted, then waiting for a P
	CauseScheduling CauseKind = "scheduling" // runnable, but no P free for it
	CauseBlocked    CauseKind = "blocked"    // blocked in the runtime (channel, lock, sleep, ...)
	CauseSyscall    CauseKind = "syscall"    // in a system call
	CauseFutexWait  CauseKind = "futex wait" // asleep on its futex after the push: the wake-up came late
	CauseMigration  CauseKind = "migration"  // moved to another CPU (getcpu)
	CauseTracer     CauseKind = "tracer"     // the trace's own generation change fell in the hop
)

// OutlierExplanation is what one outlier trace (bench's
// -explain-outliers) shows around its outlier.
type OutlierExplanation struct {
	// File is the trace file, as the report names it.
	File string
	// Record is the outlier as the benchmark logged it.
	Record tracex.OutlierRecord
	// Covered is how much of the hop the trace reaches back over: the
	// whole hop, or less when the flight recorder's window began after
	// the send.
	Covered time.Duration
	// Causes lists what the trace shows during the hop, the largest
	// first; empty when nothing is visible.
	Causes []OutlierCause
}

// Summary is the explanation in one line: the outlier, then its main
// cause, or "nothing visible" with what that means.
func (e OutlierExplanation) Summary() string {
	r := e.Record
	s := fmt.Sprintf("hop %d of %s took %v, %.0fx the running median %v: ", r.Hop, r.Bench, roundDur(time.Duration(r.Ns)), float64(r.Ns)/float64(max(r.MedianNs, 1)), roundDur(time.Duration(r.MedianNs)))
	if len(e.Causes) == 0 {
		return s + "nothing visible in the trace (every goroutine of the handoff ran, or waited as usual, throughout): the time went outside the Go runtime; the host or another process took the CPU"
	}
	c := e.Causes[0]
	if c.Dur > 0 {
		return s + fmt.Sprintf("%s (%v of it): %s", c.Kind, roundDur(c.Dur), c.Text)
	}
	return s + string(c.Kind) + ": " + c.Text
}

// ExplainOutliers explains every *.trace file in dir, in name order, each
// named "NAME" relative to dir joined to under (under "outliers" names
// them outliers/NAME-1.trace). A folder with no trace files gives none.
func ExplainOutliers(dir, under string) ([]OutlierExplanation, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.trace"))
	if err != nil {
		return nil, err
	}
	slices.Sort(paths)
	var out []OutlierExplanation
	for _, p := range paths {
		e, err := ExplainOutlierFile(p)
		if err != nil {
			return nil, err
		}
		e.File = filepath.Join(under, filepath.Base(p))
		out = append(out, e)
	}
	return out, nil
}

// ExplainOutlierFile reads one outlier trace and says what it shows
// during the outlier: the tracex.Outlier log the snapshot was taken for
// (the one its tracex.Snapshot mark names, else the last) marks the
// arrival, and the hop is the record's latency before it. The goroutines of the handoff are found by the aio
// trace points' logs (which name the contexts): the receiver's coroutine
// (it logged the outlier), the sender's (it scheduled onto the receiver:
// that trace point marks the push) and the receiving iothread's own (it
// entered the coroutine). The sender's coroutine is looked at from the
// clock read to the push, the receiver's side from the push to the
// arrival, each in the states it should not be in then (a suspended
// coroutine waits, a sending coroutine runs). Over the hop it looks for,
// in the order reported when tied:
//
//   - GC: a stop-the-world, the concurrent mark phase, or mark assist on
//     one of those goroutines;
//   - preemption: one of them preempted and waiting for a P again;
//   - scheduling: one of them runnable but not running (no P free);
//   - blocked: one of them waiting, with the runtime's reason (sleep,
//     chan receive, sync, ...) and the code that blocked;
//   - syscall or futex wait: one of them in a system call (a futex wait
//     when it is asleep in the futex wrapper, tracex.FutexWaitFunc), with
//     the code that made it;
//   - migration: a side's CPU differed before and after (the record's
//     getcpu readings).
//
// Each one that covers at least a twentieth of the part of the hop the
// trace holds (all of it, unless the hop began before the window) is
// listed; none means nothing in the Go runtime explains the time.
func ExplainOutlierFile(path string) (OutlierExplanation, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return OutlierExplanation{}, fmt.Errorf("report: reading outlier trace: %w", err)
	}
	e, err := explainOutlier(data)
	if err != nil {
		return OutlierExplanation{}, fmt.Errorf("report: outlier trace %s: %w", path, err)
	}
	e.File = path
	return e, nil
}

// readEvents calls fn with each event of the trace in data.
func readEvents(data []byte, fn func(ev *xtrace.Event)) error {
	r, err := xtrace.NewReader(bytes.NewReader(data))
	if err != nil {
		return err
	}
	for {
		ev, err := r.ReadEvent()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		fn(&ev)
	}
}

// outlierScan is the first pass over a trace: the outlier and who is who.
type outlierScan struct {
	first xtrace.Time // the trace's first event
	// logs are the tracex.Outlier logs, in order; saved is the message
	// of the last tracex.Snapshot log (the outlier the file was saved
	// for).
	logs  []outlierLog
	saved string
	// owners maps a context's label to its owner goroutine; schedulers
	// maps it to who scheduled onto it, and when.
	owners     map[string]xtrace.GoID
	schedulers map[string][]schedLog
}

// outlierLog is one tracex.Outlier log: its time (the arrival), message
// and goroutine (the receiver's coroutine).
type outlierLog struct {
	at       xtrace.Time
	msg      string
	receiver xtrace.GoID
}

func explainOutlier(data []byte) (OutlierExplanation, error) {
	s, err := scanOutlierTrace(data)
	if err != nil {
		return OutlierExplanation{}, err
	}
	out := s.savedOutlier()
	rec, err := tracex.ParseOutlier(out.msg)
	if err != nil {
		return OutlierExplanation{}, err
	}
	at := s.arrival(out, rec)
	start := xtrace.Time(int64(at) - rec.Ns)
	e := OutlierExplanation{Record: rec, Covered: time.Duration(rec.Ns)}
	if s.first > start {
		e.Covered = at.Sub(s.first)
		start = s.first
	}
	causes, cuts, err := scanHop(data, s.first, start, at, s.hopRoles(rec, out.receiver, start, at))
	if err != nil {
		return OutlierExplanation{}, err
	}
	e.Causes = hopCauses(rec, e.Covered, causes, cuts)
	return e, nil
}

// scanOutlierTrace is the first pass: the trace's outlier logs, its last
// snapshot mark, and the owners of and schedulers onto each context.
func scanOutlierTrace(data []byte) (*outlierScan, error) {
	s := &outlierScan{owners: map[string]xtrace.GoID{}, schedulers: map[string][]schedLog{}}
	if err := readEvents(data, s.event); err != nil {
		return nil, err
	}
	if len(s.logs) == 0 {
		return nil, fmt.Errorf("no %s log in it: not a pinbench outlier trace", tracex.Outlier)
	}
	return s, nil
}

// event takes the trace's next event in the first pass.
func (s *outlierScan) event(ev *xtrace.Event) {
	if s.first == 0 {
		s.first = ev.Time()
	}
	if ev.Kind() != xtrace.EventLog {
		return
	}
	l := ev.Log()
	switch l.Category {
	case tracex.Outlier:
		s.logs = append(s.logs, outlierLog{ev.Time(), l.Message, ev.Goroutine()})
	case tracex.Snapshot:
		s.saved = l.Message
	case tracex.ScheduleBHEnter:
		if name, ok := tracex.ContextOf(l.Message); ok {
			s.owners[name] = ev.Goroutine()
		}
	case tracex.CoSchedule:
		if name, ok := tracex.ContextOf(l.Message); ok {
			s.schedulers[name] = append(s.schedulers[name], schedLog{ev.Goroutine(), ev.Time()})
		}
	}
}

// savedOutlier is the outlier the file was saved for: the one the mark
// before the save names (later ones may have come in while the writer was
// busy), or the last (a trace without the mark).
func (s *outlierScan) savedOutlier() outlierLog {
	for _, l := range slices.Backward(s.logs) {
		if l.msg == s.saved {
			return l
		}
	}
	return s.logs[len(s.logs)-1]
}

// arrival is the hop's arrival: the record's own time for it (the
// receiver's clock read, on the trace's clock) where it lies between the
// trace's start and the log, else the log. The log comes after the read,
// and much later when the receiver was preempted in between: taken for
// the arrival, it moved the hop later, missing its start and taking in
// what came after.
func (s *outlierScan) arrival(out outlierLog, rec tracex.OutlierRecord) xtrace.Time {
	if a := xtrace.Time(rec.AtNs); a >= s.first && a <= out.at+traceTick {
		return min(a, out.at)
	}
	return out.at
}

// hopRoles are the goroutines the second pass watches over the hop from
// start to the arrival at, each over its side's part.
//
// The sender's coroutine made the last schedule onto the receiver before
// the arrival: its trace point marks the push, which splits the hop into
// the send (clock read to push, the sender's doing) and the delivery
// (push to arrival: the receiver waking, draining, entering). A receiver
// asleep before the push is just waiting for work. Until the arrival the
// receiver's coroutine is suspended (waiting) and its iothread asleep,
// polling or draining; the sender's coroutine runs from its clock read to
// its push, while the sending iothread waits under it (not watched: its
// coroutine is).
func (s *outlierScan) hopRoles(rec tracex.OutlierRecord, receiver xtrace.GoID, start, at xtrace.Time) map[xtrace.GoID]goRole {
	var last schedLog
	for _, sl := range s.schedulers[rec.Receiver] {
		if sl.at <= at && sl.g != receiver && sl.at >= last.at {
			last = sl
		}
	}
	push := max(last.at, start)
	roles := map[xtrace.GoID]goRole{receiver: {"the receiver's coroutine", push, at, true}}
	if last.at != 0 {
		roles[last.g] = goRole{"the sender's coroutine", start, push, false}
	}
	if g, ok := s.owners[rec.Receiver]; ok {
		roles[g] = goRole{rec.Receiver + ", the receiving iothread", push, at, true}
	}
	return roles
}

// hopCauses are the causes worth naming, largest first: those of the
// second pass that cover a twentieth of what the trace shows of the hop
// (covered), the tracer's generation cuts, and the sides' migrations.
func hopCauses(rec tracex.OutlierRecord, covered time.Duration, scanned []OutlierCause, cuts int) []OutlierCause {
	// A twentieth of what the trace can show: against the whole of a hop
	// far longer than the window, a cause covering all the trace holds
	// would be dropped, and the hop called unexplained.
	var causes []OutlierCause
	least := max(covered/20, time.Microsecond)
	for _, c := range scanned {
		if c.Dur >= least {
			causes = append(causes, c)
		}
	}
	if cuts > 0 {
		causes = append(causes, OutlierCause{Kind: CauseTracer, Text: "the trace moved to a new generation during the hop (the flight recorder's cut, or the runtime's own each second, briefly stops every P at a safe point): a preemption then may be the tracer's own"})
	}
	for _, side := range []struct {
		name string
		cpus [2]int
		what string
	}{{rec.Sender, rec.SenderCPU, "between its clock read and its push"}, {rec.Receiver, rec.ReceiverCPU, "since it last handled a sampled hop"}} {
		if tracex.Migrated(side.cpus) {
			causes = append(causes, OutlierCause{Kind: CauseMigration, Text: fmt.Sprintf("%s moved from CPU %d to CPU %d %s (getcpu)", side.name, side.cpus[0], side.cpus[1], side.what)})
		}
	}
	// Largest first; a migration (no duration) after the timed causes.
	slices.SortStableFunc(causes, func(a, b OutlierCause) int { return int(b.Dur - a.Dur) })
	return causes
}

// writeOutliersMarkdown writes the report's outlier section: per trace
// file, the outlier and everything its trace shows during the hop. No
// section when there are none.
func writeOutliersMarkdown(b *bytes.Buffer, outliers []OutlierExplanation) {
	if len(outliers) == 0 {
		return
	}
	b.WriteString("## Outliers\n\n")
	b.WriteString("Sampled handoffs slower than the threshold (a multiple of the running median), from a traced extra round of the suite (its timings are not in the tables: the flight recorder costs time). Each file holds the execution trace of the moments before the outlier's arrival (`go tool trace FILE`); below, what it shows during the hop, the largest first. \"Nothing visible\" means every goroutine of the handoff ran, or waited as it should, throughout: the time went outside the Go runtime (the host or another process took the CPU).\n\n")
	for _, o := range outliers {
		fmt.Fprintf(b, "- `%s`: %s\n", o.File, mdEscape(o.Summary()))
		if o.Covered < time.Duration(o.Record.Ns) {
			fmt.Fprintf(b, "  - the trace reaches back over %v of the hop only (the flight recorder's window)\n", roundDur(o.Covered))
		}
		for _, c := range o.Causes {
			if c.Dur > 0 {
				fmt.Fprintf(b, "  - %s, %v: %s\n", c.Kind, roundDur(c.Dur), mdEscape(c.Text))
			} else {
				fmt.Fprintf(b, "  - %s: %s\n", c.Kind, mdEscape(c.Text))
			}
		}
	}
	b.WriteString("\n")
}

// roundDur keeps four significant digits: 31.05ms, 4.998µs, 312ns.
func roundDur(d time.Duration) time.Duration {
	step := time.Duration(1)
	for d/step >= 10000 {
		step *= 10
	}
	return d.Round(step)
}
