package aio

import (
	"bytes"
	"errors"
	"io"
	"runtime/trace"
	"strings"
	"testing"
	"time"

	xtrace "golang.org/x/exp/trace"

	"github.com/pinbench/pinbench/coroutine"
	"github.com/pinbench/pinbench/internal/leakcheck"
	"github.com/pinbench/pinbench/internal/tracex"
)

// With tracing off, the trace points cost no allocation: a coroutine
// schedule and entry (the fast path), and a bottom-half batch with the
// schedule-BH in it (bhPoll).
func TestTracePointsOffAllocateNothing(t *testing.T) {
	if trace.IsEnabled() {
		t.Skip("tracing is on (go test -trace): this test measures the off path")
	}
	c := newTestContext(t)
	stop := false
	co := c.NewCoroutine(func(self *coroutine.Coroutine) {
		for !stop {
			self.Yield()
		}
	})
	bh := c.NewBH(func() {})
	c.Thread().Enter(co) // create its runtime coroutine first
	if n := testing.AllocsPerRun(1000, func() {
		CoScheduleAt(co, "alloc-test")
		c.Poll(false) // fast path: the schedule-BH alone
		CoScheduleAt(co, "alloc-test")
		bh.Schedule()
		c.Poll(false) // bhPoll: the schedule-BH, then bh
	}); n != 0 {
		t.Fatalf("a schedule, an entry and a bottom-half batch allocate %v times with tracing off", n)
	}
	stop = true
	CoSchedule(co)
	c.Poll(false)
}

// A short ping-pong between two iothreads, traced: the trace holds both
// seed trace points for each context, on the right goroutines and in the
// context's task, and the regions around the schedule-BH runs, a
// bottom-half batch and the futex sleeps (at least the one each iothread
// begins when idle after the ping-pong).
func TestTracePointsInTrace(t *testing.T) {
	if trace.IsEnabled() {
		t.Skip("tracing is on already (go test -trace): this test takes its own trace")
	}
	leakcheck.Check(t)
	const rounds = 50
	var threads [2]*IOThread
	for i := range threads {
		it := newIOThread(t, WithWaitMode(WaitBlock))
		defer it.Join()
		threads[i] = it
	}
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Fatal(err)
	}
	var cos [2]*coroutine.Coroutine
	var done Event
	for i := range cos {
		cos[i] = threads[i].Context().NewCoroutine(func(self *coroutine.Coroutine) {
			for n := 0; n < rounds; n++ {
				CoScheduleAt(cos[1-i], "trace-test")
				self.Yield()
			}
			if i == 1 {
				done.Set()
			}
		})
	}
	mustRun(t, threads[1], func() { threads[1].Context().Thread().Enter(cos[1]) })
	waitFor(t, &done, "the traced ping-pong")
	mustRun(t, threads[0], func() { threads[0].Context().CoWake(cos[0]) })
	// Each iothread goes to sleep once it is idle: whether one slept in
	// the ping-pong is up to the scheduler (under emulation the other
	// side's schedule was always there before the owner looked), but
	// since it ran here (iothread 1 set done, iothread 0 ran the wake),
	// its next sleep begins in the trace. notifyMe is non-zero only
	// inside futexSleep, and the owner leaves it at zero whenever it
	// runs: a non-zero load after the Event and Run above synchronized
	// with the owner is that next sleep's announcement.
	for i, it := range threads {
		for deadline := time.Now().Add(5 * time.Second); it.Context().notifyMe.Load() == 0; {
			if time.Now().After(deadline) {
				t.Fatalf("iothread %d: not asleep 5s after its last work", i)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	trace.Stop()

	labels := [2]string{threads[0].Context().traceLabel, threads[1].Context().traceLabel}
	for _, l := range labels {
		if !strings.HasPrefix(l, "iothread ") || !strings.HasSuffix(l, " unpinned") {
			t.Fatalf("trace label %q, want \"iothread TID unpinned\"", l)
		}
	}
	type perCtx struct {
		task                    xtrace.TaskID
		schedules, enters       int
		enterGoroutines         map[xtrace.GoID]bool
		wrongTask, wrongWhere   int
		schedRegions, bhRegions int
		waitRegions             int
	}
	got := map[string]*perCtx{}
	for _, l := range labels {
		got[l] = &perCtx{task: xtrace.NoTask, enterGoroutines: map[xtrace.GoID]bool{}}
	}
	taskLabel := map[xtrace.TaskID]string{}
	r, err := xtrace.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := r.ReadEvent()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch ev.Kind() {
		case xtrace.EventTaskBegin:
			task := ev.Task()
			if p := got[task.Type]; p != nil {
				p.task = task.ID
				taskLabel[task.ID] = task.Type
			}
		case xtrace.EventLog:
			l := ev.Log()
			name, ok := tracex.ContextOf(l.Message)
			p := got[name]
			if !ok || p == nil {
				continue
			}
			if l.Task != p.task {
				p.wrongTask++
			}
			switch l.Category {
			case tracex.CoSchedule:
				p.schedules++
				if !strings.HasSuffix(l.Message, " where trace-test") {
					p.wrongWhere++
				}
			case tracex.ScheduleBHEnter:
				p.enters++
				p.enterGoroutines[ev.Goroutine()] = true
			}
		case xtrace.EventRegionBegin:
			reg := ev.Region()
			p := got[taskLabel[reg.Task]]
			if p == nil {
				continue
			}
			switch reg.Type {
			case tracex.ScheduleBHRegion:
				p.schedRegions++
			case tracex.BHPollRegion:
				p.bhRegions++
			case tracex.WaitRegion:
				p.waitRegions++
			}
		}
	}
	for i, l := range labels {
		p := got[l]
		switch {
		case p.task == xtrace.NoTask:
			t.Errorf("%s: no task named after it in the trace", l)
		case p.schedules < rounds || p.enters < rounds:
			t.Errorf("%s: %d %s and %d %s events, want at least %d each", l, p.schedules, tracex.CoSchedule, p.enters, tracex.ScheduleBHEnter, rounds)
		case p.wrongTask != 0 || p.wrongWhere != 0:
			t.Errorf("%s: %d events outside its task, %d schedules without where=trace-test", l, p.wrongTask, p.wrongWhere)
		case len(p.enterGoroutines) != 1:
			t.Errorf("%s: coroutines entered by %d goroutines, want its owner alone", l, len(p.enterGoroutines))
		case p.schedRegions < rounds || p.waitRegions == 0:
			t.Errorf("%s: %d %s and %d %s regions, want at least %d and some", l, p.schedRegions, tracex.ScheduleBHRegion, p.waitRegions, tracex.WaitRegion, rounds)
		case p.bhRegions == 0:
			// Run's one-shot bottom half: one batch on each iothread.
			t.Errorf("iothread %d (%s): no %s region, though Run ran a bottom half there", i, l, tracex.BHPollRegion)
		}
	}
}
