// Package tracex names pinbench's execution-trace events and holds the
// one record format that crosses packages: the outlier log that the
// benchmarks write into a trace and the report reads back.
//
// The aio package emits the seed patch's two trace points as
// runtime/trace logs, and regions around its bottom-half batches and its
// futex sleeps, all attached to one task per context (named like the
// context: "iothread 1234 on CPUs 3"). The names here are what
// `go tool trace` shows under "User-defined tasks" and "User-defined
// regions", and what a parser of the trace looks for; so is the function
// a thread sleeps in on a futex, which a parser finds on stacks.
package tracex

import (
	"fmt"
	"strconv"
	"strings"
)

// Log categories and region types of the aio trace points.
const (
	// CoSchedule is the category of the log CoSchedule emits on the
	// scheduling goroutine (QEMU's trace_aio_co_schedule): message
	// "ctx NAME co PTR where WHERE", NAME the home context's label.
	CoSchedule = "aio_co_schedule"
	// ScheduleBHEnter is the category of the log the schedule-BH emits on
	// the owner as it enters a coroutine (QEMU's
	// trace_aio_schedule_bh_cb): message "ctx NAME co PTR".
	ScheduleBHEnter = "aio_schedule_bh_cb"
	// BHPollRegion is the region around one bottom-half batch (bhPoll,
	// QEMU's aio_bh_poll), on the owner.
	BHPollRegion = "aio_bh_poll"
	// ScheduleBHRegion is the region around one run of the schedule-BH
	// (every coroutine scheduled so far, entered in order), on the owner.
	ScheduleBHRegion = "aio_schedule_bh"
	// WaitRegion is the region around a blocking wait in the kernel (the
	// futex sleep of a blocking Poll), on the owner.
	WaitRegion = "aio_wait_futex"
	// Outlier is the category of the log a benchmark emits on the
	// receiving side when a sampled handoff took more than its threshold;
	// the message is an [OutlierRecord].
	Outlier = "pinbench_outlier"
	// Snapshot is the category of the log the outlier recorder emits just
	// before it saves the trace for an outlier, its message that
	// outlier's [Outlier] message: the save may come after later
	// outliers (its writer lagging), so the last Outlier log in the file
	// need not be the one it was saved for.
	Snapshot = "pinbench_outlier_snapshot"
)

// The function a thread sleeps in on a futex, as an execution trace's
// stacks name it: a goroutine in a system call with it on its stack is
// asleep on a futex word, waiting for a wake-up, not doing a system call
// of its own.
const (
	// FutexWaitFunc is internal/futex.Wait, the one futex wrapper, which
	// aio's and colock's sleeps go through; futex's test holds it to the
	// function's name.
	FutexWaitFunc = "github.com/pinbench/pinbench/internal/futex.Wait"
	// futexWaitAio and futexWaitColock are where binaries built before
	// that wrapper slept, so that traces they saved read the same.
	futexWaitAio    = "github.com/pinbench/pinbench/aio.futexWait"
	futexWaitColock = "github.com/pinbench/pinbench/colock.futexWait"
)

// IsFutexWait reports whether fn, a function named by a stack frame of an
// execution trace, is where a thread sleeps on a futex ([FutexWaitFunc],
// or an earlier binary's wrapper).
func IsFutexWait(fn string) bool {
	return fn == FutexWaitFunc || fn == futexWaitAio || fn == futexWaitColock
}

// ContextOf returns the context label in the message of a CoSchedule or
// ScheduleBHEnter log ("ctx NAME co PTR ..."), and false for any other
// message.
func ContextOf(msg string) (string, bool) {
	rest, ok := strings.CutPrefix(msg, "ctx ")
	if !ok {
		return "", false
	}
	name, _, ok := strings.Cut(rest, " co ")
	if !ok {
		return "", false
	}
	return name, true
}

// OutlierRecord is what a benchmark knows about one slow sampled handoff
// when it sees it: written into the trace as the message of an [Outlier]
// log at the arrival, so that a trace snapshot explains itself.
type OutlierRecord struct {
	// Bench is the benchmark's full name (no spaces, as testing makes it).
	Bench string
	// Hop is the hop's number in the run.
	Hop int
	// Ns is the hop's one-way latency; MedianNs the running median of the
	// sampled hops before it; Factor the threshold (Ns > Factor*MedianNs).
	Ns, MedianNs int64
	Factor       float64
	// Sender and Receiver name the two sides (context labels).
	Sender, Receiver string
	// SenderCPU and ReceiverCPU are the CPUs (getcpu) each side ran on
	// before the hop (the sender as it sent, the receiver as it last
	// yielded) and after (the sender after its push, the receiver on
	// arrival); -1 where unknown.
	SenderCPU, ReceiverCPU [2]int
	// AtNs is the arrival (the receiver's clock read that ended the hop)
	// on the execution trace's clock, CLOCK_MONOTONIC nanoseconds on
	// Linux; 0 when unknown. The log comes after it, and may come much
	// later (the receiver preempted in between), so a reader places the
	// hop by AtNs where it has it. Optional in the message: "at-ns".
	AtNs int64
}

// String formats the record as the log message: "key=value" fields
// separated by "; ", in a fixed order (at-ns last, and only when known).
func (r OutlierRecord) String() string {
	s := fmt.Sprintf("bench=%s; hop=%d; ns=%d; median-ns=%d; factor=%g; sender=%s; sender-cpu=%d>%d; receiver=%s; receiver-cpu=%d>%d",
		r.Bench, r.Hop, r.Ns, r.MedianNs, r.Factor, r.Sender, r.SenderCPU[0], r.SenderCPU[1], r.Receiver, r.ReceiverCPU[0], r.ReceiverCPU[1])
	if r.AtNs != 0 {
		s += fmt.Sprintf("; at-ns=%d", r.AtNs)
	}
	return s
}

// ParseOutlier reads a record written by [OutlierRecord.String]. An
// unknown key is ignored (a later writer may add one); a missing one
// (at-ns may be) or a malformed one is an error naming it.
func ParseOutlier(msg string) (OutlierRecord, error) {
	var r OutlierRecord
	seen := map[string]bool{}
	for field := range strings.SplitSeq(msg, "; ") {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return r, fmt.Errorf("tracex: outlier record field %q has no '=' (record %q)", field, msg)
		}
		var err error
		switch k {
		case "bench":
			r.Bench = v
		case "hop":
			r.Hop, err = strconv.Atoi(v)
		case "ns":
			r.Ns, err = strconv.ParseInt(v, 10, 64)
		case "median-ns":
			r.MedianNs, err = strconv.ParseInt(v, 10, 64)
		case "factor":
			r.Factor, err = strconv.ParseFloat(v, 64)
		case "sender":
			r.Sender = v
		case "receiver":
			r.Receiver = v
		case "sender-cpu":
			r.SenderCPU, err = parseCPUs(v)
		case "receiver-cpu":
			r.ReceiverCPU, err = parseCPUs(v)
		case "at-ns":
			r.AtNs, err = strconv.ParseInt(v, 10, 64)
		default:
			continue
		}
		if err != nil {
			return r, fmt.Errorf("tracex: outlier record field %s=%q: %v", k, v, err)
		}
		seen[k] = true
	}
	for _, k := range []string{"bench", "hop", "ns", "median-ns", "factor", "sender", "sender-cpu", "receiver", "receiver-cpu"} {
		if !seen[k] {
			return r, fmt.Errorf("tracex: outlier record %q lacks %s", msg, k)
		}
	}
	return r, nil
}

// parseCPUs reads "A>B".
func parseCPUs(s string) ([2]int, error) {
	a, b, ok := strings.Cut(s, ">")
	if !ok {
		return [2]int{}, fmt.Errorf("want BEFORE>AFTER")
	}
	x, err := strconv.Atoi(a)
	if err != nil {
		return [2]int{}, err
	}
	y, err := strconv.Atoi(b)
	if err != nil {
		return [2]int{}, err
	}
	return [2]int{x, y}, nil
}

// Migrated reports whether a side's CPUs before and after differ, both
// known.
func Migrated(cpus [2]int) bool { return cpus[0] >= 0 && cpus[1] >= 0 && cpus[0] != cpus[1] }
