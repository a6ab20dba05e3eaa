package report

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	xtrace "golang.org/x/exp/trace"

	"github.com/pinbench/pinbench/internal/tracex"
)

// traceTick bounds the execution trace's clock unit (64 ns on amd64, 16
// on arm64: the runtime's traceTimeDiv): an event's time is its clock
// read rounded down to one.
const traceTick = 64

// goRole is a goroutine of the handoff: what it is, the part of the hop
// that is its side's, and whether waiting is its normal state then (a
// suspended coroutine, an owner under its running coroutine), so that
// only its other states count.
type goRole struct {
	name       string
	from, to   xtrace.Time
	waitNormal bool
}

type schedLog struct {
	g  xtrace.GoID
	at xtrace.Time
}

// gcRange names an open GC or stop-the-world range: its name and the
// goroutine it is scoped to (NoGoroutine for a global one).
type gcRange struct {
	name string
	g    xtrace.GoID
}

// goState is one goroutine's state since a transition, in the second pass.
type goState struct {
	state  xtrace.GoState
	since  xtrace.Time
	reason string // of the transition into state
	stack  xtrace.Stack
}

// scanHop is the second pass: what the goroutines in roles did during
// their side's part of the hop, and what the runtime did (GC) between
// start and end; first is the trace's first event. It also counts the
// generation changes (sync events after the first) during the hop.
func scanHop(data []byte, first, start, end xtrace.Time, roles map[xtrace.GoID]goRole) (causes []OutlierCause, cuts int, err error) {
	s := &hopScan{
		first: first, start: start, end: end, roles: roles,
		totals: map[kindText]int{},
		states: map[xtrace.GoID]*goState{},
		ranges: map[gcRange]xtrace.Time{},
	}
	if err := readEvents(data, s.event); err != nil {
		return nil, 0, err
	}
	gs := slices.Sorted(maps.Keys(s.states)) // a fixed order for ties
	for _, g := range gs {
		s.closeInterval(g, s.states[g], end)
	}
	for k := range s.ranges {
		s.closeRange(k, end)
	}
	return s.causes, s.cuts, nil
}

// hopScan is scanHop's state while it reads the trace's events in order.
type hopScan struct {
	first, start, end xtrace.Time
	roles             map[xtrace.GoID]goRole

	causes []OutlierCause
	// totals indexes causes by kind and text, so that intervals of one
	// kind and text merge (a goroutine preempted three times is one cause
	// with the time added up).
	totals map[kindText]int
	cuts   int
	states map[xtrace.GoID]*goState
	ranges map[gcRange]xtrace.Time // GC and stop-the-world ranges open
}

type kindText struct {
	kind CauseKind
	text string
}

// within is the part of [a, b) inside [from, to).
func within(a, b, from, to xtrace.Time) time.Duration {
	a, b = max(a, from), min(b, to)
	if b <= a {
		return 0
	}
	return b.Sub(a)
}

// add counts d of a cause, merged with earlier time of the same kind and
// text.
func (s *hopScan) add(kind CauseKind, text string, d time.Duration) {
	if d <= 0 {
		return
	}
	k := kindText{kind, text}
	if i, ok := s.totals[k]; ok {
		s.causes[i].Dur += d
		return
	}
	s.totals[k] = len(s.causes)
	s.causes = append(s.causes, OutlierCause{Kind: kind, Dur: d, Text: text})
}

// closeInterval counts goroutine g's state st, from its start until until,
// within the goroutine's side of the hop.
func (s *hopScan) closeInterval(g xtrace.GoID, st *goState, until xtrace.Time) {
	role := s.roles[g]
	d := within(st.since, until, role.from, role.to)
	who := fmt.Sprintf("goroutine %d (%s)", g, role.name)
	switch st.state {
	case xtrace.GoRunnable:
		if st.reason == "preempted" {
			s.add(CausePreemption, who+" was preempted and waited for a P", d)
		} else {
			s.add(CauseScheduling, who+" was runnable but not running (no P free for it)", d)
		}
	case xtrace.GoWaiting:
		// A coroutine switch parks the goroutine with no reason: that
		// is the handoff itself, not a cause.
		if st.reason != "" && !role.waitNormal {
			s.add(CauseBlocked, fmt.Sprintf("%s blocked (%s) at %s", who, st.reason, site(st.stack)), d)
		}
	case xtrace.GoSyscall:
		if inFutexWait(st.stack) {
			s.add(CauseFutexWait, fmt.Sprintf("%s was still asleep in the kernel on its futex after the push: the wake-up came late (the kernel, or the host, ran the thread late)", who), d)
		} else {
			s.add(CauseSyscall, fmt.Sprintf("%s was in a system call at %s", who, site(st.stack)), d)
		}
	}
}

// closeRange counts the open range k, until until, within the hop.
func (s *hopScan) closeRange(k gcRange, until xtrace.Time) {
	since, ok := s.ranges[k]
	if !ok {
		return
	}
	delete(s.ranges, k)
	d := within(since, until, s.start, s.end)
	name, g := k.name, k.g
	switch {
	case strings.HasPrefix(name, "stop-the-world"):
		s.add(CauseGC, fmt.Sprintf("the runtime stopped the world (%s)", strings.TrimSuffix(strings.TrimPrefix(name, "stop-the-world ("), ")")), d)
	case name == "GC concurrent mark phase":
		s.add(CauseGC, "the garbage collector's concurrent mark phase was running (its workers take a quarter of the Ps, and allocations assist)", d)
	case name == "GC mark assist":
		s.add(CauseGC, fmt.Sprintf("goroutine %d (%s) did GC mark assist", g, s.roles[g].name), d)
	}
}

// rangeKey is the key of a range event, and whether it is a range the
// scan counts: a GC or stop-the-world range, or a mark assist by one of
// the hop's goroutines (another goroutine's assist is not ours).
func (s *hopScan) rangeKey(ev *xtrace.Event) (gcRange, bool) {
	r := ev.Range()
	k := gcRange{r.Name, xtrace.NoGoroutine}
	if r.Scope.Kind == xtrace.ResourceGoroutine {
		k.g = r.Scope.Goroutine()
	}
	switch {
	case r.Name == "GC mark assist":
		_, ours := s.roles[k.g]
		return k, ours
	case r.Name == "GC concurrent mark phase", strings.HasPrefix(r.Name, "stop-the-world"):
		return k, true
	}
	return k, false
}

// event takes the trace's next event.
func (s *hopScan) event(ev *xtrace.Event) {
	switch ev.Kind() {
	case xtrace.EventSync:
		if t := ev.Time(); t > s.first && t >= s.start && t <= s.end {
			s.cuts++
		}
	case xtrace.EventStateTransition:
		s.transition(ev)
	case xtrace.EventRangeBegin, xtrace.EventRangeActive:
		if k, ok := s.rangeKey(ev); ok {
			t := ev.Time()
			if ev.Kind() == xtrace.EventRangeActive {
				t = min(t, s.start) // in progress since before the window
			}
			if _, open := s.ranges[k]; !open {
				s.ranges[k] = t
			}
		}
	case xtrace.EventRangeEnd:
		if k, ok := s.rangeKey(ev); ok {
			s.closeRange(k, ev.Time())
		}
	}
}

// transition takes a state transition: one of the hop's goroutines leaves
// its state (counted) for a new one.
func (s *hopScan) transition(ev *xtrace.Event) {
	st := ev.StateTransition()
	if st.Resource.Kind != xtrace.ResourceGoroutine {
		return
	}
	g := st.Resource.Goroutine()
	if _, ok := s.roles[g]; !ok {
		return
	}
	from, to := st.Goroutine()
	old := s.states[g]
	if from == to && old != nil && old.state == to {
		// A later generation restating the state (its GoStatus, for a
		// goroutine the generation before saw nothing of): no change,
		// and no reason or stack of its own. Taken as a new state, it
		// cut a block longer than a generation off at its first
		// restatement and let the rest pass as a coroutine switch (a
		// second's sleep, or 50 ms at the recorder's default window,
		// seen in part).
		return
	}
	since, reason, stack := ev.Time(), st.Reason, st.Stack
	if from == xtrace.GoUndetermined {
		// A generation's first word on a goroutine: its state since
		// before, without a reason (and, when it comes as the goroutine
		// is next touched, without a stack).
		if old != nil && old.state == to {
			return // the state it was in, restated
		}
		if old == nil {
			since = s.first
		}
		if to == xtrace.GoWaiting && !inCoroutineSwitch(stack) {
			reason = "since before the trace's window began"
		}
	}
	if old != nil {
		s.closeInterval(g, old, ev.Time())
	}
	s.states[g] = &goState{state: to, since: since, reason: reason, stack: stack}
}

// site names where a stack was: its first frame outside the runtime and
// the system-call wrappers, with the frame it called ("time.Sleep in
// bench.TestX.func1 (outliers_test.go:40)").
func site(s xtrace.Stack) string {
	var frames []xtrace.StackFrame
	for f := range s.Frames() {
		frames = append(frames, f)
	}
	if len(frames) == 0 {
		return "an unknown place (no stack)"
	}
	for i, f := range frames {
		if plumbing(f.Func) {
			continue
		}
		where := fmt.Sprintf("%s (%s:%d)", shortFunc(f.Func), filepath.Base(f.File), f.Line)
		if i > 0 {
			return shortFunc(frames[i-1].Func) + " in " + where
		}
		return where
	}
	f := frames[0]
	return fmt.Sprintf("%s (%s:%d)", shortFunc(f.Func), filepath.Base(f.File), f.Line)
}

// inCoroutineSwitch reports whether a waiting goroutine's stack is parked
// in a coroutine switch (the handoff itself: an owner whose coroutine
// runs, or a suspended coroutine).
func inCoroutineSwitch(s xtrace.Stack) bool {
	for f := range s.Frames() {
		return f.Func == "runtime.coroswitch"
	}
	return false
}

// inFutexWait reports whether a goroutine's stack in a system call is a
// sleep on a futex word: the futex wrapper is on it, by the name tracex
// holds for it.
func inFutexWait(s xtrace.Stack) bool {
	for f := range s.Frames() {
		if tracex.IsFutexWait(f.Func) {
			return true
		}
	}
	return false
}

// plumbing reports whether fn is the runtime's or a system-call wrapper's.
func plumbing(fn string) bool {
	for _, p := range []string{"runtime.", "syscall.", "internal/", "golang.org/x/sys/unix.", "time.Sleep"} {
		if strings.HasPrefix(fn, p) {
			return true
		}
	}
	return false
}

// shortFunc drops the module path: github.com/pinbench/pinbench/aio.Notify
// is aio.Notify.
func shortFunc(fn string) string {
	if i := strings.LastIndex(fn, "/"); i >= 0 {
		return fn[i+1:]
	}
	return fn
}
