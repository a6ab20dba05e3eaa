package bench

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/perf/benchunit"
)

// Metrics that are not numbers: a result's NaN or infinite value (a
// ratio over a count of zero) is no measurement, and the report refuses
// a results file that holds one (no statistic holds with it). The suite's
// rates over a measured time report none over a zero time (reportRatio),
// and what writes results leaves out any that come (FiniteLine).

// reportRatio reports num/den in unit, or nothing when den is not
// positive (nothing counted, no time measured), where the quotient would
// be NaN or infinite.
func reportRatio(b *testing.B, num, den float64, unit string) {
	if den > 0 {
		b.ReportMetric(num/den, unit)
	}
}

// FiniteLine returns line, one line of Go's benchmark format, without the
// metrics (value and unit) of a result line whose value is NaN or
// infinite, and a note for each one left out, naming the result and the
// metric. The rest of the line is kept byte for byte, its line ending
// included. A result line left with no metric comes back as "", with a
// note saying so: it holds no result. Any other line comes back as it
// is, with no note.
func FiniteLine(line string) (string, []string) {
	if !strings.HasPrefix(line, "Benchmark") {
		return line, nil
	}
	f := fieldSpans(line)
	if len(f) < 4 || len(f)%2 != 0 {
		return line, nil // no result line: benchfmt skips or refuses it
	}
	name := line[f[0][0]:f[0][1]]
	var kept strings.Builder
	var notes []string
	from := 0 // the start of what is still to copy
	for i := 2; i < len(f); i += 2 {
		value, unit := line[f[i][0]:f[i][1]], line[f[i+1][0]:f[i+1][1]]
		if finiteValue(value, unit) {
			continue
		}
		// Left out: the value, its unit, and the space before the value.
		kept.WriteString(line[from:f[i-1][1]])
		from = f[i+1][1]
		notes = append(notes, name+": "+value+" "+unit+" is not a finite measurement: left out of its result")
	}
	if notes == nil {
		return line, nil
	}
	if len(notes) == (len(f)-2)/2 {
		return "", append(notes, name+": no finite measurement left: the result is left out")
	}
	kept.WriteString(line[from:])
	return kept.String(), notes
}

// finiteValue reports whether s, a result's value in unit, is not one
// that reads as NaN or infinite, as written or in the base unit the
// reader scales it to (benchunit.Tidy: 1e303 MB/s is infinite in B/s);
// one out of float64's range reads as infinite. A value that does not
// parse is left for the reader to refuse.
func finiteValue(s, unit string) bool {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return true
	}
	tidied, _ := benchunit.Tidy(v, unit)
	return !math.IsNaN(v) && !math.IsInf(v, 0) && !math.IsInf(tidied, 0)
}

// fieldSpans returns the start and end of each field of line, the runs
// of text between white space (as benchfmt splits a result line).
func fieldSpans(line string) [][2]int {
	var spans [][2]int
	start := -1
	for i, r := range line {
		switch space := unicode.IsSpace(r); {
		case space && start >= 0:
			spans = append(spans, [2]int{start, i})
			start = -1
		case !space && start < 0:
			start = i
		}
	}
	if start >= 0 {
		spans = append(spans, [2]int{start, len(line)})
	}
	return spans
}
