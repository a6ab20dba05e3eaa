package place

import (
	"strconv"
	"sync/atomic"

	"github.com/pinbench/pinbench/aio"
	"github.com/pinbench/pinbench/coroutine"
	"github.com/pinbench/pinbench/internal/cacheline"
)

// A verification run moves tokens between iothreads, one iothread per
// thread of the workload. A token is a coroutine handoff that never ends
// until the run stops: it holds one coroutine per thread it visits, each
// homed on that thread's context, and a hop schedules the next one
// through aio.CoScheduleAt (the seed's aio_co_schedule) and yields. So
// a token is held by exactly one of its coroutines at a time, and every
// hop passes through the target context's queue: the token's plain
// fields are only ever touched by its current holder, and each hop's
// push synchronizes before the next holder's entry.

// route is where a token goes.
type route struct {
	// stops are the threads the token visits: in order, round and round,
	// or (random) a uniformly chosen other one each hop.
	stops  []int
	random bool
	// start is the index in stops of the coroutine that starts it.
	start int
	// perRound is how many of a round's handoffs (weight, both ways for
	// an undirected edge) the token's hops stand for.
	perRound float64
	// name names the route in messages: "t0 <-> t1", "ring t0 -> t1 -> t2".
	name string
}

// routes returns the tokens that run wl:
//
//   - ring: one token passed from thread i to i+1, round and round;
//   - all: one token per thread, each handing to a random other thread
//     every hop (QEMU's random schedule, as a walk);
//   - every other shape (pairs, fanin, a graph): one token per edge,
//     a ping-pong between its two threads. A directed edge's token also
//     comes back, and its hops are counted as the mean of both ways.
func routes(wl *Workload) []route {
	n := len(wl.Threads)
	switch wl.Pattern {
	case PatternRing:
		r := route{perRound: float64(n), name: "ring " + wl.Threads[0] + " -> ... -> " + wl.Threads[n-1]}
		for i := range n {
			r.stops = append(r.stops, i)
		}
		return []route{r}
	case PatternAll:
		out := make([]route, n)
		for k := range n {
			out[k] = route{random: true, start: k, perRound: float64(n - 1), name: "random walk from " + wl.Threads[k]}
			for i := range n {
				out[k].stops = append(out[k].stops, i)
			}
		}
		return out
	}
	out := make([]route, len(wl.Edges))
	for i, e := range wl.Edges {
		out[i] = route{stops: []int{e.From, e.To}, perRound: e.Weight, name: wl.EdgeString(e)}
		if e.Undirected {
			out[i].perRound *= 2
		}
	}
	return out
}

// token is one route's state in a run.
type token struct {
	_ [cacheline.Pad]byte
	// Touched by the holder only (see above).
	route
	run      *vrun
	cos      []*coroutine.Coroutine
	started  []bool
	released bool   // the run is over: a woken coroutine returns
	rng      uint64 // xorshift state of a random route
	// hops counts the token's handoffs; the controller reads it.
	hops atomic.Int64
	_    [cacheline.Pad]byte
}

// newToken makes r's coroutines on the run's threads.
func newToken(run *vrun, r route, seed uint64) *token {
	t := &token{route: r, run: run, cos: make([]*coroutine.Coroutine, len(r.stops)), started: make([]bool, len(r.stops)), rng: seed | 1}
	for k, th := range r.stops {
		t.cos[k] = run.threads[th].Context().NewCoroutine(t.body(k))
	}
	return t
}

// verifySchedule is where the tokens' coroutines are scheduled, as the
// double-schedule panic would name it.
const verifySchedule = "place.verify"

// body is the coroutine of stop k: on each entry, unless the run is
// over, it hands the token on and yields.
func (t *token) body(k int) coroutine.Func {
	return func(self *coroutine.Coroutine) {
		t.started[k] = true
		for !t.released {
			if t.run.stop.Load() {
				t.finish(k)
				return
			}
			next := t.next(k)
			t.hops.Add(1) // before the push: after it, the next holder owns t
			aio.CoScheduleAt(t.cos[next], verifySchedule)
			self.Yield()
		}
	}
}

// next returns the stop after k.
func (t *token) next(k int) int {
	n := len(t.stops)
	if !t.random {
		return (k + 1) % n
	}
	t.rng ^= t.rng << 13
	t.rng ^= t.rng >> 7
	t.rng ^= t.rng << 17
	j := int(t.rng % uint64(n-1))
	if j >= k {
		j++
	}
	return j
}

// finish ends the token at stop k: it wakes every other coroutine that
// ran (each is suspended in Yield, scheduled nowhere) so that it sees
// released and returns, and counts the token out of the run.
func (t *token) finish(k int) {
	t.released = true
	for j, co := range t.cos {
		if j != k && t.started[j] {
			aio.CoScheduleAt(co, verifySchedule+" finish")
		}
	}
	if t.run.left.Add(-1) == 0 {
		t.run.done.Set()
	}
}

// where names the token and its threads' CPUs, for messages.
func (t *token) where() string {
	s := t.name + " (iothreads on "
	for i, th := range t.stops {
		if i > 0 {
			s += ", "
		}
		if i == 8 && len(t.stops) > 9 {
			s += "..."
			break
		}
		s += pinName(t.run.pins[th])
	}
	return s + ")"
}

// pinName names a pin: "CPU 3", or "unpinned".
func pinName(cpu int) string {
	if cpu < 0 {
		return "unpinned"
	}
	return "CPU " + strconv.Itoa(cpu)
}
