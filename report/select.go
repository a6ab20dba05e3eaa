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
	f, proj := selection(expr, by)
	pts = map[K]*point{}
	for _, r := range run.Results {
		if m, _ := f.Match(r); !m.All() {
			continue
		}
		v, ok := r.Value(unit)
		if !ok {
			continue
		}
		g := K(proj[0].Project(r).StringValues())
		p := pts[g]
		if p == nil {
			p = &point{name: r.Name.String()}
			pts[g] = p
			order = append(order, g)
		}
		p.vals = append(p.vals, v)
	}
	return order, pts
}
