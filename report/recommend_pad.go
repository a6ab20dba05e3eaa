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
	// Group mpsc queue results by everything but pad (and impl and
	// GOMAXPROCS, as benchstat's -ignore would), labelled by the other
	// name keys in alphabetical order ("place=llc/producers=1").
	type group struct {
		label    string
		p64, p28 *point
	}
	f, proj := selection(`.name:Queue /impl:mpsc /pad:(64 OR 128)`, "/pad", "/impl /gomaxprocs", ".fullname")
	padBy, restBy := proj[0], proj[2]
	var groups []*group
	idx := map[benchproc.Key]*group{}
	for _, r := range run.Results {
		v, ok := r.Value("sec/op")
		if m, _ := f.Match(r); !m.All() || !ok {
			continue
		}
		k := restBy.Project(r)
		g := idx[k]
		if g == nil {
			g = &group{label: keysLabel(k.StringValues())}
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
	var win128, win64, nsig, total int
	var ratios []float64
	var few string
	rec.Evidence = append(rec.Evidence, "metric: BenchmarkQueue/impl=mpsc, ns/op (one item delivered), pad=128 against pad=64")
	for _, g := range groups {
		if g.p64 == nil || g.p28 == nil {
			continue
		}
		total++
		s := o.compare(g.p64.vals, g.p28.vals)
		ratios = append(ratios, s.ratio)
		verdict := "not significant"
		switch {
		case !s.significant():
			nsig++
		case s.ratio < 1:
			win128++
			verdict = "128 faster"
		default:
			win64++
			verdict = "64 faster"
		}
		rec.figures = append(rec.figures, g.p64, g.p28)
		if w := o.tooFew(g.p64, g.p28); w != "" && few == "" {
			few = w
		}
		rec.Evidence = append(rec.Evidence, fmt.Sprintf("%s: pad=64 %s, pad=128 %s, %.2fx (%s; %s)", g.label,
			fmtVal(s.base.Center, "sec/op"), fmtVal(s.other.Center, "sec/op"), s.ratio, s.cmp.String(), verdict))
	}
	if total == 0 {
		rec.Withheld = true
		rec.Summary = "Padding: not enough data (BenchmarkQueue/impl=mpsc with pad=64 and pad=128)."
		return rec
	}
	gm := stats.GeoMean(ratios)
	switch {
	case few != "":
		rec.Withheld = true
		rec.Summary = "Padding: no recommendation, " + few + "."
	case win128 > 0 && win64 == 0:
		rec.Choice = "pad=128"
		rec.Summary = fmt.Sprintf("Padding: 128-byte padding beats 64 (significant in %d of %d configurations, none the other way; geomean time ratio %.2fx).", win128, total, gm)
	case win64 > 0 && win128 == 0:
		rec.Choice = "pad=64"
		rec.Summary = fmt.Sprintf("Padding: 64-byte padding is enough here; 128 is slower in %d of %d configurations (geomean time ratio %.2fx).", win64, total, gm)
	case win64 > 0 && win128 > 0:
		rec.Withheld = true
		rec.Summary = fmt.Sprintf("Padding: no recommendation; 128 wins in %d and loses in %d of %d configurations.", win128, win64, total)
	default:
		rec.Withheld = true
		rec.Summary = fmt.Sprintf("Padding: no recommendation; pad=128 and pad=64 are not significantly different in any of %d configurations (alpha %.2g).", total, o.alpha())
	}
	return rec
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
