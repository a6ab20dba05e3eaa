package report

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/internal/matrixtest"
)

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
	run := readText(t, "x.txt", raw)
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

// A floor that more than doubles between samples of the same CPU pair is
// called drift, naming the class and the range; a steady one is not.
func TestDriftWarning(t *testing.T) {
	read := func(floors ...float64) *Run {
		var b strings.Builder
		for _, f := range floors {
			fmt.Fprintf(&b, "BenchmarkFloor/place=llc-2 1000 %g ns/op\nBenchmarkFloor/place=remote-2 1000 %g ns/op\n", f, 100+f/100)
		}
		run := readText(t, "drift.txt", b.String())
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

// A QEMU TCG guest (hypervisor "QEMU", as discovery names TCG's cpuid
// vendor) gets the emulation warning besides the VM one; KVM does not.
func TestEmulatedWarning(t *testing.T) {
	read := func(hv string) map[WarningKind]Warning {
		run := readText(t, hv+".txt", "hypervisor: "+hv+"\nBenchmarkFloor/place=smt-2 1000 20000 ns/op\n")
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

// A run restricted to some CPUs (allowed smaller than online) warns that
// it saw only part of the machine; a run on every online CPU does not.
func TestWarningsPartialMachine(t *testing.T) {
	for raw, want := range map[string]bool{
		"allowed: 0-1\nonline: 0-7\nBenchmarkFloor/place=llc-2 100 100 ns/op\n": true,
		"allowed: 0-7\nonline: 0-7\nBenchmarkFloor/place=llc-2 100 100 ns/op\n": false,
		"allowed: 0-1\nBenchmarkFloor/place=llc-2 100 100 ns/op\n":              false, // older files: no online line
	} {
		run := readText(t, "x.txt", raw)
		w, ok := kinds(Warnings(run, nil, Thresholds{}))[WarnPartial]
		if ok != want || ok && !strings.Contains(w.Message, "CPUs 0-1 of the 0-7 online") {
			t.Errorf("%q: partial warning %v %q, want %v", raw, ok, w.Message, want)
		}
	}
}

// TestWarningsMixedSettings: a report that pools a quick and a full run of
// one machine warns, as compare does for the same two runs and in the
// same words (issue 20, item 8); two runs alike do not.
func TestWarningsMixedSettings(t *testing.T) {
	file := func(name, mode, count string) *Run {
		text := "machine: m1\ntune-mode: " + mode + "\ncount: " + count + "\n"
		for i := range 6 {
			text += fmt.Sprintf("BenchmarkFloor/place=llc-2 1000 %d ns/op\n", 35+i)
		}
		return readText(t, name, text)
	}
	quick, full := file("quick.txt", "quick", "6"), file("full.txt", "full", "10")
	var found []string
	for _, w := range Warnings(Merge(quick, full), nil, Thresholds{}) {
		if w.Kind == WarnSettings && strings.Contains(w.Message, "tune-mode") {
			found = append(found, w.Message)
		}
	}
	msg := strings.Join(found, "\n")
	for _, want := range []string{"tune-mode (quick.txt: quick, full.txt: full)", "count (quick.txt: 6, full.txt: 10)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("pooled quick and full runs: warnings %q lack %q", found, want)
		}
	}
	for _, w := range CompareWarnings(quick, full) {
		if _, detail, _ := strings.Cut(w, "different "); !strings.Contains(msg, strings.SplitN(detail, ":", 2)[0]) {
			t.Errorf("compare warns %q; the report does not say the same", w)
		}
	}
	for _, w := range Warnings(Merge(quick, file("quick2.txt", "quick", "6")), nil, Thresholds{}) {
		if strings.Contains(w.Message, "different") {
			t.Errorf("two runs with the same settings: warning %+v", w)
		}
	}
}
