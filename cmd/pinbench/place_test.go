package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/internal/leakcheck"
	"github.com/pinbench/pinbench/internal/testcheck"
	"github.com/pinbench/pinbench/place"
)

var updatePlace = flag.Bool("update-place", false, "rewrite testdata/place-*.golden")

// The committed results the place tests plan from, relative to the
// repository's root (the tests run there, as the plan names its folder).
const (
	epycRun  = "results/amd-epyc-2c2t-vm-7c0fcb/latest"
	big16Run = "lab/results/big16/quick"
)

// placeGolden compares got with testdata/name, or rewrites it under
// -update-place; the test runs from the repository's root.
func placeGolden(t *testing.T, name, got string) {
	t.Helper()
	testcheck.Golden(t, filepath.Join("cmd", "pinbench", "testdata", name), []byte(got), *updatePlace, "-update-place")
}

// The text plan of four threads in a ring on the big16 guest's run: the
// placement, the edges, the baselines and the model's inputs. Flags may
// come in any order.
func TestPlaceText(t *testing.T) {
	t.Chdir(moduleRoot)
	code, stdout, stderr := runCLI("place", "--threads", "4", "--results", big16Run, "--pattern", "ring", "--wait", "adaptive")
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	placeGolden(t, "place-ring4.txt.golden", stdout)
	for _, want := range []string{"model inputs (wait=adaptive", "compact", "spread", "unpinned", "poll-max-ns: 32768"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the plan lacks %q", want)
		}
	}
}

// Each format comes out of the command as the library emits it, with
// the options the flags give.
func TestPlaceFormats(t *testing.T) {
	t.Chdir(moduleRoot)
	base := []string{"place", "--results", big16Run, "--threads", "4", "--pattern", "pairs", "--wait", "adaptive"}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--format", "json"}, []string{`"schema": "pinbench.place/v1"`, `"pattern": "pairs"`}},
		{[]string{"--format", "taskset", "--command", "qemu-system-x86_64"}, []string{"taskset -c ", " qemu-system-x86_64  # t0"}},
		{[]string{"--format", "numactl"}, []string{"numactl --physcpubind="}},
		{[]string{"--format", "systemd", "--unit", "vm.service"}, []string{"CPUAffinity="}},
		{[]string{"--format", "libvirt", "--vcpus", "2", "--domain", "vm1"}, []string{"<vcpupin vcpu=\"1\"", "<poll max=\"32768\"", "virsh iothreadpin vm1 1 "}},
		{[]string{"--format", "libvirt", "--libvirt-version", "9.0"}, []string{"for libvirt 9.0", "virsh iothreadset DOMAIN 1 --poll-max-ns 32768"}},
		{[]string{"--format", "qemu"}, []string{"-object iothread,id=io0,poll-max-ns=32768,poll-grow=0,poll-shrink=0"}},
	} {
		code, stdout, stderr := runCLI(append(base, c.args...)...)
		if code != 0 {
			t.Errorf("%v: exit %d: %s", c.args, code, stderr)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(stdout, w) {
				t.Errorf("%v: the output lacks %q:\n%s", c.args, w, stdout)
			}
		}
	}
	_, js, _ := runCLI(append(base, "--format", "json")...)
	if d, err := place.Decode(strings.NewReader(js)); err != nil || len(d.Threads) != 4 || d.Wait != "adaptive" {
		t.Errorf("the JSON does not decode as a plan: %v", err)
	}
}

// The wait mode defaults to the run's recommendation, else poll with a
// note; a mode the run has no figures for is refused, naming those it
// has.
func TestPlaceWaitDefault(t *testing.T) {
	t.Chdir(moduleRoot)
	code, stdout, stderr := runCLI("place", "--results", epycRun, "--threads", "2", "--pattern", "pairs")
	if code != 0 || stderr != "" || !strings.Contains(stdout, "wait=adaptive") {
		t.Errorf("the EPYC run recommends adaptive: exit %d, %q\n%s", code, stderr, stdout)
	}
	dir := fakeResults(t, "allowed: 0-1\n", handoffLines("poll", "llc", 3)+handoffLines("block", "llc", 3))
	code, stdout, stderr = runCLI("place", "--results", dir, "--threads", "2", "--pattern", "ring")
	if code != 0 || !strings.Contains(stderr, "note: the run's report ") || !strings.Contains(stdout, "wait=poll") {
		t.Errorf("no recommendation: exit %d, %q\n%s", code, stderr, stdout)
	}
	code, _, stderr = runCLI("place", "--results", dir, "--threads", "2", "--pattern", "ring", "--wait", "adaptive")
	if code != 1 || !strings.Contains(stderr, "no via=aio handoff figures for wait=adaptive, only for poll, block") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("no figures for the wait mode: exit %d, %q", code, stderr)
	}
}

// handoffLines returns n via=aio handoff results for wait at class.
func handoffLines(wait, class string, n int) string {
	return strings.Repeat("BenchmarkHandoff/via=aio/wait="+wait+"/place="+class+"-2 \t 1000 \t 250.0 ns/op\n", n)
}

// fakeResults writes a results folder with the EPYC run's topology (two
// CPUs) and a bench.txt of config and lines.
func fakeResults(t *testing.T, config, lines string) string {
	t.Helper()
	dir := t.TempDir()
	topo, err := os.ReadFile(filepath.Join(epycRun, place.TopologyFile))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, place.TopologyFile), topo, 0o644)
	os.WriteFile(filepath.Join(dir, place.BenchFile), []byte("machine: fake\n"+config+lines), 0o644)
	return dir
}

// Bad input gets one line and exit 2 (the flags) or 1 (a file).
func TestPlaceErrors(t *testing.T) {
	t.Chdir(moduleRoot)
	graphs := t.TempDir()
	twice := filepath.Join(graphs, "twice.json")
	os.WriteFile(twice, []byte(`{"threads": ["a", "b", "a"], "edges": [{"from": "a", "to": "b"}]}`), 0o644)
	negative := filepath.Join(graphs, "negative.json")
	os.WriteFile(negative, []byte(`{"edges": [{"from": "a", "to": "b", "weight": -1}]}`), 0o644)
	part := fakeResults(t, "allowed: 0\n", handoffLines("block", "llc", 6))
	ring2 := []string{"--threads", "2", "--pattern", "ring"}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--results", epycRun, "--threads", "3", "--pattern", "ring"}, 2, "3 threads, but only 2 usable CPUs (0-1)"},
		{[]string{"--results", epycRun, "--threads", "2", "--pattern", "star"}, 2, `unknown pattern "star"`},
		{append([]string{"--results", epycRun, "--format", "yaml"}, ring2...), 2, `unknown format "yaml"`},
		{append([]string{"--results", epycRun, "--wait", "spin"}, ring2...), 2, `unknown wait mode "spin"`},
		{append([]string{"--results", epycRun, "--cpus", "0,5"}, ring2...), 2, "CPUs 5 are not in the topology"},
		{append([]string{"--results", part, "--cpus", "1", "--wait", "block"}, ring2...), 2, "CPUs 1 are outside the run's allowed CPUs 0"},
		{append([]string{"--results", epycRun, "--cpus", "0-1", "--reserve", "0-1"}, ring2...), 2, "no usable CPU"},
		{append([]string{"--results", epycRun, "--cpus", "0-"}, ring2...), 2, `--cpus "0-"`},
		{append([]string{"--results", epycRun, "--wait", "poll", "--share"}, ring2...), 2, "sharing CPUs needs the run's samecpu figure for wait=poll"},
		{append([]string{"--results", epycRun, "--vcpus", "1", "--format", "libvirt"}, ring2...), 2, "vcpus applies to a pairs plan"},
		{append([]string{"--results", epycRun, "--rounds", "3"}, ring2...), 2, "--rounds and --round-time need --verify"},
		{append([]string{"--results", epycRun, "--verify", "--rounds", "1"}, ring2...), 2, "--rounds 1: a comparison needs 2 at least"},
		{append([]string{"--results", epycRun, "--graph", twice}, ring2...), 2, "--graph excludes --threads and --pattern"},
		{[]string{"--results", epycRun, "--threads", "2"}, 2, "name the workload"},
		{append([]string{"extra", "--results", epycRun}, ring2...), 2, `unexpected argument "extra"`},
		{[]string{"--results", epycRun, "--graph", twice}, 1, `"a" is named twice`},
		{[]string{"--results", epycRun, "--graph", negative}, 1, "weight -1"},
		{append([]string{"--results", part, "--wait", "poll"}, ring2...), 1, "no via=aio handoff figures for wait=poll, only for block"},
		{append([]string{"--results", t.TempDir()}, ring2...), 1, "bench.txt"},
	} {
		code, stdout, stderr := runCLI(append([]string{"place"}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "pinbench place: ") || stdout != "" {
			t.Errorf("%q: exit %d, stderr %q, stdout %q; want exit %d and one line with %q", c.args, code, stderr, stdout, c.code, c.want)
		}
	}
}

// Without --results, the plan reads this machine's latest run, and says
// how to make one when there is none.
func TestPlaceDefaultResults(t *testing.T) {
	t.Chdir(t.TempDir())
	code, _, stderr := runCLI("place", "--threads", "2", "--pattern", "ring")
	if code != 1 || !strings.Contains(stderr, "no results for this machine") || !strings.Contains(stderr, "pinbench tune") {
		t.Errorf("exit %d, %q", code, stderr)
	}
}

// A short verification on this machine (two rounds of a few ms; N=2):
// the plan, benchstat's table, the comparisons and the orders on stdout,
// progress on stderr; with --format json the measured costs are in the
// document and the comparison on stderr. Nothing is left running.
func TestPlaceVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("runs iothreads")
	}
	if allowed, err := affinity.Allowed(); err != nil || !allowed.Has(0) || !allowed.Has(1) {
		t.Skipf("needs CPUs 0 and 1 (allowed %v, %v)", allowed, err)
	}
	leakcheck.Check(t)
	t.Chdir(moduleRoot)
	args := []string{"place", "--results", epycRun, "--threads", "2", "--pattern", "pairs", "--verify", "--rounds", "2", "--round-time", "3ms"}
	code, stdout, stderr := runCLI(args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"measured:", "verify: 2 threads (pairs), wait=adaptive", "sec/op", "plan vs compact: the same CPUs", "plan vs unpinned: ", "predicted order: plan < unpinned"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "verify: round 2/2: unpinned") || !strings.Contains(stderr, "verify: round 1/2: plan") {
		t.Errorf("progress on stderr: %q", stderr)
	}
	code, stdout, stderr = runCLI(append(args, "--format", "json")...)
	d, err := place.Decode(strings.NewReader(stdout))
	if code != 0 || err != nil || len(d.Measured) != 4 || d.Measured[0].Placement != "plan" || !(d.Measured[0].NsPerRound > 0) {
		t.Fatalf("json: exit %d, %v, measured %+v\n%s", code, err, d, stderr)
	}
	if !strings.Contains(stderr, "plan vs unpinned") || bytes.Contains([]byte(stdout), []byte("sec/op")) {
		t.Errorf("json: the comparison belongs on stderr:\n%s", stderr)
	}
	if d.Verified == nil || d.Verified.Rounds != 2 || !strings.HasPrefix(d.Verified.Verdict, "the plan is ") {
		t.Errorf("json: the verdict is not kept: %+v", d.Verified)
	}
}
