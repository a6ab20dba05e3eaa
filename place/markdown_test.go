package place

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A verified plan keeps its conclusion in its Document: saved to
// DocumentFile and read back, it gives the report section WriteMarkdown
// gave, verdict included; a document whose verification failed says
// so, and a malformed run time is refused.
func TestDocumentMarkdownRoundTrip(t *testing.T) {
	needTwoCPUs(t)
	p := planOf(t, PatternPairs, 2, WaitBlock, Options{})
	v := verified(t, p)
	if p.Verified == nil || p.Verified.Verdict != v.Verdict() || len(p.Verified.Sentences) != len(v.Comparisons)+1 {
		t.Fatalf("Verify left p.Verified %+v", p.Verified)
	}
	var want bytes.Buffer
	if err := WriteMarkdown(&want, p, v); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), DocumentFile)
	var enc bytes.Buffer
	if err := p.Document().Encode(&enc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, enc.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := ReadDocumentFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := WriteDocumentMarkdown(&got, d); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("section from the saved plan:\n%s\nwant:\n%s", got.String(), want.String())
	}
	if !strings.Contains(got.String(), "interleaved rounds of 3ms per placement: **"+v.Verdict()+"**.\n") {
		t.Errorf("no verdict line:\n%s", got.String())
	}

	d.Verified = &DocVerified{Error: "place: verify: stalled"}
	got.Reset()
	if err := WriteDocumentMarkdown(&got, d); err != nil || !strings.Contains(got.String(), "\nNot verified: place: verify: stalled\n") {
		t.Errorf("failed verification: %v\n%s", err, got.String())
	}
	bad := strings.Replace(enc.String(), `"run_time": "3ms"`, `"run_time": "3 ms"`, 1)
	if _, err := Decode(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "run_time") {
		t.Errorf("malformed run_time: %v", err)
	}
}

// The verdict names what the plan is and is not significantly better
// than, leaving out baselines that share its CPUs.
func TestVerdict(t *testing.T) {
	v := &Verification{Comparisons: []Comparison{
		{Baseline: BaselineCompact, SameAs: "plan"},
		{Baseline: BaselineSpread, PlanNs: 100, BaselineNs: 150, Significant: true},
		{Baseline: BaselineUnpinned, PlanNs: 100, BaselineNs: 110},
	}}
	if got, want := v.Verdict(), "the plan is NOT significantly better than unpinned; the plan is significantly faster than spread"; got != want {
		t.Errorf("verdict %q, want %q", got, want)
	}
	v.Comparisons[2].Significant = true
	if got, want := v.Verdict(), "the plan is significantly faster than spread and unpinned"; got != want {
		t.Errorf("verdict %q, want %q", got, want)
	}
	v.Comparisons = v.Comparisons[:1]
	if got := v.Verdict(); !strings.Contains(got, "nothing to compare") {
		t.Errorf("verdict %q with every baseline on the plan's CPUs", got)
	}
}
