package report

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/perf/benchproc"
)

// The recommendation rules, the cost against the floor and the drift
// warning select results as the report's tables do: with a benchproc
// filter (benchstat's -filter syntax, "go doc
// golang.org/x/perf/benchproc/syntax") and a projection that groups what
// it keeps (benchstat's -col). The filters below are the suite's
// benchmarks; a rule adds the keys it fixes with is.
const (
	// handoff is every handoff mechanism (via=).
	handoff = `.name:Handoff`
	// pinCPU keeps the handoffs with each side pinned to one CPU: pin=cpu,
	// which is also what a name without pin= means (the unpinned baseline
	// and the poll-window sweep have none).
	pinCPU = `/pin:(cpu OR "")`
	// aioPinCPU is the coroutine handoff through the event loop, pinned
	// per CPU.
	aioPinCPU = handoff + ` /via:aio ` + pinCPU
	// aioPinNode is that handoff with each iothread pinned to a NUMA node.
	aioPinNode = handoff + ` /via:aio /pin:node`
	// backToBack leaves out the poll-window sweep and the paced rates:
	// handoffs back to back.
	backToBack = `/pollmax:"" /rate:""`
	// sweep is the poll-window sweep (BenchmarkHandoff/.../pollmax=W).
	sweep = `/pollmax:/./`
	// anyWait and anyPlace keep results that name a wait strategy or a
	// placement class.
	anyWait  = `/wait:/./`
	anyPlace = `/place:/./`
	// floorAt is the physical floor at each placement class.
	floorAt = `.name:Floor /place:/./`
)

// is returns the filter term that keeps results whose key is value; an
// empty value keeps those without the key.
func is[V ~string](key string, value V) string { return key + ":" + strconv.Quote(string(value)) }

// filter joins filter terms: results must match all of them.
func filter(terms ...string) string { return strings.Join(terms, " ") }

// point is the values of one unit in one group, with the full name of the
// group's first result for messages.
type point struct {
	name string
	unit string
	vals []float64
}

// selection parses the filter expression expr and the projections, in
// order, with one benchproc.ProjectionParser: as in benchstat, a
// ".fullname" projection leaves out the name keys the other projections
// name. A malformed expression is a bug of this package: it panics.
func selection(expr string, projections ...string) (*benchproc.Filter, []*benchproc.Projection) {
	f, err := benchproc.NewFilter(expr)
	if err != nil {
		panic(fmt.Sprintf("report: filter %q: %v", expr, err))
	}
	var parser benchproc.ProjectionParser
	out := make([]*benchproc.Projection, len(projections))
	for i, p := range projections {
		if out[i], err = parser.Parse(p, f); err != nil {
			panic(fmt.Sprintf("report: projection %q: %v", p, err))
		}
	}
	return f, out
}

// groups returns the values of unit of the results of run that the filter
// expression keeps, grouped by the projection by (like "/place"), groups
// in the order first seen. K is the type of the group's value: string, or
// affinity.Class for "/place".
func groups[K ~string](run *Run, expr, by, unit string) (order []K, pts map[K]*point) {
	_, in := groupsBy[string, K](run, expr, "", by, unit) // "": one group of groups
	if g := in[""]; g != nil {
		return g.order, g.pts
	}
	return nil, map[K]*point{}
}

// grouping is the values of one unit in groups, in the order first seen.
type grouping[K ~string] struct {
	order []K
	pts   map[K]*point
}

// at returns the group k, nil when g is nil or has no such group.
func (g *grouping[K]) at(k K) *point {
	if g == nil {
		return nil
	}
	return g.pts[k]
}

// groupsBy is groups of the results with each value of a second
// projection, outer (like "/place"), values in the order first seen. It
// reads the results once for every value of outer, where a groups call
// per value would read them all each time: time that grows as the square
// of the results when every result has its own value.
func groupsBy[O, K ~string](run *Run, expr, outer, by, unit string) (order []O, in map[O]*grouping[K]) {
	f, proj := selection(expr, outer, by)
	in = map[O]*grouping[K]{}
	for _, r := range run.Results {
		if m, _ := f.Match(r); !m.All() {
			continue
		}
		v, ok := r.Value(unit)
		if !ok {
			continue
		}
		o := O(proj[0].Project(r).StringValues())
		g := in[o]
		if g == nil {
			g = &grouping[K]{pts: map[K]*point{}}
			in[o] = g
			order = append(order, o)
		}
		k := K(proj[1].Project(r).StringValues())
		p := g.pts[k]
		if p == nil {
			p = &point{name: r.Name.String(), unit: unit}
			g.pts[k] = p
			g.order = append(g.order, k)
		}
		p.vals = append(p.vals, v)
	}
	return order, in
}
