package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/pinbench/pinbench/affinity"
)

// fmtVal formats a value of unit for the report's sentences: durations
// (any unit measured in "sec", like sec/op, p50-sec or cpu-sec/op) in ns
// below 10 µs, then µs, then ms, four significant digits ("182.4 ns",
// "15.2 µs"); others as numbers with their unit. The tables scale with
// benchunit, as benchstat prints them ("182.4n"); benchunit has no scaler
// that writes a unit after the figure or keeps ns up to 10 µs, so prose
// keeps this one formatter.
func fmtVal(v float64, unit string) string {
	if !strings.Contains(unit, "sec") {
		return fmtCount(v, unit)
	}
	ns := v * 1e9
	switch {
	case math.Abs(ns) >= 1e6:
		return fmt.Sprintf("%.4g ms", ns/1e6)
	case math.Abs(ns) >= 1e4:
		return fmt.Sprintf("%.4g µs", ns/1e3)
	}
	return fmt.Sprintf("%.4g ns", ns)
}

// fmtNs formats a figure in nanoseconds as fmtVal does durations: the
// one formatter of times in the report's prose.
func fmtNs(ns float64) string { return fmtVal(ns/1e9, "sec/op") }

// fmtCount formats a count per op or a rate as a person writes it: a
// plain decimal with up to four significant digits ("0.00066 ctxsw/op",
// "2.5 wakeups/op", "1.2e+07 items/s" only above a million), and, below
// 0.01 per op, also how rare it is ("1 per 1500 ops").
func fmtCount(v float64, unit string) string {
	num := strconv.FormatFloat(v, 'f', -1, 64)
	if a := math.Abs(v); a != 0 {
		digits := max(0, 3-int(math.Floor(math.Log10(a))))
		num = strconv.FormatFloat(v, 'f', digits, 64)
		if strings.Contains(num, ".") {
			num = strings.TrimRight(strings.TrimRight(num, "0"), ".")
		}
		if a >= 1e6 {
			num = strconv.FormatFloat(v, 'g', 4, 64)
		}
	}
	s := num + " " + unit
	if strings.HasSuffix(unit, "/op") && v > 0 && v < 0.01 {
		s += fmt.Sprintf(" (1 per %s ops)", strconv.FormatFloat(roundSig(1/v, 2), 'f', -1, 64))
	}
	return s
}

// roundSig rounds v to n significant digits.
func roundSig(v float64, n int) float64 {
	if v == 0 {
		return 0
	}
	p := math.Pow(10, float64(n)-math.Ceil(math.Log10(math.Abs(v))))
	return math.Round(v*p) / p
}

// unitName shows a tidied unit in the units the benchmarks print
// ("sec/op" -> "ns/op", "p50-sec" -> "p50-ns").
func unitName(u string) string { return strings.Replace(u, "sec", "ns", 1) }

func fmtRatio(r float64) string {
	switch {
	case r >= 1:
		return fmt.Sprintf("%.2fx slower", r)
	default:
		return fmt.Sprintf("%.2fx faster", 1/r)
	}
}

// joinClasses lists classes as "llc, node".
func joinClasses(classes []affinity.Class) string {
	s := make([]string, len(classes))
	for i, c := range classes {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}
