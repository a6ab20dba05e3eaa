package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aclements/go-moremath/stats"
	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchproc"
)

// recommendPadding: does the 128-byte padded queue beat the 64-byte one?
func (o Thresholds) recommendPadding(run *Run) Recommendation {
	rec := Recommendation{Topic: TopicPadding}
	rec.Evidence = append(rec.Evidence, "metric: BenchmarkQueue/impl=mpsc, ns/op (one item delivered), pad=128 against pad=64")
	var t padTally
	for _, g := range padGroups(run) {
		if g.p64 == nil || g.p28 == nil {
			continue
		}
		rec.figures = append(rec.figures, g.p64, g.p28)
		rec.Evidence = append(rec.Evidence, o.tallyPadding(&t, g))
	}
	if t.total == 0 {
		rec.Withheld = true
		rec.Summary = "Padding: not enough data (BenchmarkQueue/impl=mpsc with pad=64 and pad=128)."
		return rec
	}
	gm := stats.GeoMean(t.ratios)
	switch {
	case t.few != "":
		rec.Withheld = true
		rec.Summary = "Padding: no recommendation, " + t.few + "."
	case t.win128 > 0 && t.win64 == 0:
		rec.Choice = "pad=128"
		rec.Summary = fmt.Sprintf("Padding: 128-byte padding beats 64 (significant in %d of %d configurations, none the other way; geomean time ratio %.2fx).", t.win128, t.total, gm)
	case t.win64 > 0 && t.win128 == 0:
		rec.Choice = "pad=64"
		rec.Summary = fmt.Sprintf("Padding: 64-byte padding is enough here; 128 is slower in %d of %d configurations (geomean time ratio %.2fx).", t.win64, t.total, gm)
	case t.win64 > 0 && t.win128 > 0:
		rec.Withheld = true
		rec.Summary = fmt.Sprintf("Padding: no recommendation; 128 wins in %d and loses in %d of %d configurations.", t.win128, t.win64, t.total)
	default:
		rec.Withheld = true
		rec.Summary = fmt.Sprintf("Padding: no recommendation; pad=128 and pad=64 are not significantly different in any of %d configurations (alpha %.2g).", t.total, o.alpha())
	}
	return rec
}

// padGroup is one configuration of the mpsc queue: its pad=64 and pad=128
// figures (nil where the run has none), labelled by the other name keys in
// alphabetical order ("place=llc/producers=1").
type padGroup struct {
	label    string
	p64, p28 *point
}

// padGroups groups the run's mpsc queue results by everything but pad
// (and impl and GOMAXPROCS, as benchstat's -ignore would), in the run's
// order.
func padGroups(run *Run) []*padGroup {
	f, proj := selection(`.name:Queue /impl:mpsc /pad:(64 OR 128)`, "/pad", "/impl /gomaxprocs", ".fullname")
	padBy, restBy := proj[0], proj[2]
	var groups []*padGroup
	idx := map[benchproc.Key]*padGroup{}
	for _, r := range run.Results {
		v, ok := r.Value("sec/op")
		if m, _ := f.Match(r); !m.All() || !ok {
			continue
		}
		k := restBy.Project(r)
		g := idx[k]
		if g == nil {
			g = &padGroup{label: keysLabel(k.StringValues())}
			idx[k] = g
			groups = append(groups, g)
		}
		pp := &g.p64
		if padBy.Project(r).StringValues() == "128" {
			pp = &g.p28
		}
		if *pp == nil {
			*pp = &point{name: r.Name.String(), unit: "sec/op"}
		}
		(*pp).vals = append((*pp).vals, v)
	}
	return groups
}

// padTally counts the configurations compared so far and how each went;
// few is the first too-few-samples warning.
type padTally struct {
	win128, win64, total int
	ratios               []float64
	few                  string
}

// tallyPadding compares one configuration's pad=128 with its pad=64, adds
// the outcome to t and returns the evidence line.
func (o Thresholds) tallyPadding(t *padTally, g *padGroup) string {
	t.total++
	s := o.compare(g.p64.vals, g.p28.vals)
	t.ratios = append(t.ratios, s.ratio)
	verdict := "not significant"
	switch {
	case !s.significant():
		// neither way
	case s.ratio < 1:
		t.win128++
		verdict = "128 faster"
	default:
		t.win64++
		verdict = "64 faster"
	}
	if w := o.tooFew(g.p64, g.p28); w != "" && t.few == "" {
		t.few = w
	}
	return fmt.Sprintf("%s: pad=64 %s, pad=128 %s, %.2fx (%s; %s)", g.label,
		fmtVal(s.base.Center, "sec/op"), fmtVal(s.other.Center, "sec/op"), s.ratio, s.cmp.String(), verdict)
}

// keysLabel returns the name keys of the benchmark name full (which
// benchfmt parses) as "k=v" parts in alphabetical order of k, joined by
// "/".
func keysLabel(full string) string {
	_, parts := benchfmt.Name(full).Parts()
	var kvs []string
	for _, p := range parts {
		if kv, ok := strings.CutPrefix(string(p), "/"); ok && strings.Contains(kv, "=") {
			kvs = append(kvs, kv)
		}
	}
	slices.SortStableFunc(kvs, func(a, b string) int {
		ka, _, _ := strings.Cut(a, "=")
		kb, _, _ := strings.Cut(b, "=")
		return strings.Compare(ka, kb)
	})
	return strings.Join(kvs, "/")
}
