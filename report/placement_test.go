package report

import (
	"strings"
	"testing"
)

// Options.Placement, a section written elsewhere (tune --threads), comes
// after the summary and before the details, as given; without it the
// report is what it was.
func TestPlacementSection(t *testing.T) {
	run := mustRead(t, "vm.txt")
	write := func(o Options) string {
		_, md := markdownOf(t, run, o)
		return md
	}
	plain := write(Options{})
	section := "## Placement: 2 threads (pairs), wait=block\n\n| thread | cpus | node |\n| --- | --- | --- |\n| t0 | 0 | 0 |\n"
	placed := write(Options{Placement: section})
	at, summary, details := strings.Index(placed, section), strings.Index(placed, "## Summary"), strings.Index(placed, "\n## Machine")
	if at < 0 || !(summary < at && at < details) {
		t.Fatalf("placement section at %d, want between the summary (%d) and the details (%d):\n%s", at, summary, details, placed)
	}
	if got := strings.Replace(placed, section+"\n", "", 1); got != plain {
		t.Errorf("the section changed more than its own place:\n%s", got)
	}
}
