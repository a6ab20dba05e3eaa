package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/benchtab"
	"github.com/pinbench/pinbench/internal/matrixtest"
)

func mustRead(t *testing.T, paths ...string) *Run {
	t.Helper()
	for i, p := range paths {
		paths[i] = filepath.Join("testdata", p)
	}
	run, err := ReadFiles(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func find(t *testing.T, recs []Recommendation, topic Topic) Recommendation {
	t.Helper()
	for _, r := range recs {
		if r.Topic == topic {
			return r
		}
	}
	t.Fatalf("no %q recommendation in %+v", topic, recs)
	return Recommendation{}
}

func TestRecommendationsSignificant(t *testing.T) {
	recs := Recommend(mustRead(t, "bare.txt"), Thresholds{})
	for topic, want := range map[Topic]string{
		TopicPlacement: "smt", TopicWait: "poll", TopicWindow: "pollmax=32us", TopicPadding: "pad=128",
	} {
		r := find(t, recs, topic)
		if r.Withheld || r.Choice != want {
			t.Errorf("%s: choice %q (withheld %v), want %q: %s", topic, r.Choice, r.Withheld, want, r.Summary)
		}
		if len(r.Evidence) < 2 || !strings.Contains(strings.Join(r.Evidence, "\n"), "p=") {
			t.Errorf("%s: evidence lacks p-values: %q", topic, r.Evidence)
		}
	}
	place := find(t, recs, TopicPlacement)
	for _, want := range []string{"place=llc: 158.9 ns, 2.89x slower than smt (p=0.000 n=10)", "place=remote"} {
		if !strings.Contains(strings.Join(place.Evidence, "\n"), want) {
			t.Errorf("placement evidence lacks %q:\n%s", want, strings.Join(place.Evidence, "\n"))
		}
	}
}

// TestRecommendationsWithheld: placements and paddings that do not differ
// (p > 0.05) get no recommendation, and the p-value shown is benchstat's.
func TestRecommendationsWithheld(t *testing.T) {
	run := mustRead(t, "nosig.txt")
	recs := Recommend(run, Thresholds{})
	place := find(t, recs, TopicPlacement)
	if !place.Withheld || place.Choice != "" || !strings.Contains(place.Summary, "not significantly different") {
		t.Errorf("placement not withheld: %+v", place)
	}
	pad := find(t, recs, TopicPadding)
	if !pad.Withheld || pad.Choice != "" || !strings.Contains(pad.Summary, "not significantly different") {
		t.Errorf("padding not withheld: %+v", pad)
	}
	// The p-value quoted for the runner-up equals benchstat's for the same
	// two columns.
	m := regexp.MustCompile(`^Placement: no recommendation for any wait strategy \(wait=poll: (\S+) and (\S+) are not significantly different \((p=\S+ n=\d+)`).FindStringSubmatch(place.Summary)
	if m == nil {
		t.Fatalf("unexpected summary %q", place.Summary)
	}
	ts, err := run.Tables(TableOptions{Col: "/place@(" + m[1] + " " + m[2] + ")",
		Filter: ".name:Handoff /via:aio /wait:poll .unit:sec/op"})
	if err != nil {
		t.Fatal(err)
	}
	tb := ts.Tables[0]
	c := tb.Cells[tb.Row("Handoff/via=aio/wait=poll-8")][1]
	if c.PN() != m[3] || c.Delta() != "~" {
		t.Errorf("benchstat slice says %s %s, recommendation says %s", c.Delta(), c.PN(), m[3])
	}
}

func TestRecommendationsTooFewSamples(t *testing.T) {
	// few.txt differs clearly (p=0.029 with n=4) but has fewer than 6
	// samples: withheld all the same.
	for _, r := range Recommend(mustRead(t, "few.txt"), Thresholds{}) {
		if !r.Withheld || !strings.Contains(r.Summary, "too few samples") {
			t.Errorf("%s: %+v", r.Topic, r)
		}
	}
	// With the minimum lowered to 4 the clear differences are reported.
	r := find(t, Recommend(mustRead(t, "few.txt"), Thresholds{MinSamples: 4}), "placement")
	if r.Withheld || r.Choice != "smt" {
		t.Errorf("with MinSamples 4: %+v", r)
	}
}

func kinds(ws []Warning) map[WarningKind]Warning {
	out := map[WarningKind]Warning{}
	for _, w := range ws {
		out[w.Kind] = w
	}
	return out
}

func TestWarningsFire(t *testing.T) {
	ws := kinds(Warnings(mustRead(t, "vm.txt"), matrixtest.FakeVM(), Thresholds{}))
	if w, ok := ws[WarnVM]; !ok || !strings.Contains(w.Message, "KVM") {
		t.Errorf("no VM warning: %+v", ws)
	}
	if w, ok := ws[WarnGovernor]; !ok || !strings.Contains(w.Message, "powersave") {
		t.Errorf("no governor warning: %+v", ws)
	}
	w, ok := ws[WarnTopology]
	if !ok {
		t.Fatalf("no topology warning: %+v", ws)
	}
	for _, want := range []string{"CPUs 2 and 3 (declared llc) measure 27 ns", "CPUs 8 and 9"} {
		if !strings.Contains(w.Message, want) {
			t.Errorf("topology warning lacks %q: %s", want, w.Message)
		}
	}
	if w, ok := ws[WarnUnstable]; !ok || !strings.Contains(w.Message, "5->12") {
		t.Errorf("no unstable warning for 5->12: %+v", ws)
	}
	if w, ok := ws[WarnSamples]; ok {
		t.Errorf("unexpected samples warning with -count 6: %s", w.Message)
	}
	if w, ok := kinds(Warnings(mustRead(t, "few.txt"), nil, Thresholds{}))[WarnSamples]; !ok || !strings.Contains(w.Message, "-count 10") {
		t.Errorf("no too-few-samples warning for -count 4: %+v", w)
	}
	if _, ok := kinds(Warnings(mustRead(t, "vm.txt", "bare.txt"), nil, Thresholds{}))[WarnMixed]; !ok {
		t.Error("no warning for files from two machines")
	}
	wide := kinds(Warnings(mustRead(t, "nosig.txt"), nil, Thresholds{}))
	if _, ok := wide[WarnCI]; !ok {
		t.Errorf("no wide-CI warning on noisy data: %+v", wide)
	}
}

func TestWarningsQuietOnBareMetal(t *testing.T) {
	ws := kinds(Warnings(mustRead(t, "bare.txt"), matrixtest.Bare(), Thresholds{WideCI: 0.25}))
	if len(ws) != 0 {
		t.Errorf("warnings on a clean bare-metal run: %+v", ws)
	}
}

func TestWarningsBenchPairContradicted(t *testing.T) {
	raw := "hypervisor: KVM\ngovernor: unknown\npair-llc: 3,2\nBenchmarkFloor/place=llc-2 100 100 ns/op\n"
	run, err := Read(strings.NewReader(raw), "x.txt")
	if err != nil {
		t.Fatal(err)
	}
	ws := kinds(Warnings(run, matrixtest.FakeVM(), Thresholds{}))
	if !strings.Contains(ws[WarnTopology].Message, "The llc benchmarks ran on CPUs 3,2") {
		t.Errorf("topology warning does not name the benchmark pair: %s", ws[WarnTopology].Message)
	}
	if !strings.Contains(ws[WarnGovernor].Message, "unknown") {
		t.Errorf("governor unknown not reported: %+v", ws)
	}
	if _, ok := ws[WarnSamples]; !ok {
		t.Errorf("one sample, no samples warning")
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := filepath.Join("testdata", "vm.txt")
	for name, c := range map[string]struct {
		path string
		want string
	}{
		"missing":   {filepath.Join(dir, "nope.txt"), "nope.txt"},
		"malformed": {write("bad.txt", "goos: linux\nBenchmarkFloor/place=llc-2 100 abc ns/op\n"), "bad.txt:2"},
		"no unit":   {write("nounit.txt", "BenchmarkFloor-2 100 12\n"), "nounit.txt"},
		"empty":     {write("empty.txt", ""), "empty.txt: no benchmark results"},
		"text only": {write("text.txt", "PASS\nok  pkg 1s\n"), "text.txt: no benchmark results"},
		"directory": {dir, dir},
	} {
		_, err := ReadFiles(good, c.path)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %q", name, err, c.want)
		}
	}
	if _, err := ReadFiles(); err == nil {
		t.Error("no files: no error")
	}
	if _, err := mustRead(t, "vm.txt").Tables(TableOptions{Filter: "/place:("}); err == nil {
		t.Error("bad filter: no error")
	}
	if _, err := mustRead(t, "vm.txt").Tables(TableOptions{Col: "/place@(("}); err == nil {
		t.Error("bad projection: no error")
	}
}

func TestReadConfig(t *testing.T) {
	run := mustRead(t, "vm.txt")
	e := run.Envs[0]
	if !e.IsVM() || e.Get("governor") != "powersave" || e.Get("topology") != "1 package, 1 node, 1 L3, 2 cores, 2 CPUs" {
		t.Errorf("env %+v", e.Values)
	}
	if p := e.Pairs(); len(p) != 2 || p[1] != (DeclaredPair{affinity.LLC, "0,1"}) {
		t.Errorf("pairs %v", p)
	}
	if run.Config("machine") != "amd-epyc-7b13-2c-2t-kvm" {
		t.Errorf("machine %q", run.Config("machine"))
	}
	if mustRead(t, "bare.txt").Envs[0].IsVM() {
		t.Error("bare metal read as VM")
	}
	// 258 lines: 16 config lines, 240 results, PASS and ok.
	if n := len(run.Results); n != 240 {
		t.Errorf("%d results", n)
	}
}

func TestWriteReport(t *testing.T) {
	dir := t.TempDir()
	run := mustRead(t, "bare.txt")
	sum, err := WriteReport(dir, run, Options{Matrix: matrixtest.Bare()})
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "heatmap.png heatmap.svg report.md" {
		t.Errorf("files written: %v", names)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	for _, want := range []string{
		"# pinbench report: intel-xeon-gold-6230-20c-40t-bare",
		"- topology: 2 packages, 2 nodes, 2 L3, 40 cores, 80 CPUs",
		"![core-to-core latency heat map](heatmap.png)",
		"## Recommendations", "**Placement: pin the two iothreads of a handoff as smt",
		"## Warnings",
		"## By placement class (/place)", "## By mechanism (/via)", "## By wait strategy (/wait)",
		"## Poll-window sweep (/pollmax)", "## Queue padding (/pad)", "## Allocations",
		"| benchmark | smt sec/op | llc sec/op | vs base |",
		"| Floor-32 | 21.71n ± 1% | 59.82n ± 4% | +175.56% (p=0.000 n=10) |",
		"go tool benchstat -table .config -row .fullname -col /place",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if !strings.Contains(sum, "Placement: pin") || !strings.HasSuffix(sum, filepath.Join(dir, "report.md")+"\n") {
		t.Errorf("summary:\n%s", sum)
	}
	// A report without a matrix has no heat map.
	dir2 := t.TempDir()
	if _, err := WriteReport(dir2, mustRead(t, "vm.txt"), Options{}); err != nil {
		t.Fatal(err)
	}
	md2, _ := os.ReadFile(filepath.Join(dir2, "report.md"))
	if strings.Contains(string(md2), "heatmap") || !strings.Contains(string(md2), "**virtual machine (KVM)**") {
		t.Errorf("report without matrix:\n%s", md2[:500])
	}
}

func TestWriteReportFailsWhole(t *testing.T) {
	run := mustRead(t, "vm.txt")
	base := t.TempDir()
	notDir := filepath.Join(base, "file")
	os.WriteFile(notDir, []byte("x"), 0o644)
	for _, dir := range []string{filepath.Join(base, "missing"), notDir} {
		_, err := WriteReport(dir, run, Options{Matrix: matrixtest.FakeVM()})
		if err == nil || !strings.Contains(err.Error(), dir) {
			t.Errorf("%s: error %v does not name the folder", dir, err)
		}
	}
	ents, _ := os.ReadDir(base)
	if len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
	// A failure after some temporary files were written removes them and
	// leaves an existing report untouched.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "report.md"), []byte("old"), 0o644)
	os.Mkdir(filepath.Join(dir, "heatmap.png"), 0o755) // rename onto a directory fails
	os.WriteFile(filepath.Join(dir, "heatmap.png", "x"), nil, 0o644)
	if _, err := WriteReport(dir, run, Options{Matrix: matrixtest.FakeVM()}); err == nil {
		t.Fatal("no error renaming onto a directory")
	}
	old, _ := os.ReadFile(filepath.Join(dir, "report.md"))
	if string(old) != "old" {
		t.Errorf("report.md replaced after a failure")
	}
	ents, _ = os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

// TestCompare checks Compare's tables against those of both files read
// together with CompareOptions, the flags internal/benchtab's test checks
// against benchstat (its "compare" case), and Compare's column labels.
func TestCompare(t *testing.T) {
	a, b := mustRead(t, "bare.txt"), mustRead(t, "vm.txt")
	ours, err := Compare(a, b)
	if err != nil {
		t.Fatal(err)
	}
	var llc *benchtab.Table
	for _, tb := range ours.Tables {
		if tb.Key[0] == [2]string{"/place", "llc"} && tb.Unit == "sec/op" {
			llc = tb
		}
	}
	if llc == nil || strings.Join(llc.Cols, " ") != "testdata/bare.txt testdata/vm.txt" {
		t.Fatalf("no llc sec/op table comparing both runs: %+v", llc)
	}
	if i := llc.Row("Floor"); i < 0 || llc.Cells[i][1].Delta() == "" {
		t.Errorf("llc Floor row missing or not compared: rows %v", llc.Rows)
	}
	both, err := mustRead(t, "bare.txt", "vm.txt").Tables(CompareOptions())
	if err != nil {
		t.Fatal(err)
	}
	var got, want bytes.Buffer
	if err := ours.WriteText(&got, RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := both.WriteText(&want, RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("Compare differs from the files' tables with CompareOptions:\n%.600s\nwant:\n%.600s", got.String(), want.String())
	}
	if !strings.Contains(got.String(), "/place: llc") {
		t.Errorf("text compare lacks the table keys:\n%.300s", got.String())
	}
	// Same names get A:/B: labels.
	same, err := Compare(a, a)
	if err != nil {
		t.Fatal(err)
	}
	if c := same.Tables[0].Cols; len(c) != 2 || !strings.HasPrefix(c[0], "A: ") || !strings.HasPrefix(c[1], "B: ") {
		t.Errorf("columns %v", c)
	}
}

// TestPlacementFallsBackToAnotherWait: where busy-poll ran at one class
// only (a 2-CPU machine skips samecpu and unpinned for spinners), the
// placement comes from the next wait strategy that ran at two, and the
// poll-window sweep is read where the poll reference exists.
func TestPlacementFallsBackToAnotherWait(t *testing.T) {
	var b strings.Builder
	b.WriteString("machine: test\n")
	for i := range 10 {
		j := float64(i)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=poll/place=llc-2 1000 %.0f ns/op %.0f cpu-ns/op %.0f p50-ns\n", 400+j, 800+j, 400+j)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=adaptive/place=llc-2 1000 %.0f ns/op %.0f cpu-ns/op %.0f p50-ns\n", 450+j, 700+j, 450+j)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=adaptive/place=samecpu-2 1000 %.0f ns/op %.0f cpu-ns/op %.0f p50-ns\n", 9000+j, 9000+j, 9000+j)
		for _, p := range []string{"samecpu", "llc"} {
			fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=adaptive/pollmax=4us/rate=dense/place=%s-2 1000 %.0f ns/op %.0f cpu-ns/op %.0f p50-ns\n", p, 500+j, 300+j, 500+j)
		}
	}
	run, err := Read(strings.NewReader(b.String()), "fallback.txt")
	if err != nil {
		t.Fatal(err)
	}
	recs := Recommend(run, Thresholds{})
	place := find(t, recs, TopicPlacement)
	if place.Withheld || place.Choice != "llc" || !strings.Contains(strings.Join(place.Evidence, "\n"), "wait=adaptive") {
		t.Errorf("placement %q (withheld %v), want llc from wait=adaptive: %s %q", place.Choice, place.Withheld, place.Summary, place.Evidence)
	}
	window := find(t, recs, TopicWindow)
	if strings.Contains(window.Summary, "no wait=poll reference") {
		t.Errorf("poll window read at a placement without the poll reference: %s", window.Summary)
	}
}

// TestWaitJudgesCPUAtSparseRate: adaptive matches poll's latency back to
// back and burns far less CPU when handoffs are sparse, so it is chosen,
// although back to back it burns as much as poll.
func TestWaitJudgesCPUAtSparseRate(t *testing.T) {
	var b strings.Builder
	for i := range 10 {
		j := float64(i)
		for _, w := range []string{"poll", "adaptive"} {
			fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=%s/place=llc-2 1000 %.0f ns/op %.0f cpu-ns/op\n", w, 250+j, 500+j)
		}
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=block/place=llc-2 1000 %.0f ns/op %.0f cpu-ns/op\n", 7000+j, 6000+j)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=adaptive/place=samecpu-2 1000 %.0f ns/op %.0f cpu-ns/op\n", 9000+j, 9000+j)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=poll/rate=sparse/place=llc-2 1000 %.0f ns/op %.0f cpu-ns/op\n", 50000+j, 56000+j)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=adaptive/rate=sparse/place=llc-2 1000 %.0f ns/op %.0f cpu-ns/op\n", 57000+j, 14000+j)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=block/rate=sparse/place=llc-2 1000 %.0f ns/op %.0f cpu-ns/op\n", 57000+j, 14000+j)
	}
	run, err := Read(strings.NewReader(b.String()), "sparse.txt")
	if err != nil {
		t.Fatal(err)
	}
	w := find(t, Recommend(run, Thresholds{}), TopicWait)
	if w.Withheld || w.Choice != "adaptive" || !strings.Contains(strings.Join(w.Evidence, "\n"), "rate=sparse") {
		t.Errorf("wait strategy %q (withheld %v): %s %q; want adaptive judged on sparse CPU", w.Choice, w.Withheld, w.Summary, w.Evidence)
	}
}

// A floor that more than doubles between samples of the same CPU pair is
// called drift, naming the class and the range; a steady one is not.
func TestDriftWarning(t *testing.T) {
	read := func(floors ...float64) *Run {
		var b strings.Builder
		for _, f := range floors {
			fmt.Fprintf(&b, "BenchmarkFloor/place=llc-2 1000 %g ns/op\nBenchmarkFloor/place=remote-2 1000 %g ns/op\n", f, 100+f/100)
		}
		run, err := Read(strings.NewReader(b.String()), "drift.txt")
		if err != nil {
			t.Fatal(err)
		}
		return run
	}
	w, ok := kinds(Warnings(read(36.6, 32.2, 127.5, 29.6, 125, 35.2), nil, Thresholds{}))[WarnDrift]
	if !ok || !strings.Contains(w.Message, "place=llc from 29.6 ns to 127.5 ns (4.3x, n=6)") || strings.Contains(w.Message, "remote") {
		t.Errorf("drift warning %+v: want llc from 29.6 to 127.5 ns only", w)
	}
	if w, ok := kinds(Warnings(read(36.6, 32.2, 40.1, 29.6, 35, 35.2), nil, Thresholds{}))[WarnDrift]; ok {
		t.Errorf("drift warning on a steady floor: %s", w.Message)
	}
}

// TestWaitReadWherePollRan: on a 1-core, 2-thread guest busy-poll runs at
// smt only, and a blocking wait on one CPU (samecpu) is the fastest
// placement. The wait strategy is then read at smt, the fastest placement
// with a poll run, and says so, rather than finding no poll at samecpu.
func TestWaitReadWherePollRan(t *testing.T) {
	var b strings.Builder
	for i := range 10 {
		j := float64(i)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=poll/place=smt-2 1000 %.0f ns/op %.0f cpu-ns/op\n", 250+j, 500+j)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=adaptive/place=smt-2 1000 %.0f ns/op %.0f cpu-ns/op\n", 260+j, 300+j)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=adaptive/place=samecpu-2 1000 %.0f ns/op %.0f cpu-ns/op\n", 100+j, 100+j)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=block/place=smt-2 1000 %.0f ns/op %.0f cpu-ns/op\n", 7000+j, 6000+j)
	}
	run, err := Read(strings.NewReader(b.String()), "smt2.txt")
	if err != nil {
		t.Fatal(err)
	}
	recs := Recommend(run, Thresholds{})
	if p := find(t, recs, TopicPlacement); p.Choice != "samecpu" {
		t.Fatalf("placement %q (%s), want samecpu", p.Choice, p.Summary)
	}
	w := find(t, recs, TopicWait)
	ev := strings.Join(w.Evidence, "\n")
	if w.Withheld || w.Choice != "adaptive" || !strings.Contains(ev, "place=smt (the fastest placement with a wait=poll run; samecpu had none)") {
		t.Errorf("wait strategy %q (withheld %v): %s %q; want adaptive read at smt", w.Choice, w.Withheld, w.Summary, w.Evidence)
	}
}

// A QEMU TCG guest (hypervisor "QEMU", as the topology lab's guests say)
// gets the emulation warning besides the VM one; KVM does not.
func TestEmulatedWarning(t *testing.T) {
	read := func(hv string) map[WarningKind]Warning {
		run, err := Read(strings.NewReader("hypervisor: "+hv+"\nBenchmarkFloor/place=smt-2 1000 20000 ns/op\n"), hv+".txt")
		if err != nil {
			t.Fatal(err)
		}
		return kinds(Warnings(run, nil, Thresholds{}))
	}
	ws := read("QEMU")
	if w, ok := ws[WarnEmulated]; !ok || !strings.Contains(w.Title, "timings mean nothing") {
		t.Errorf("QEMU: no emulation warning: %+v", ws)
	}
	if _, ok := ws[WarnVM]; !ok {
		t.Errorf("QEMU: no VM warning: %+v", ws)
	}
	if w, ok := read("KVM")[WarnEmulated]; ok {
		t.Errorf("KVM called emulated: %+v", w)
	}
}

// The pinning recommendation compares pin=node with pin=cpu at the same
// place (remote), falls back to the fastest pin=cpu placement where pin=cpu
// has no such place (place=node on a machine without the node class), and
// is withheld when the two do not differ significantly. Names without a
// pin key (results from before it, the unpinned baseline) count as
// pin=cpu.
func TestPinRecommendation(t *testing.T) {
	gen := func(nodeRemote, nodeNode float64, oldNames bool) *Run {
		var b strings.Builder
		b.WriteString("machine: test\n")
		pin := "pin=cpu/"
		if oldNames {
			pin = ""
		}
		for i := range 10 {
			j := float64(i)
			fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=poll/%splace=llc-4 1000 %.0f ns/op\n", pin, 200+j)
			fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=poll/%splace=remote-4 1000 %.0f ns/op\n", pin, 400+j)
			fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=poll/pin=node/place=remote-4 1000 %.0f ns/op 0.25 samecpu-frac\n", nodeRemote+j)
			fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=poll/pin=node/place=node-4 1000 %.0f ns/op 0.5 samecpu-frac\n", nodeNode+j)
		}
		run, err := Read(strings.NewReader(b.String()), "pin.txt")
		if err != nil {
			t.Fatal(err)
		}
		return run
	}
	for _, old := range []bool{false, true} {
		recs := Recommend(gen(800, 600, old), Thresholds{})
		pin := find(t, recs, TopicPinning)
		ev := strings.Join(pin.Evidence, "\n")
		if pin.Withheld || pin.Choice != "cpu" || !strings.Contains(pin.Summary, "one CPU") {
			t.Errorf("old names %v: %s (choice %q, withheld %v); want pin per CPU", old, pin.Summary, pin.Choice, pin.Withheld)
		}
		for _, want := range []string{"pin=node/place=remote 804.5 ns, 1.99x slower than pin=cpu/place=remote 404.5 ns (p=0.000 n=10)", "pin=node/place=node 604.5 ns, 2.96x slower than pin=cpu/place=llc 204.5 ns", "one CPU in 50% of getcpu samples"} {
			if !strings.Contains(ev, want) {
				t.Errorf("evidence lacks %q:\n%s", want, ev)
			}
		}
		if place := find(t, recs, TopicPlacement); place.Choice != "llc" {
			t.Errorf("placement %q; want llc (pin=node results must not mix into it)", place.Choice)
		}
	}
	// Node per-node pinning no different from per-CPU: withheld.
	var b strings.Builder
	for i := range 10 {
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=poll/pin=cpu/place=remote-4 1000 %d ns/op\n", 400+(i*7)%10)
		fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=poll/pin=node/place=remote-4 1000 %d ns/op\n", 400+(i*3)%10)
	}
	run, err := Read(strings.NewReader(b.String()), "pin-same.txt")
	if err != nil {
		t.Fatal(err)
	}
	if pin := find(t, Recommend(run, Thresholds{}), TopicPinning); !pin.Withheld || !strings.Contains(pin.Summary, "not significantly different") {
		t.Errorf("equal pinnings: %s (withheld %v); want withheld", pin.Summary, pin.Withheld)
	}
	// No pin=node results: no pinning topic at all.
	for _, r := range Recommend(mustRead(t, "bare.txt"), Thresholds{}) {
		if r.Topic == TopicPinning {
			t.Errorf("pinning recommendation without pin=node results: %s", r.Summary)
		}
	}
}

// A results file cut off after a bare benchmark name is an error naming
// the file and line, not "too few samples".
func TestTruncatedResults(t *testing.T) {
	good := "machine: test\nBenchmarkFloor/place=llc-2 \t 1000 \t 35.0 ns/op\n"
	if _, err := Read(strings.NewReader(good), "good.txt"); err != nil {
		t.Fatalf("complete file: %v", err)
	}
	for _, cut := range []string{"BenchmarkFloor/place=smt-2", "BenchmarkFloor/place=smt-2 \t 1000\n"} {
		_, err := Read(strings.NewReader(good+cut), "cut.txt")
		if err == nil || !strings.Contains(err.Error(), "cut.txt:3") || strings.Contains(err.Error(), "samples") {
			t.Errorf("file ending %q: error %v; want one naming cut.txt:3", cut, err)
		}
	}
}

// A run restricted to some CPUs (allowed smaller than online) warns that
// it saw only part of the machine; a run on every online CPU does not.
func TestWarningsPartialMachine(t *testing.T) {
	for raw, want := range map[string]bool{
		"allowed: 0-1\nonline: 0-7\nBenchmarkFloor/place=llc-2 100 100 ns/op\n": true,
		"allowed: 0-7\nonline: 0-7\nBenchmarkFloor/place=llc-2 100 100 ns/op\n": false,
		"allowed: 0-1\nBenchmarkFloor/place=llc-2 100 100 ns/op\n":              false, // older files: no online line
	} {
		run, err := Read(strings.NewReader(raw), "x.txt")
		if err != nil {
			t.Fatal(err)
		}
		w, ok := kinds(Warnings(run, nil, Thresholds{}))[WarnPartial]
		if ok != want || ok && !strings.Contains(w.Message, "CPUs 0-1 of the 0-7 online") {
			t.Errorf("%q: partial warning %v %q, want %v", raw, ok, w.Message, want)
		}
	}
}

// Placement advice holds per wait strategy: when busy-polling and
// adaptive iothreads are fastest on two CPUs that share the LLC and
// blocking ones on one CPU, the advice says which placement for which
// strategy rather than one placement for all; when they agree it says
// the advice holds for every strategy.
func TestPlacementPerWaitStrategy(t *testing.T) {
	read := func(blockSameCPU float64) *Run {
		var b strings.Builder
		for i := range 10 {
			j := float64(i)
			fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=adaptive/pin=cpu/place=llc-2 1000 %.0f ns/op\n", 200+j)
			fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=adaptive/pin=cpu/place=samecpu-2 1000 %.0f ns/op\n", 9600+j)
			fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=block/pin=cpu/place=llc-2 1000 %.0f ns/op\n", 6000+j)
			fmt.Fprintf(&b, "BenchmarkHandoff/via=aio/wait=block/pin=cpu/place=samecpu-2 1000 %.0f ns/op\n", blockSameCPU+j)
		}
		run, err := Read(strings.NewReader(b.String()), "waits.txt")
		if err != nil {
			t.Fatal(err)
		}
		return run
	}
	p := find(t, Recommend(read(300), Thresholds{}), TopicPlacement)
	for _, want := range []string{"Placement depends on the wait strategy", "with wait=adaptive pin them as llc (the next best, samecpu, is 46.97x slower", "with wait=block pin them as samecpu (the next best, llc, is 19.72x slower"} {
		if !strings.Contains(p.Summary, want) {
			t.Errorf("summary %q lacks %q", p.Summary, want)
		}
	}
	p = find(t, Recommend(read(12000), Thresholds{}), TopicPlacement)
	if p.Choice != "llc" || !strings.Contains(p.Summary, "pin the two iothreads of a handoff as llc with every wait strategy that settles it (wait=adaptive: llc") || !strings.Contains(p.Summary, "wait=block: llc") {
		t.Errorf("agreeing strategies: %q (choice %q)", p.Summary, p.Choice)
	}
}
