package report

import (
	"fmt"

	"github.com/pinbench/pinbench/internal/benchtab"
)

// TableOptions selects and slices results like benchstat's -table, -row,
// -col, -ignore and -filter flags; see benchtab.Options.
type TableOptions = benchtab.Options

// Tables is a sequence of benchstat tables, one per table key and unit;
// see benchtab.Tables.
type Tables = benchtab.Tables

// RenderOptions tunes how Tables are written; see benchtab.RenderOptions.
type RenderOptions = benchtab.RenderOptions

// MaxColumns is the most columns a table has (benchtab.MaxColumns): a
// run whose results take more values of a section's column key, such as
// more placement classes, is refused.
const MaxColumns = benchtab.MaxColumns

// Tables slices the run like `benchstat -table T -row R -col C -ignore I
// -filter F` and computes every cell's statistics. Results the filter
// rejects are dropped. A bad projection or filter, and a table of more
// than MaxColumns columns, is an error.
func (run *Run) Tables(opts TableOptions) (*Tables, error) {
	b, err := benchtab.NewBuilder(opts)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	for _, r := range run.Results {
		b.Add(r)
	}
	ts, err := b.ToTables(run.Units)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return ts, nil
}

// mdEscape escapes s for Markdown text.
func mdEscape(s string) string { return benchtab.EscapeMarkdown(s) }
