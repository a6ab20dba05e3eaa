package aio

import (
	"context"
	"fmt"
	"runtime/pprof"
	"runtime/trace"
	"strings"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/coroutine"
	"github.com/pinbench/pinbench/internal/tracex"
)

// Execution-trace points (runtime/trace), at the seed patch's two places
// and around the owner's batches and sleeps:
//
//   - CoSchedule logs tracex.CoSchedule on the scheduling goroutine
//     ("ctx NAME co PTR where WHERE", QEMU's trace_aio_co_schedule);
//   - the schedule-BH logs tracex.ScheduleBHEnter on the owner before it
//     enters each coroutine ("ctx NAME co PTR", QEMU's
//     trace_aio_schedule_bh_cb), inside a tracex.ScheduleBHRegion region
//     per run;
//   - each bottom-half batch (bhPoll) is a tracex.BHPollRegion region, and
//     each futex sleep of a blocking Poll a tracex.WaitRegion region.
//
// Every event is attached to the context's task, one per context, whose
// type is the context's label ("iothread 1234 on CPUs 3"), so that
// `go tool trace` groups an iothread's events under its name; the log
// messages carry the label too, since a flight-recorder snapshot may
// start after the task was created.
//
// The cost with tracing off: at each place one call of trace.IsEnabled,
// an inlined load of a global flag that is false for the whole run, and
// one branch on it, always predicted (the schedule-BH run also checks its
// region for nil as it ends); the traced work sits in the non-inlined
// functions below, off the hot path's code. Nothing is allocated unless
// tracing is on.

// traceTask is a context's execution-trace task and the context.Context
// that carries it (runtime/trace's annotations take one).
type traceTask struct {
	ctx  context.Context
	task *trace.Task
}

// traceContext returns the context.Context of c's trace task, creating
// the task on first use. Any goroutine may call it (CoSchedule's trace
// point runs on the scheduler), only while tracing is on.
func (c *AioContext) traceContext() context.Context {
	// Load (acquire): pairs with the CompareAndSwap below, which publishes
	// a fully built traceTask.
	if t := c.trace.Load(); t != nil {
		return t.ctx
	}
	ctx, task := trace.NewTask(context.Background(), c.traceLabel)
	// CompareAndSwap: the first creator's task wins; a loser ends its own
	// (an empty task in the trace) and uses the winner's.
	if !c.trace.CompareAndSwap(nil, &traceTask{ctx, task}) {
		task.End()
		// Load (acquire): the failed CompareAndSwap saw the winner's
		// store; this load reads it, and its task, complete.
		return c.trace.Load().ctx
	}
	return ctx
}

// endTrace ends c's trace task, if one was created. The owner calls it
// from Close.
func (c *AioContext) endTrace() {
	// Load: after Close no trace point runs on c's owner any more; a late
	// CoSchedule onto the closed context fails (and at worst logs into an
	// ended task, which the trace tolerates).
	if t := c.trace.Load(); t != nil {
		t.task.End()
	}
}

// traceCoSchedule is CoSchedule's trace point, on the caller's goroutine.
//
//go:noinline
func traceCoSchedule(home *AioContext, co *coroutine.Coroutine, where string) {
	trace.Log(home.traceContext(), tracex.CoSchedule, fmt.Sprintf("ctx %s co %p where %s", home.traceLabel, co, where))
}

// traceEnter is the schedule-BH's trace point, on the owner, just before
// co is entered.
//
//go:noinline
func (c *AioContext) traceEnter(co *coroutine.Coroutine) {
	trace.Log(c.traceContext(), tracex.ScheduleBHEnter, fmt.Sprintf("ctx %s co %p", c.traceLabel, co))
}

// traceScheduleBH starts the region of one schedule-BH run; the caller
// ends it.
//
//go:noinline
func (c *AioContext) traceScheduleBH() *trace.Region {
	return trace.StartRegion(c.traceContext(), tracex.ScheduleBHRegion)
}

// bhPollTraced is bhPoll inside a bottom-half batch region.
//
//go:noinline
func (c *AioContext) bhPollTraced() bool {
	defer trace.StartRegion(c.traceContext(), tracex.BHPollRegion).End()
	return c.bhPoll()
}

// sleepTraced is futexSleep inside a wait region.
//
//go:noinline
func (c *AioContext) sleepTraced() {
	defer trace.StartRegion(c.traceContext(), tracex.WaitRegion).End()
	c.futexSleep()
}

// labelIOThread names an iothread's context for traces and profiles, and
// labels the calling goroutine (the iothread's, before it creates any
// coroutine: their goroutines inherit the labels) for CPU profiles:
// pprof labels iothread=TID and cpus=SET. It returns the trace label,
// "iothread 1234 on CPUs 3" ("... unpinned" for an empty set).
func labelIOThread(ctx *AioContext, cpus affinity.CPUSet) string {
	where := "unpinned"
	if !cpus.IsEmpty() {
		where = "on CPUs " + cpus.String()
	}
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(),
		pprof.Labels("iothread", strings.TrimPrefix(ctx.String(), "iothread "), "cpus", cpus.String())))
	return ctx.String() + " " + where
}

// TraceLabel returns the name c's trace events carry: its String, with
// the CPUs for an iothread's ("iothread 1234 on CPUs 3", "iothread 1234
// unpinned").
func (c *AioContext) TraceLabel() string { return c.traceLabel }
