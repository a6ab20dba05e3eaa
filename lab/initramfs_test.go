package lab

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// spec returns a Spec over small stand-in files in a temporary folder.
func spec(t *testing.T) Spec {
	t.Helper()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("repo/bench/doc.go", "package bench\n")
	write("repo/aio/testdata/x", "x")
	write("repo/.git/HEAD", "ref")
	write("repo/out/lab/old", "old")
	write("shared/expected.tsv", "counts")
	return Spec{
		Busybox:     write("busybox", "bb"),
		Pinbench:    write("pinbench", "pb"),
		Labctl:      write("labctl", "lc"),
		HostSpeedNs: 20e6,
		Repo:        filepath.Join(dir, "repo"),
		Shared:      filepath.Join(dir, "shared"),
		Tests: []TestBinary{
			{ImportPath: benchImport, Dir: "bench", Binary: write("b.test", "bt")},
			{ImportPath: "github.com/pinbench/pinbench/aio", Dir: "aio", Binary: write("a.test", "at")},
		},
		StepLimit: 100, TotalLimit: 400,
	}
}

func TestSpecBuild(t *testing.T) {
	s := spec(t)
	for _, c := range []struct {
		tune bool
		plan string
	}{{false, "quick"}, {true, ""}, {false, "full"}} {
		tune := c.tune
		s.Tune, s.PlanCheck = c.tune, c.plan
		a, err := s.Build()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"init", "bin/busybox", "lab/bin/pinbench", "lab/bin/labctl", "lab/repo/bench/bench.test", "lab/repo/aio/aio.test",
			"lab/repo/aio/testdata/x", "lab/repo/bench/doc.go", "lab/shared/topologies/expected.tsv", "proc", "sys", "dev", "out"} {
			if !a.Has(want) {
				t.Errorf("initramfs lacks %s", want)
			}
		}
		for _, not := range []string{"lab/repo/.git/HEAD", "lab/repo/out/lab/old"} {
			if a.Has(not) {
				t.Errorf("initramfs holds %s", not)
			}
		}
		var buf bytes.Buffer
		if _, err := a.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		_, m := readNewc(t, buf.Bytes())
		init := m["init"].data
		for _, want := range []string{
			"timeout -s QUIT -k 10 100 ", "sleep 400", "cd /lab/repo/aio", "./aio.test -test.v -test.timeout 85s",
			"./bench.test -test.run \"^$\" -test.bench . -test.benchtime 1x", BeginMarker, EndMarker, "poweroff -f",
			"labctl speed -host 20000000 -max 2 ", "export " + StallScaleEnv + "=$scale",
		} {
			if !strings.Contains(init, want) {
				t.Errorf("init lacks %q", want)
			}
		}
		if got := strings.Contains(init, "step tune sh -c 'pinbench tune "+TuneFlags+" --bench-bin ./bench.test --out /out/tune "); got != tune {
			t.Errorf("Tune %v, init runs tune: %v", tune, got)
		}
		if got := strings.Contains(init, "pinbench tune --plan --bench-bin ./bench.test > /out/plan.txt") &&
			strings.Contains(init, "step quick sh -c 'pinbench tune --bench-bin ./bench.test --out /out/quick "); got != (s.PlanCheck == "quick") {
			t.Errorf("PlanCheck %q, init runs the plan and a quick tune: %v", s.PlanCheck, got)
		}
		if got := strings.Contains(init, "step full sh -c 'pinbench tune --full --bench-bin ./bench.test --out /out/full "); got != (s.PlanCheck == "full") {
			t.Errorf("PlanCheck %q, init runs a full tune: %v", s.PlanCheck, got)
		}
		if m["init"].mode&0o111 == 0 {
			t.Errorf("init is not executable: %o", m["init"].mode)
		}
	}
}

func TestSpecBuildErrors(t *testing.T) {
	for _, tc := range []struct {
		change func(*Spec)
		want   string
	}{
		{func(s *Spec) { s.Tests = s.Tests[1:] }, "no test binary of github.com/pinbench/pinbench/bench"},
		{func(s *Spec) { s.StepLimit = 500 }, "step limit"},
		{func(s *Spec) { s.Tests[1].Dir = "../elsewhere" }, "not inside the repository"},
		{func(s *Spec) { s.Busybox = "/nonexistent/busybox" }, "/nonexistent/busybox"},
		{func(s *Spec) { s.Labctl = "/nonexistent/labctl" }, "/nonexistent/labctl"},
		{func(s *Spec) { s.HostSpeedNs = 0 }, "host speed probe"},
		{func(s *Spec) { s.PlanCheck = "slow" }, `plan check mode "slow": want quick or full`},
	} {
		s := spec(t)
		tc.change(&s)
		if _, err := s.Build(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one mentioning %q", err, tc.want)
		}
	}
}

// A package with known failures runs with -test.skip for them, and
// tests.txt records each skip with its reason.
func TestSpecSkipsKnownFailures(t *testing.T) {
	if len(KnownFailures) == 0 {
		t.Skip("no known failures")
	}
	k := KnownFailures[0]
	s := spec(t)
	s.Tests = append(s.Tests, TestBinary{ImportPath: k.ImportPath, Dir: "aio", Binary: s.Tests[1].Binary})
	script, err := s.initScript()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`-test.skip "^(` + k.Test + `)$"`, "echo 'lab: known failure skipped: " + k.Test + " in " + k.ImportPath} {
		if !bytes.Contains(script, []byte(want)) {
			t.Errorf("init lacks %q", want)
		}
	}
	want := 0 // one -test.skip per package of the spec with known failures
	for _, tb := range s.Tests {
		if p, _ := knownSkip(tb.ImportPath); p != "" {
			want++
		}
	}
	if n := bytes.Count(script, []byte("-test.skip")); n != want || want == 0 {
		t.Errorf("init passes -test.skip %d times, want %d (once per package with known failures)", n, want)
	}
}

// An arm64 guest's init loads its modules in order, waits for the virtio
// console and sends the results there; an x86 guest's loads nothing and
// sends them to the second serial port.
func TestSpecResultsChannel(t *testing.T) {
	s := spec(t)
	script, err := s.initScript()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(script, []byte("} > /dev/ttyS1\n")) || bytes.Contains(script, []byte("insmod")) {
		t.Errorf("x86 init does not send to /dev/ttyS1 without modules:\n%s", script)
	}

	g, err := GuestFor("arm64")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, m := range g.Modules {
		p := filepath.Join(dir, filepath.Base(m))
		if err := os.WriteFile(p, []byte(m), 0o644); err != nil {
			t.Fatal(err)
		}
		s.Modules = append(s.Modules, p)
	}
	s.ResultsDev = g.ResultsDev
	a, err := s.Build()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := a.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	_, m := readNewc(t, buf.Bytes())
	init := m["init"].data
	last := -1
	for _, mod := range g.Modules {
		name := "lab/modules/" + filepath.Base(mod)
		if m[name].data != mod {
			t.Errorf("initramfs holds %s as %q, want the host file's content", name, m[name].data)
		}
		i := strings.Index(init, "insmod /"+name)
		if i < 0 || i < last {
			t.Errorf("init does not load /%s after the modules before it", name)
		}
		last = i
	}
	wait, send := strings.Index(init, "while [ ! -e /dev/hvc0 ]"), strings.Index(init, "} > /dev/hvc0\n")
	if wait < last || send < 0 || strings.Contains(init, "ttyS1") {
		t.Errorf("init does not wait for /dev/hvc0 after the modules and send the results there:\n%s", init)
	}
	s.Modules = []string{filepath.Join(dir, "missing.ko")}
	if _, err := s.Build(); err == nil || !strings.Contains(err.Error(), "missing.ko") {
		t.Errorf("a missing module: %v, want an error naming it", err)
	}
}
