package benchtab

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/perf/benchunit"
)

// RenderOptions tunes how tables are written.
type RenderOptions struct {
	// HideKeys leaves out the "key: value" lines benchstat prints above a
	// table when its table key changes (the report shows them once in
	// its environment section instead).
	HideKeys bool
}

// WriteText writes the tables as aligned plain text in benchstat's layout:
// for each column the median ± confidence interval and, after the first
// column, the delta against the first column with its p-value and sample
// counts; a geomean row; warnings as numbered footnotes.
func (ts *Tables) WriteText(w io.Writer, ro RenderOptions) error {
	return ts.write(w, ro, false)
}

// WriteMarkdown writes the tables as GitHub-flavoured Markdown tables with
// the same cell contents as WriteText.
func (ts *Tables) WriteMarkdown(w io.Writer, ro RenderOptions) error {
	return ts.write(w, ro, true)
}

func (ts *Tables) write(w io.Writer, ro RenderOptions, md bool) error {
	var prev [][2]string
	for i, t := range ts.Tables {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		if !ro.HideKeys {
			for k, kv := range t.Key {
				if prev != nil && k < len(prev) && prev[k] == kv {
					continue
				}
				line := Printable(kv[0]) + ": " + Printable(kv[1])
				if md {
					line = "`" + line + "`  "
				}
				if _, err := fmt.Fprintln(w, line); err != nil {
					return err
				}
			}
			prev = t.Key
		}
		var err error
		if md {
			err = t.writeMarkdown(w)
		} else {
			err = t.writeText(w)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// grid returns the header rows and body rows of t, one string per logical
// cell (the median cell holds "median ± CI", the delta cell "delta (p n)"),
// plus the footnotes.
func (t *Table) grid() (header [][]string, body [][]string, notes []string) {
	noteIdx := map[string]int{}
	mark := func(errs []error) string {
		var marks []string
		for _, e := range errs {
			s := e.Error()
			i, ok := noteIdx[s]
			if !ok {
				notes = append(notes, s)
				i = len(notes)
				noteIdx[s] = i
			}
			marks = append(marks, superscript(i))
		}
		if len(marks) == 0 {
			return ""
		}
		return " " + strings.Join(marks, " ")
	}
	h1, h2 := []string{""}, []string{""}
	for j, c := range t.Cols {
		h1 = append(h1, Printable(c))
		h2 = append(h2, Printable(t.Unit))
		if j > 0 {
			h1 = append(h1, "")
			h2 = append(h2, "vs base")
		}
	}
	header = [][]string{h1, h2}
	for i, r := range t.Rows {
		row := []string{Printable(r)}
		scale := t.rowScaler(i) // once a row: Format would find it for each cell
		for j := range t.Cols {
			c := t.Cells[i][j]
			switch {
			case c == nil:
				row = append(row, "")
			default:
				row = append(row, scale.Format(c.Summary.Center)+" ± "+c.CI()+mark(append(append([]error(nil), c.Sample.Warnings...), c.Summary.Warnings...)))
			}
			if j > 0 {
				if c == nil || c.Baseline == nil {
					row = append(row, "")
				} else {
					row = append(row, c.Delta()+" ("+c.PN()+")"+mark(c.Comparison.Warnings))
				}
			}
		}
		body = append(body, row)
	}
	if len(t.Rows) > 1 {
		row := []string{"geomean"}
		cls := benchunit.ClassOf(t.Unit)
		for j, s := range t.Geomean {
			cell := ""
			if s.HasSummary {
				cell = benchunit.Scale(s.Summary, cls)
			}
			if j == 0 {
				cell += mark(s.Warnings)
			}
			row = append(row, cell)
			if j > 0 {
				d := "?"
				if s.HasRatio {
					d = fmt.Sprintf("%+.2f%%", (s.Ratio-1)*100)
				}
				row = append(row, d+mark(s.Warnings))
			}
		}
		body = append(body, row)
	}
	return header, body, notes
}

func (t *Table) writeText(w io.Writer) error {
	header, body, notes := t.grid()
	all := append(append([][]string(nil), header...), body...)
	width := make([]int, len(header[0]))
	for _, r := range all {
		for k, c := range r {
			width[k] = max(width[k], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for ri, r := range all {
		line := ""
		for k, c := range r {
			pad := width[k] - utf8.RuneCountInString(c)
			switch {
			case k == 0:
				line += c + strings.Repeat(" ", pad)
			case ri < len(header):
				line += "  " + c + strings.Repeat(" ", pad)
			default:
				line += "  " + strings.Repeat(" ", pad) + c
			}
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	for i, n := range notes {
		fmt.Fprintf(&b, "%s %s\n", superscript(i+1), n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (t *Table) writeMarkdown(w io.Writer) error {
	header, body, notes := t.grid()
	var b strings.Builder
	// One header row: column label and unit together.
	cols := []string{"benchmark"}
	for k := 1; k < len(header[0]); k++ {
		h := header[0][k]
		if header[1][k] == "vs base" {
			h = "vs base"
		} else {
			if h == "" {
				h = "(none)"
			}
			h += " " + header[1][k]
		}
		cols = append(cols, h)
	}
	writeMDRow(&b, cols)
	sep := []string{"---"}
	for range cols[1:] {
		sep = append(sep, "---:")
	}
	writeMDRow(&b, sep)
	for _, r := range body {
		writeMDRow(&b, r)
	}
	if len(notes) > 0 {
		b.WriteString("\n")
		for i, n := range notes {
			fmt.Fprintf(&b, "%s %s  \n", superscript(i+1), EscapeMarkdown(n))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeMDRow(b *strings.Builder, cells []string) {
	b.WriteString("|")
	for _, c := range cells {
		b.WriteString(" " + EscapeMarkdown(c) + " |")
	}
	b.WriteString("\n")
}

// EscapeMarkdown escapes, with a backslash, what Markdown would read as
// markup in s, and nothing else, so that s reads the same in the file as
// rendered: "|" (the end of a table cell), "*" and "_" (emphasis), "<"
// before a letter, "/", "!" or "?" (HTML or a link), and ">" first on a
// line (a block quote). "a > b" and "a < b" stay as they are.
func EscapeMarkdown(s string) string {
	var b strings.Builder
	lineStart := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '|' || c == '*' || c == '_',
			c == '<' && i+1 < len(s) && opensTag(s[i+1]),
			c == '>' && lineStart:
			b.WriteByte('\\')
		}
		b.WriteByte(c)
		switch c {
		case '\n':
			lineStart = true
		case ' ', '\t':
		default:
			lineStart = false
		}
	}
	return b.String()
}

// opensTag reports whether c after "<" makes Markdown read HTML or an
// autolink.
func opensTag(c byte) bool {
	return c == '/' || c == '!' || c == '?' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// Printable returns s quoted as a Go string ("two\nlines") when it
// holds a control character or is not UTF-8, and s itself otherwise:
// labels from file names and benchmark names go into one line of a table
// (a newline in a run's path split compare's header in two).
func Printable(s string) string {
	if utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	return strconv.Quote(s)
}

var superDigits = []rune("⁰¹²³⁴⁵⁶⁷⁸⁹")

func superscript(i int) string {
	if i == 0 {
		return string(superDigits[0])
	}
	var buf []rune
	for ; i > 0; i /= 10 {
		buf = append([]rune{superDigits[i%10]}, buf...)
	}
	return string(buf)
}
