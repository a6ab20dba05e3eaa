package tune

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/internal/atomicfile"
	"github.com/pinbench/pinbench/report"
)

// The report a tuning run writes into its staging folder names the final
// folder, where its raw file will be, in report.md ("Built from") and in
// the summary; the staging folder is gone once the run is committed.
func TestRunReportNamesFinalFolder(t *testing.T) {
	parent := t.TempDir()
	staging := filepath.Join(parent, ".run"+atomicfile.StagingMark+"1-2")
	final := filepath.Join(parent, "run")
	if err := os.Mkdir(staging, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("..", "report", "testdata", "few.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(staging, RawFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	run, err := report.ReadFiles(filepath.Join(staging, RawFile))
	if err != nil {
		t.Fatal(err)
	}
	summary, err := writeRunReport(staging, final, run, report.Options{})
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(staging, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := "\nBuilt from `" + filepath.Join(final, RawFile) + "`.\n"; !strings.Contains(string(md), want) {
		t.Errorf("report.md lacks %q", want)
	}
	for what, text := range map[string]string{ReportFile: string(md), "the summary": summary} {
		if strings.Contains(text, atomicfile.StagingMark) {
			t.Errorf("%s names the staging folder %s", what, staging)
		}
	}
}
