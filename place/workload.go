package place

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
)

// Workload is the threads to place and the handoffs between them: a
// weighted graph. Threads are named; edges refer to them by index.
//
// A Workload is a value built once (by Pattern or ReadGraph) and only read
// afterwards; NewPlan checks it again with Validate.
type Workload struct {
	// Pattern names the shape: "pairs", "ring", "fanin", "all", or
	// "graph" for one read by ReadGraph.
	Pattern string
	// Threads names the threads, in plan order. Names match threadName
	// (letters, digits, '_', '.', '-'; 64 at most), so that emitted
	// command lines and XML need no quoting.
	Threads []string
	// Edges are the handoffs.
	Edges []Edge
}

// Edge is a handoff from one thread to another, Weight times per round
// of the workload (a relative frequency: only ratios between edges
// matter). An undirected edge stands for two directed edges of the same
// weight, one each way (a ping-pong).
type Edge struct {
	// From and To index Workload.Threads; they differ.
	From, To int
	// Weight is positive and finite.
	Weight float64
	// Undirected says the handoff goes both ways, Weight times each.
	Undirected bool
}

// The patterns Pattern builds. Thread i is named "t<i>".
const (
	// PatternPairs is N/2 independent two-thread handoffs, each a
	// ping-pong between threads 2k and 2k+1 (an iothread and the vCPU or
	// worker it serves). N must be even.
	PatternPairs = "pairs"
	// PatternRing hands thread i's work to thread i+1 mod N (a
	// pipeline that wraps around).
	PatternRing = "ring"
	// PatternFanIn has threads 1..N-1 each hand to thread 0 (producers
	// feeding one consumer: aio_co_schedule's multi-producer queue).
	PatternFanIn = "fanin"
	// PatternAll has every thread hand to every other, equally often
	// (QEMU's random schedule test).
	PatternAll = "all"
	// PatternGraph marks a workload read from a graph file.
	PatternGraph = "graph"
)

// Patterns returns the pattern names Pattern accepts, in a fixed order.
func Patterns() []string {
	return []string{PatternPairs, PatternRing, PatternFanIn, PatternAll}
}

// MaxThreads bounds the thread count of a pattern or graph. The solver
// keeps a threads x threads weight matrix and a threads x CPUs gain table,
// so a mistyped count must not allocate without bound; 1024 event loops
// is beyond any deployment this plans for.
const MaxThreads = 1024

// Pattern returns the workload of n threads named by pattern (see the
// Pattern constants). An unknown pattern, fewer than two threads, more
// than MaxThreads, or an odd count for pairs is an error naming it.
func Pattern(pattern string, n int) (*Workload, error) {
	if n < 2 || n > MaxThreads {
		return nil, fmt.Errorf("place: pattern %s needs 2 to %d threads, not %d", pattern, MaxThreads, n)
	}
	w := &Workload{Pattern: pattern, Threads: make([]string, n)}
	for i := range w.Threads {
		w.Threads[i] = "t" + strconv.Itoa(i)
	}
	switch pattern {
	case PatternPairs:
		if n%2 != 0 {
			return nil, fmt.Errorf("place: pattern pairs needs an even number of threads, not %d", n)
		}
		for i := 0; i < n; i += 2 {
			w.Edges = append(w.Edges, Edge{From: i, To: i + 1, Weight: 1, Undirected: true})
		}
	case PatternRing:
		for i := range n {
			w.Edges = append(w.Edges, Edge{From: i, To: (i + 1) % n, Weight: 1})
		}
	case PatternFanIn:
		for i := 1; i < n; i++ {
			w.Edges = append(w.Edges, Edge{From: i, To: 0, Weight: 1})
		}
	case PatternAll:
		for i := range n {
			for j := i + 1; j < n; j++ {
				w.Edges = append(w.Edges, Edge{From: i, To: j, Weight: 1, Undirected: true})
			}
		}
	default:
		return nil, fmt.Errorf("place: unknown pattern %q (want one of %v, or a graph file)", pattern, Patterns())
	}
	return w, nil
}

// threadName is what a thread may be called.
var threadName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$`)

// Validate checks the workload: at least one edge, names that match
// threadName and are unique, edges between two different known threads
// with a positive finite weight, and no edge given twice. The error names
// the first problem.
func (w *Workload) Validate() error {
	if err := w.validate(); err != nil {
		return fmt.Errorf("place: %w", err)
	}
	return nil
}

// validate is Validate without the package prefix.
func (w *Workload) validate() error {
	if len(w.Threads) > MaxThreads {
		return fmt.Errorf("%d threads, more than the %d a workload may have", len(w.Threads), MaxThreads)
	}
	seen := make(map[string]int, len(w.Threads))
	for i, name := range w.Threads {
		if !threadName.MatchString(name) {
			return fmt.Errorf("thread name %q: want 1 to 64 letters, digits, '_', '.' or '-', not starting with '.' or '-'", name)
		}
		if j, dup := seen[name]; dup {
			return fmt.Errorf("thread %q is named twice (threads %d and %d)", name, j, i)
		}
		seen[name] = i
	}
	if len(w.Edges) == 0 {
		return errors.New("the workload has no edges: nothing to place")
	}
	type key struct{ a, b int }
	edges := make(map[key]int, len(w.Edges))
	for i, e := range w.Edges {
		if err := w.checkEdge(e); err != nil {
			return fmt.Errorf("edge %d: %w", i, err)
		}
		k := key{e.From, e.To}
		if e.Undirected && k.a > k.b {
			k = key{e.To, e.From}
		}
		if e.Undirected {
			k.a = -1 - k.a // undirected edges are keyed apart from directed ones
		}
		if j, dup := edges[k]; dup {
			return fmt.Errorf("edge %d (%s) repeats edge %d; merge them into one weight", i, w.EdgeString(e), j)
		}
		edges[k] = i
	}
	return nil
}

// checkEdge checks one edge's ends and weight.
func (w *Workload) checkEdge(e Edge) error {
	n := len(w.Threads)
	if e.From < 0 || e.From >= n || e.To < 0 || e.To >= n {
		return fmt.Errorf("thread index %d or %d outside the %d threads", e.From, e.To, n)
	}
	if e.From == e.To {
		return fmt.Errorf("%s is a self-edge: a thread hands nothing to itself across cores", w.EdgeString(e))
	}
	if math.IsNaN(e.Weight) || math.IsInf(e.Weight, 0) || e.Weight <= 0 {
		return fmt.Errorf("%s has weight %v; want a positive finite number", w.EdgeString(e), e.Weight)
	}
	return nil
}

// EdgeString formats e as "a -> b" (directed) or "a <-> b" (undirected),
// with thread names.
func (w *Workload) EdgeString(e Edge) string {
	arrow := " -> "
	if e.Undirected {
		arrow = " <-> "
	}
	return w.name(e.From) + arrow + w.name(e.To)
}

// name returns thread i's name, or "#i" when i is out of range.
func (w *Workload) name(i int) string {
	if i >= 0 && i < len(w.Threads) {
		return w.Threads[i]
	}
	return "#" + strconv.Itoa(i)
}

// weights returns the directed weight matrix: W[a][b] is how often thread
// a hands to thread b per round (an undirected edge adds to both).
func (w *Workload) weights() [][]float64 {
	n := len(w.Threads)
	m := make([][]float64, n)
	flat := make([]float64, n*n)
	for i := range m {
		m[i] = flat[i*n : (i+1)*n]
	}
	for _, e := range w.Edges {
		m[e.From][e.To] += e.Weight
		if e.Undirected {
			m[e.To][e.From] += e.Weight
		}
	}
	return m
}

// handoffsPerRound is how many handoffs one round of wl makes: each
// edge's weight, twice for an undirected edge.
func handoffsPerRound(wl *Workload) float64 {
	h := 0.0
	for _, e := range wl.Edges {
		h += e.Weight
		if e.Undirected {
			h += e.Weight
		}
	}
	return h
}
