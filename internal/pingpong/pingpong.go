// Package pingpong is the cache-line ping-pong: two threads bounce one
// cache line between them, each store one one-way transfer. Nothing but
// the line moves, so it is the physical floor of every handoff, and the
// cell of the core-to-core latency matrix.
//
// A Game holds the line and the two sides' loops, not the threads: the
// caller runs Initiator and Responder at once, each on its own locked,
// pinned thread, under a watchdog that can ask them to stop, and reads
// Elapsed after both returned. Play does that on the harness's sides, for
// the matrix's cells and the floor family alike.
package pingpong

import (
	"sync/atomic"
	"time"

	"github.com/pinbench/pinbench/internal/cacheline"
	"github.com/pinbench/pinbench/internal/harness"
	"github.com/pinbench/pinbench/internal/spinwait"
)

// Play plays a game of about transfers one-way transfers between CPUs a
// and b (either may be harness.Unpinned or harness.Unlocked), each side on
// its own thread under harness.RunSides: a side that stops answering for
// timeout fails the game. onClock, when not nil, is called just before the
// clock starts. It returns the time the initiator's loop took and the
// number of transfers made. Both sides spin, so the caller checks that a
// and b are two CPUs (two spinners on one CPU measure the scheduler's time
// slice).
func Play(a, b, transfers int, timeout time.Duration, onClock func()) (time.Duration, int, error) {
	g := New(transfers, harness.ErrAborted)
	progress := new(harness.Progress)
	err := harness.RunSides(timeout,
		harness.Side{Name: "ping-pong initiator", CPU: a, Progress: progress, Run: func(stop *harness.Stop) error {
			return g.Initiator(stop, progress.Set, onClock)
		}},
		harness.Side{Name: "ping-pong responder", CPU: b, Run: func(stop *harness.Stop) error {
			return g.Responder(stop)
		}},
	)
	return g.Elapsed(), g.Transfers(), err
}

// Stop tells a side to give up: Load reports true once the caller's
// harness asked the sides to stop. The sides read it in every round of a
// wait, so it should cost an L1 hit (a word alone on its cache line).
type Stop interface{ Load() bool }

// A Game is one ping-pong of a fixed number of transfers between two
// sides. Initiator and Responder are each called once, at the same time,
// from two goroutines; Elapsed and Transfers may be read after both
// returned.
type Game struct {
	// line is the one cache line the sides bounce between them, padded
	// on both sides so that nothing else shares its lines (or the
	// adjacent-line prefetcher's pair of lines).
	_ [cacheline.Pad]byte
	// seq is written by each side in turn: the initiator stores odd
	// values, the responder even ones. Each store is one one-way transfer
	// of the line. The only ordering needed is that each side sees the
	// other's store: a store synchronizes before the load that reads it,
	// and nothing else is published through the line.
	seq atomic.Int64
	_   [cacheline.Pad]byte
	// ready is the start barrier: each side adds 1 on its thread.
	ready     atomic.Int32
	transfers int64
	// elapsed is written by the initiator before it returns; the caller
	// reads it after joining both sides.
	elapsed time.Duration
	aborted error
}

// New returns a game of about transfers one-way transfers, rounded up to
// whole round trips (two at least). A side that gives up because it was
// asked to stop returns aborted.
func New(transfers int, aborted error) *Game {
	return &Game{transfers: int64(max(2, transfers+transfers&1)), aborted: aborted}
}

// Transfers returns the number of one-way transfers the game makes.
func (g *Game) Transfers() int { return int(g.transfers) }

// Elapsed returns the time the initiator's loop took, from the moment both
// sides were on their threads; read it after both sides returned.
func (g *Game) Elapsed() time.Duration { return g.elapsed }

// Initiator is the side that starts each round trip and times the game.
// It calls progress (when not nil) with the round trips made, once per
// 2048 of them, so that a watchdog sees a slow but live game, and onClock
// (when not nil) just before its clock starts. It returns nil when done,
// or the game's aborted error soon after stop.Load() became true.
func (g *Game) Initiator(stop Stop, progress func(int64), onClock func()) error {
	// A start barrier: the responder's Add synchronizes before the Load
	// that sees 2, so the clock starts with both sides on their threads.
	// elapsed is read after the caller joined us. The loop pauses as the
	// transfer loops do: without the hint a spinner holds its CPU's whole
	// share (an SMT sibling's, or an emulator's time slice) from the
	// partner it waits for.
	g.ready.Add(1)
	for g.ready.Load() != 2 {
		if stop.Load() {
			return g.aborted
		}
		spinwait.Pause()
	}
	if onClock != nil {
		onClock()
	}
	start := time.Now()
	for i := int64(1); i < g.transfers; i += 2 {
		if i&4095 == 1 && progress != nil {
			progress(i) // once per 2048 round trips
		}
		g.seq.Store(i)
		for g.seq.Load() != i+1 {
			if stop.Load() {
				return g.aborted
			}
			spinwait.Pause()
		}
	}
	g.elapsed = time.Since(start)
	return nil
}

// Responder is the side that answers each of the initiator's transfers.
// It returns nil when done, or the game's aborted error soon after
// stop.Load() became true.
func (g *Game) Responder(stop Stop) error {
	g.ready.Add(1)
	for i := int64(1); i < g.transfers; i += 2 {
		for g.seq.Load() != i {
			if stop.Load() {
				return g.aborted
			}
			spinwait.Pause()
		}
		g.seq.Store(i + 1)
	}
	return nil
}
