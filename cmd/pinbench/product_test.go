package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/perf/benchfmt"

	"github.com/pinbench/pinbench/affinity"
)

// tinyTune are tune's flags for a run in test mode: two rounds of two
// iterations of a few benchmarks and a one-repetition matrix.
var tinyTune = []string{"--count", "2", "--benchtime", "2x", "--matrix-reps", "1", "--matrix-transfers", "200",
	"--bench", "Floor|Notify|Coroutine/op=switch|Handoff/via=aio/wait=block/place"}

// installed builds the pinbench binary (static, as the README says)
// and copies it into a temporary folder outside the module, as a user
// would install it; it returns the binary's path and an environment
// whose PATH holds no go command.
func installed(t *testing.T) (bin string, env []string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary and runs it")
	}
	gocmd, err := exec.LookPath("go")
	if err != nil {
		// As in the topology lab's guests, where test binaries run
		// without a toolchain.
		t.Skip("needs the go command to build the pinbench binary")
	}
	build := filepath.Join(t.TempDir(), "pinbench")
	// A plain go build, cgo as the environment has it: the binary must
	// come out static all the same (no program interpreter, no libc).
	if out, err := exec.Command(gocmd, "build", "-o", build, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	exe, err := elf.Open(build)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range exe.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("go build ./cmd/pinbench gives a dynamically linked binary (it has a program interpreter)")
		}
	}
	exe.Close()
	dir := t.TempDir()
	bin = filepath.Join(dir, "pinbench")
	data, err := os.ReadFile(build)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	var path []string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(d, "go")); err != nil {
			path = append(path, d)
		}
	}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "PATH=") && !strings.HasPrefix(e, "GO") {
			env = append(env, e)
		}
	}
	env = append(env, "PATH="+strings.Join(path, string(filepath.ListSeparator)))
	return bin, env
}

// The installed binary runs the whole tuning run from a folder outside
// the module with no go command on PATH: results/<machine-id>/<UTC
// time>-quick holds every file, world-readable, and latest (a relative
// link) points at it; a second run gets a folder of its own and moves
// latest; nothing is left staged.
func TestInstalledBinaryTunes(t *testing.T) {
	bin, env := installed(t)
	work := t.TempDir()
	runTune := func() string {
		cmd := exec.Command(bin, append([]string{"tune"}, tinyTune...)...)
		cmd.Dir, cmd.Env = work, env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("tune: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		}
		if strings.Contains(stderr.String(), "building") {
			t.Errorf("tune built something:\n%s", stderr.String())
		}
		return stdout.String()
	}
	// The plan needs no toolchain either, for this machine or a capture.
	capture, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "topologies", "epyc256.tar.gz"))
	for _, args := range [][]string{{"tune", "--plan", "--bench", "Floor"}, {"tune", "--plan", "--root", capture, "--bench", "Floor"}} {
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = work, env
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "BenchmarkFloor/place=") || !strings.Contains(string(out), "estimated duration") {
			t.Errorf("%q: %v\n%s", args, err, out)
		}
	}
	first := runTune()
	ids, _ := os.ReadDir(filepath.Join(work, "results"))
	if len(ids) != 1 {
		t.Fatalf("results/ holds %v, want one machine folder", ids)
	}
	machine := filepath.Join(work, "results", ids[0].Name())
	link, err := os.Readlink(filepath.Join(machine, latestLink))
	if err != nil || filepath.IsAbs(link) || !strings.HasSuffix(link, "-quick") {
		t.Fatalf("latest -> %q (%v); want a relative link to a ...-quick folder", link, err)
	}
	if !strings.Contains(first, filepath.Join("results", ids[0].Name(), link, reportFile)) {
		t.Errorf("the summary does not name the report in its final folder:\n%s", first)
	}
	for _, name := range []string{rawFile, topologyFile, reportFile, matrixFile, matrixLongFile, "heatmap.svg", "heatmap.png"} {
		st, err := os.Stat(filepath.Join(machine, latestLink, name))
		if err != nil || st.Size() == 0 || st.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v, mode %v; want a non-empty 0644 file", name, err, st.Mode().Perm())
		}
	}
	raw, _ := os.ReadFile(filepath.Join(machine, latestLink, rawFile))
	for _, want := range []string{"tune-mode: quick\n", "benchtime: 2x\n", "count: 2\n", "pkg: github.com/pinbench/pinbench/bench\n", "BenchmarkNotify/target=asleep-"} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("%s lacks %q", rawFile, want)
		}
	}
	time.Sleep(time.Second) // a new second, a new folder name
	runTune()
	runs, _ := os.ReadDir(machine)
	var names []string
	for _, r := range runs {
		names = append(names, r.Name())
	}
	if len(runs) != 3 || strings.Contains(strings.Join(names, " "), stagingMark) {
		t.Fatalf("%s holds %q; want two run folders and latest, nothing staged", machine, names)
	}
	if again, _ := os.Readlink(filepath.Join(machine, latestLink)); again == link {
		t.Errorf("latest still points at the first run %s", link)
	}
}

// A run restricted to one CPU (taskset) keeps the machine's id, marks its
// folder with the CPUs it could use, and its report warns that it saw
// only part of the machine.
func TestRestrictedRunIsMarked(t *testing.T) {
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		t.Skip("no taskset")
	}
	if live, err := affinity.Discover(); err != nil || live.Online.Count() < 2 {
		t.Skip("needs two online CPUs to restrict the run to one")
	}
	bin, env := installed(t)
	work := t.TempDir()
	cmd := exec.Command(taskset, append([]string{"-c", "0", bin, "tune"}, tinyTune...)...)
	cmd.Dir, cmd.Env = work, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("taskset -c 0 pinbench tune: %v\n%s", err, out)
	}
	ids, _ := os.ReadDir(filepath.Join(work, "results"))
	if len(ids) != 1 {
		t.Fatalf("results/ holds %v", ids)
	}
	link, _ := os.Readlink(filepath.Join(work, "results", ids[0].Name(), latestLink))
	if !strings.HasSuffix(link, "-quick-cpus0") {
		t.Errorf("restricted run folder %q, want it to end in -quick-cpus0", link)
	}
	md, _ := os.ReadFile(filepath.Join(work, "results", ids[0].Name(), latestLink, reportFile))
	if !strings.Contains(string(md), "saw only part of the machine (CPUs 0 of") || !strings.Contains(string(out), "it measures part of the machine") {
		t.Errorf("no partial-machine warning in report.md or on stderr:\n%s", out)
	}
}

// SIGINT or SIGTERM mid-run (during the benchmarks) stops tune with exit
// 1 and one line saying so, and leaves no run folder, no staging folder,
// no latest link.
func TestTuneSignalLeavesNothing(t *testing.T) {
	bin, env := installed(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			work := t.TempDir()
			cmd := exec.Command(bin, "tune", "--count", "3", "--benchtime", "300ms", "--matrix-reps", "1", "--matrix-transfers", "200", "--bench", "Floor|Notify")
			cmd.Dir, cmd.Env = work, env
			pipe, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			sc := bufio.NewScanner(pipe)
			sc.Split(scanLinesOrCR)
			sent := false
			for sc.Scan() {
				stderr.WriteString(sc.Text() + "\n")
				if !sent && strings.HasPrefix(sc.Text(), "bench: round 1/3") {
					if err := cmd.Process.Signal(sig); err != nil {
						t.Fatal(err)
					}
					sent = true
				}
			}
			err = cmd.Wait()
			code := cmd.ProcessState.ExitCode()
			if !sent || code != 1 || !strings.Contains(stderr.String(), "pinbench tune: interrupted by a signal") {
				t.Fatalf("signal sent %v; exit %d (%v); stderr:\n%s\nwant exit 1 and the interruption named", sent, code, err, stderr.String())
			}
			var left []string
			filepath.Walk(filepath.Join(work, "results"), func(p string, info os.FileInfo, err error) error {
				if err == nil && !info.IsDir() || err == nil && strings.Contains(p, stagingMark) || strings.HasSuffix(p, latestLink) {
					left = append(left, p)
				}
				return nil
			})
			if len(left) > 0 {
				t.Errorf("an interrupted run left %q", left)
			}
		})
	}
}

// scanLinesOrCR splits at newlines and at the carriage returns of
// progress lines.
func scanLinesOrCR(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// What a run needs is checked before anything is measured: each bad
// value is a usage error (exit 2) or a failure (exit 1) on one line, and
// stage 2 never starts.
func TestTuneChecksBeforeMeasuring(t *testing.T) {
	script := filepath.Join(t.TempDir(), "fake.test")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho hello\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--out", ""}, 2, "--out is empty"},
		{[]string{"--benchtime", "fast"}, 2, `--benchtime "fast"`},
		{[]string{"--benchtime", "0x"}, 2, `--benchtime "0x"`},
		{[]string{"--benchtime", "-1s"}, 2, `--benchtime "-1s"`},
		{[]string{"--bench", "Floor/("}, 2, "not a regular expression"},
		{[]string{"--bench", "NoSuchBenchmark"}, 2, "matches no benchmark"},
		{[]string{"--bench-bin", script, "--out", t.TempDir()}, 1, "is not a pinbench benchmark binary"},
		{[]string{"--force"}, 2, "--force needs --out"},
		{[]string{"--bogus"}, 2, "flag provided but not defined: -bogus"},
		{[]string{"--count", "x"}, 2, "invalid value"},
	} {
		code, _, stderr := runCLI(append([]string{"tune"}, tc.args...)...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		last := lines[len(lines)-1]
		if code != tc.code || !strings.HasPrefix(last, "pinbench tune: ") || !strings.Contains(last, tc.want) || strings.Contains(stderr, "[2/5") {
			t.Errorf("tune %q: exit %d, stderr %q; want exit %d before measuring, one line mentioning %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}

// An explicit --out that holds results is refused unless --force, which
// replaces them whole; a folder of other files is never replaced.
func TestTuneOutRefusesResults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs tune")
	}
	out := t.TempDir()
	writeFile(t, filepath.Join(out, rawFile), "old")
	writeFile(t, filepath.Join(out, "stale.txt"), "old")
	code, _, stderr := runCLI(append([]string{"tune", "--out", out}, tinyTune...)...)
	if code != 2 || !strings.Contains(stderr, "already holds results") || !strings.Contains(stderr, "--force") {
		t.Fatalf("--out over results: exit %d, %q; want exit 2 naming --force", code, stderr)
	}
	code, stdout, stderr := runCLI(append([]string{"tune", "--out", out, "--force"}, tinyTune...)...)
	if code != 0 {
		t.Fatalf("--force: exit %d\n%s\n%s", code, stdout, stderr)
	}
	raw, _ := os.ReadFile(filepath.Join(out, rawFile))
	if _, err := os.Stat(filepath.Join(out, "stale.txt")); err == nil || !bytes.Contains(raw, []byte("BenchmarkFloor")) {
		t.Errorf("--force did not replace the old run whole (stale file kept: %v)", err == nil)
	}
	other := t.TempDir()
	writeFile(t, filepath.Join(other, "notes.txt"), "mine")
	if code, _, stderr := runCLI("tune", "--out", other, "--force"); code != 1 || !strings.Contains(stderr, "holds no pinbench results") {
		t.Errorf("--out over other files with --force: exit %d, %q", code, stderr)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "*"+stagingMark+"*")); len(left) > 0 {
		t.Errorf("staging left: %q", left)
	}
}

// The command line behaves like go tools: -h on each command and `help
// CMD` print its synopsis and real defaults (exit 0); an unknown flag is
// exit 2 on every command, with one prefix; flags may follow arguments.
func TestCommandLineConventions(t *testing.T) {
	for _, c := range commands {
		code, stdout, _ := runCLI(c.name, "-h")
		if code != 0 || !strings.HasPrefix(stdout, "usage: pinbench "+c.name+" ") || !strings.Contains(stdout, "flags:") {
			t.Errorf("%s -h: exit %d, %q", c.name, code, stdout)
		}
		code, help, _ := runCLI("help", c.name)
		if code != 0 || help != stdout {
			t.Errorf("help %s: exit %d, differs from -h:\n%s", c.name, code, help)
		}
		code, _, stderr := runCLI(c.name, "--no-such-flag")
		if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "pinbench "+c.name+": flag provided but not defined") {
			t.Errorf("%s --no-such-flag: exit %d, %q; want exit 2, one line", c.name, code, stderr)
		}
	}
	_, tune, _ := runCLI("help", "tune")
	for _, want := range []string{"(default 6, or 10 with --full)", "results/<machine-id>/<UTC time>-quick|full", `(default ".")`} {
		if !strings.Contains(tune, want) {
			t.Errorf("help tune lacks %q:\n%s", want, tune)
		}
	}
	if code, _, stderr := runCLI("help", "nosuch"); code != 2 || !strings.Contains(stderr, "unknown command") {
		t.Errorf("help nosuch: exit %d, %q", code, stderr)
	}
}

// report reads a results folder, takes --out after its argument, and a
// failing report leaves no --out folder behind; messages carry one prefix.
func TestReportFolderAndFailure(t *testing.T) {
	src := t.TempDir()
	data := "machine: m\ntopology: t\n" + strings.Repeat("BenchmarkFloor/place=llc-2 \t 1000 \t 50.0 ns/op\n", 3)
	writeFile(t, filepath.Join(src, rawFile), data)
	out := filepath.Join(t.TempDir(), "new", "report")
	code, stdout, stderr := runCLI("report", src, "--out", out)
	if code != 0 || !strings.Contains(stdout, filepath.Join(out, reportFile)) {
		t.Fatalf("report FOLDER --out: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, reportFile)); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bench.txt")
	os.WriteFile(bad, []byte("BenchmarkX 12 abc ns/op\n"), 0o644)
	never := filepath.Join(t.TempDir(), "never")
	code, _, stderr = runCLI("report", bad, "--out", never)
	if code != 1 || strings.Contains(stderr, "report: report:") || strings.Count(stderr, "pinbench") != 1 {
		t.Errorf("report of a malformed file: exit %d, %q; want exit 1, one prefix", code, stderr)
	}
	if _, err := os.Stat(never); err == nil {
		t.Error("a failed report left its --out folder")
	}
	if code, _, stderr := runCLI("report", t.TempDir()); code != 1 || !strings.Contains(stderr, "not a results folder") {
		t.Errorf("report of an empty folder: exit %d, %q", code, stderr)
	}
}

// compare takes any number of runs, a column per run, and warns when
// their settings differ.
func TestCompareManyRuns(t *testing.T) {
	var dirs []string
	for i, mode := range []string{"quick", "quick", "full"} {
		dir := t.TempDir()
		data := "tune-mode: " + mode + "\nbenchtime: 100ms\ncount: 3\nmachine: m" + string(rune('a'+i)) + "\n" +
			strings.Repeat("BenchmarkFloor/place=llc-2 \t 1000 \t 5"+string(rune('0'+i))+".0 ns/op\n", 3)
		writeFile(t, filepath.Join(dir, rawFile), data)
		dirs = append(dirs, dir)
	}
	code, stdout, stderr := runCLI(append([]string{"compare"}, dirs...)...)
	if code != 0 {
		t.Fatalf("compare: exit %d\n%s", code, stderr)
	}
	for _, d := range dirs {
		if !strings.Contains(stdout, filepath.Base(d)) {
			t.Errorf("no column for %s:\n%s", d, stdout)
		}
	}
	if !strings.Contains(stderr, "warning: the runs used different tune-mode ("+dirs[0]+": quick, "+dirs[1]+": quick, "+dirs[2]+": full)") || strings.Contains(stderr, "benchtime") {
		t.Errorf("settings warning: %q", stderr)
	}
	if code, _, _ := runCLI("compare", dirs[0]); code != 2 {
		t.Errorf("compare with one run: exit %d, want 2", code)
	}
}

// The binary's bench command and go test's benchmark binary give
// benchstat the same thing: the same result names (with the -GOMAXPROCS
// suffix) in the same order, the same units per result, the same
// configuration keys and values.
func TestBenchMatchesGoTestBinary(t *testing.T) {
	testBin := builtBench(t)
	filter := "Notify|Coroutine/op=switch|Floor"
	goTest, err := exec.Command(testBin, "-test.run", "^$", "-test.bench", filter, "-test.benchtime", "3x").Output()
	if err != nil {
		t.Fatalf("go test binary: %v", err)
	}
	code, ours, stderr := runCLI("bench", "-bench", filter, "-benchtime", "3x")
	if code != 0 {
		t.Fatalf("pinbench bench: exit %d: %s", code, stderr)
	}
	type result struct {
		name, units string
		config      map[string]string
	}
	parse := func(text string) []result {
		r := benchfmt.NewReader(strings.NewReader(text), "x")
		var out []result
		for r.Scan() {
			res, ok := r.Result().(*benchfmt.Result)
			if !ok {
				continue
			}
			var units []string
			for _, v := range res.Values {
				units = append(units, v.Unit)
			}
			cfg := map[string]string{}
			for _, c := range res.Config {
				if c.File {
					cfg[c.Key] = string(c.Value)
				}
			}
			out = append(out, result{string(res.Name), strings.Join(units, " "), cfg})
		}
		return out
	}
	want, got := parse(string(goTest)), parse(ours)
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("%d results from pinbench bench, %d from go test:\n%s\n---\n%s", len(got), len(want), ours, goTest)
	}
	for i := range want {
		if got[i].name != want[i].name || got[i].units != want[i].units {
			t.Errorf("result %d: %s [%s], go test %s [%s]", i, got[i].name, got[i].units, want[i].name, want[i].units)
		}
		for k, v := range want[i].config {
			if k == "perf" {
				continue // probed per process; both say the same here, but a counter may fail to open in one
			}
			if got[i].config[k] != v {
				t.Errorf("%s: config %s = %q, go test %q", want[i].name, k, got[i].config[k], v)
			}
		}
		if len(got[i].config) != len(want[i].config) {
			t.Errorf("%s: config keys %v, go test %v", want[i].name, got[i].config, want[i].config)
		}
	}
}

// pinbench matrix alone prints its unit and each pair's spread.
func TestMatrixCommandPrintsUnitAndSpread(t *testing.T) {
	live, err := affinity.Discover()
	if err != nil || live.Allowed.Count() < 2 {
		t.Skip("needs two allowed CPUs")
	}
	code, stdout, stderr := runCLI("matrix", "--reps", "3", "--transfers", "200")
	if code != 0 || !strings.Contains(stdout, "One-way cache-line latency in ns") || !strings.Contains(stdout, "p10-p90") || !strings.Contains(stdout, "median of 3 repetitions") {
		t.Errorf("matrix: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// A --bench that selects nothing of a --bench-bin test binary is a usage
// error before anything is measured, as it is for the binary's own suite.
func TestTuneBenchBinFilterChecked(t *testing.T) {
	bin := builtBench(t)
	code, _, stderr := runCLI("tune", "--bench-bin", bin, "--bench", "NoSuchBenchmark", "--out", filepath.Join(t.TempDir(), "x"))
	if code != 2 || !strings.Contains(stderr, `--bench "NoSuchBenchmark" matches no benchmark of`) || strings.Contains(stderr, "[2/5") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
