package bench

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/outlier"
)

// The suite is a catalogue: a tree of named benchmarks whose leaves hold
// the bodies. `go test -bench` walks it with b.Run from the BenchmarkX
// functions of the test files, and the pinbench binary runs the same
// leaves through testing.Benchmark (see RunLeaf), so that one set of
// bodies gives both the same names, units and configuration lines.

// Node is one benchmark of the suite: a group of sub-benchmarks, or a leaf
// with a body. Whether a leaf can run on the machine is decided when the
// suite is built (Skip), so that a plan needs no run.
type Node struct {
	// Name is this level's part of the full name: "BenchmarkFloor" at the
	// top, then for example "place=llc" or "via=aio/wait=poll" (a part
	// may hold several key=value elements).
	Name string
	// Children are the sub-benchmarks of a group, in run order.
	Children []*Node
	// Skip, on a leaf, says why it cannot run on this machine; "" when it
	// can.
	Skip string
	// Allocs, on a leaf, reports B/op and allocs/op (b.ReportAllocs).
	Allocs bool
	// Body, on a leaf, runs b.N ops (or reports its own ns/op); full is
	// the leaf's full name ("BenchmarkFloor/place=llc"). It returns what
	// failed rather than calling b.Fatal, so that the pinbench binary can
	// say why.
	Body func(b *testing.B, full string) error
}

// Leaf is a leaf of the suite with its full name.
type Leaf struct {
	Name string // full name without the -GOMAXPROCS suffix: "BenchmarkFloor/place=llc"
	*Node
}

// SuiteOptions select the optional parts of the suite.
type SuiteOptions struct {
	// Sweep adds the adaptive poll-window sweep of BenchmarkHandoff.
	Sweep bool
	// Outliers, when not nil, watches every timed via=aio handoff for
	// outliers and saves the execution trace around each (the pinbench
	// command's -explain-outliers starts the recorder; see docs/traces.md).
	Outliers *outlier.Recorder
}

// Suite returns the benchmark families for topology t, in the order `go
// test` runs them (the test files' alphabetical order): Coroutine, Floor,
// Handoff, Mutex, Notify, Queue, Schedule.
func Suite(t *affinity.Topology, o SuiteOptions) []*Node {
	s := suiteBuilder{t: t, o: o}
	return []*Node{
		group("BenchmarkCoroutine", coroutineFamily()...),
		group("BenchmarkFloor", s.floorFamily()...),
		group("BenchmarkHandoff", s.handoffFamily()...),
		group("BenchmarkMutex", s.mutexFamily()...),
		group("BenchmarkNotify", notifyFamily()...),
		group("BenchmarkQueue", s.queueFamily()...),
		group("BenchmarkSchedule", s.scheduleFamily()...),
	}
}

// suiteBuilder builds the families for one topology and set of options.
type suiteBuilder struct {
	t *affinity.Topology
	o SuiteOptions
}

func group(name string, children ...*Node) *Node {
	return &Node{Name: name, Children: children}
}

// leaf makes a leaf that runs body, or, when skip is not "", cannot run.
func leaf(name, skip string, allocs bool, body func(b *testing.B, full string) error) *Node {
	return &Node{Name: name, Skip: skip, Allocs: allocs, Body: body}
}

// Leaves returns the leaves under nodes in run order, with full names.
func Leaves(nodes []*Node) []Leaf {
	var out []Leaf
	var walk func(prefix string, n *Node)
	walk = func(prefix string, n *Node) {
		name := n.Name
		if prefix != "" {
			name = prefix + "/" + n.Name
		}
		if n.Body != nil || len(n.Children) == 0 {
			out = append(out, Leaf{name, n})
			return
		}
		for _, c := range n.Children {
			walk(name, c)
		}
	}
	for _, n := range nodes {
		walk("", n)
	}
	return out
}

// Find returns the top-level node called name, or nil.
func Find(nodes []*Node, name string) *Node {
	for _, n := range nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// RunTree runs n's sub-benchmarks under b with b.Run, as `go test` does;
// plan makes every leaf that would run skip with PlanSkip instead.
func RunTree(b *testing.B, n *Node, plan bool) {
	for _, c := range n.Children {
		b.Run(c.Name, func(b *testing.B) {
			if c.Body == nil && len(c.Children) > 0 {
				RunTree(b, c, plan)
				return
			}
			if c.Skip != "" {
				b.Skip(c.Skip)
			}
			if plan {
				b.Skip(PlanSkip)
			}
			if c.Allocs {
				b.ReportAllocs()
			}
			if err := c.Body(b, b.Name()); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// Filter is a -bench regular expression as `go test` applies it: split at
// the slashes (and alternations) outside brackets and parentheses, each
// element matching the name's element at the same depth, unanchored.
type Filter struct {
	alts [][]*regexp.Regexp
}

// NewFilter compiles pattern (as -test.bench takes it) or says which
// element is not a regular expression.
func NewFilter(pattern string) (*Filter, error) {
	if pattern == "" {
		return nil, fmt.Errorf("empty -bench pattern: it would run no benchmark")
	}
	f := &Filter{}
	for i, alt := range splitPattern(pattern) {
		var res []*regexp.Regexp
		for j, elem := range alt {
			re, err := regexp.Compile(elem)
			if err != nil {
				return nil, fmt.Errorf("-bench %q: element %d of alternative %d (%q) is not a regular expression: %v", pattern, j, i, elem, err)
			}
			res = append(res, re)
		}
		f.alts = append(f.alts, res)
	}
	return f, nil
}

// Match reports whether the benchmark called full (its elements joined by
// slashes) runs under the filter.
func (f *Filter) Match(full string) bool {
	elems := strings.Split(full, "/")
	for _, alt := range f.alts {
		ok := true
		for i, e := range elems {
			if i >= len(alt) {
				break
			}
			if !alt[i].MatchString(e) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// splitPattern splits a -bench pattern into alternatives of elements, as
// the testing package does: at '/' and '|' outside brackets and
// parentheses.
func splitPattern(s string) [][]string {
	var alts [][]string
	var elems []string
	brackets, parens := 0, 0
	for i := 0; i < len(s); {
		switch s[i] {
		case '[':
			brackets++
		case ']':
			if brackets--; brackets < 0 {
				brackets = 0
			}
		case '(':
			if brackets == 0 {
				parens++
			}
		case ')':
			if brackets == 0 {
				parens--
			}
		case '\\':
			i++
		case '/', '|':
			if brackets == 0 && parens == 0 {
				elems = append(elems, s[:i])
				if s[i] == '|' {
					alts = append(alts, elems)
					elems = nil
				}
				s = s[i+1:]
				i = 0
				continue
			}
		}
		i++
	}
	return append(alts, append(elems, s))
}
