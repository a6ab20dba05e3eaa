package lab

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"text/template"
)

// Guest paths inside the initramfs.
const (
	guestRepo   = "lab/repo"    // a copy of the repository; package tests run in their folder
	guestShared = "lab/shared"  // ../shared seen from the repository copy
	guestBin    = "lab/bin"     // pinbench
	guestMods   = "lab/modules" // kernel modules init loads
)

// TestBinary is one package's `go test -c` binary.
type TestBinary struct {
	// ImportPath names the package in tests.txt ("github.com/pinbench/pinbench/aio").
	ImportPath string
	// Dir is the package folder relative to the repository root ("aio").
	Dir string
	// Binary is the test binary on the host.
	Binary string
}

// Spec says what goes into a lab initramfs and what its init runs.
type Spec struct {
	// Busybox is a static busybox binary on the host.
	Busybox string
	// Pinbench is the static pinbench binary on the host.
	Pinbench string
	// Labctl is labctl built for the guest: init runs its speed probe.
	Labctl string
	// HostSpeedNs is the host's speed probe time (SpeedProbe), against
	// which init scales the suite's stall timeouts (StallScale).
	HostSpeedNs int64
	// Repo is the repository root on the host; its files are copied
	// (without .git, build outputs and the lab's own cache) so that each
	// test binary runs in its package folder beside its testdata/.
	Repo string
	// Shared is the shared captures folder (../shared/topologies), or ""
	// when the host has none.
	Shared string
	// Tests are the package test binaries; the bench package's is also
	// the smoke run's and the tune run's benchmark binary.
	Tests []TestBinary
	// Tune adds a tuning run with the lab's TuneFlags writing /out/tune.
	Tune bool
	// PlanCheck, "quick" or "full", adds `pinbench tune --plan` (writing
	// /out/plan.txt) and then a real tune in that mode (writing
	// /out/quick or /out/full), so that the run's duration can be
	// checked against the plan's estimate; "" adds neither.
	PlanCheck string
	// StepLimit is each step's time limit (a test binary, the smoke
	// run, the tune run) in seconds.
	StepLimit int
	// TotalLimit is the in-guest watchdog's limit for the whole run in
	// seconds; when it passes, the guest sends what it has, marked as
	// cut short, and powers off.
	TotalLimit int
	// ResultsDev is the guest's device the results go to (Guest's
	// ResultsDev); "" means /dev/ttyS1, the x86 guest's second serial port.
	ResultsDev string
	// Modules are kernel modules on the host that init loads, in this
	// order, before anything else (Guest's Modules, for the virtio
	// console of arm64 guests); nil for none.
	Modules []string
}

// benchImport is the package whose test binary holds the suite.
const benchImport = "github.com/pinbench/pinbench/bench"

// skipRepo reports which parts of the repository stay out of the guest.
func skipRepo(rel string, d fs.DirEntry) bool {
	base := path.Base(rel)
	switch {
	case base == ".git", base == ".lab-cache", base == "out" && !strings.Contains(rel, "/"):
		return true
	case !d.IsDir() && strings.HasSuffix(base, ".test"):
		return true
	}
	return false
}

// Build returns the initramfs described by s.
func (s Spec) Build() (*Archive, error) {
	if s.StepLimit < 1 || s.TotalLimit < s.StepLimit {
		return nil, fmt.Errorf("lab: step limit %ds and total limit %ds: want 1 <= step <= total", s.StepLimit, s.TotalLimit)
	}
	if err := ValidatePlanMode(s.PlanCheck); err != nil {
		return nil, err
	}
	a := NewArchive()
	for _, d := range []string{"proc", "sys", "dev", "tmp", "out", "lab"} {
		if err := a.Dir(d); err != nil {
			return nil, err
		}
	}
	if err := a.File("bin/busybox", s.Busybox); err != nil {
		return nil, err
	}
	if s.HostSpeedNs <= 0 {
		return nil, fmt.Errorf("lab: host speed probe %d ns: want a positive time", s.HostSpeedNs)
	}
	for name, bin := range map[string]string{"pinbench": s.Pinbench, "labctl": s.Labctl} {
		if err := a.File(path.Join(guestBin, name), bin); err != nil {
			return nil, err
		}
	}
	for _, m := range s.Modules {
		if err := a.File(path.Join(guestMods, path.Base(m)), m); err != nil {
			return nil, err
		}
	}
	if err := a.Tree(guestRepo, s.Repo, skipRepo); err != nil {
		return nil, err
	}
	if s.Shared != "" {
		if err := a.Tree(path.Join(guestShared, "topologies"), s.Shared, nil); err != nil {
			return nil, err
		}
	}
	haveBench := false
	for _, t := range s.Tests {
		if strings.Contains(t.Dir, "..") || path.IsAbs(t.Dir) {
			return nil, fmt.Errorf("lab: package folder %q is not inside the repository", t.Dir)
		}
		if err := a.File(path.Join(guestRepo, t.Dir, testName(t)), t.Binary); err != nil {
			return nil, err
		}
		haveBench = haveBench || t.ImportPath == benchImport
	}
	if !haveBench {
		return nil, fmt.Errorf("lab: no test binary of %s (the smoke run needs it)", benchImport)
	}
	script, err := s.initScript()
	if err != nil {
		return nil, err
	}
	if err := a.Bytes("init", script, 0o755); err != nil {
		return nil, err
	}
	if err := a.Bytes(path.Join(guestBin, "place.sh"), []byte(placeScript), 0o755); err != nil {
		return nil, err
	}
	return a, nil
}

// testName is the binary's name in its package folder.
func testName(t TestBinary) string { return path.Base(t.Dir) + ".test" }

// initScript renders the guest's /init.
func (s Spec) initScript() ([]byte, error) {
	type pkg struct {
		ImportPath, Dir, Name string
		Skip                  string   // -test.skip pattern of known failures, or ""
		Notes                 []string // one line per known failure skipped
	}
	var pkgs []pkg
	benchDir := ""
	for _, t := range s.Tests {
		skip, notes := knownSkip(t.ImportPath)
		for _, n := range notes {
			if strings.ContainsAny(n, "'\n") {
				return nil, fmt.Errorf("lab: known-failure note %q has a quote or newline", n)
			}
		}
		pkgs = append(pkgs, pkg{t.ImportPath, path.Join("/", guestRepo, t.Dir), testName(t), skip, notes})
		if t.ImportPath == benchImport {
			benchDir = path.Join("/", guestRepo, t.Dir)
		}
	}
	var mods []string
	for _, m := range s.Modules {
		mods = append(mods, path.Join("/", guestMods, path.Base(m)))
	}
	dev := s.ResultsDev
	if dev == "" {
		dev = "/dev/ttyS1"
	}
	var b bytes.Buffer
	err := initTemplate.Execute(&b, map[string]any{
		"Modules": mods, "ResultsDev": dev,
		"Pkgs": pkgs, "BenchDir": benchDir, "Tune": s.Tune, "TuneFlags": TuneFlags, "PlanCheck": s.PlanCheck, "BeginMarker": BeginMarker, "EndMarker": EndMarker,
		"Step": s.StepLimit, "Total": s.TotalLimit, "TestTimeout": max(s.StepLimit-15, s.StepLimit*3/4),
		"HostSpeed": s.HostSpeedNs, "StallEnv": StallScaleEnv, "MaxScale": maxStallScale(s.StepLimit),
	})
	return b.Bytes(), err
}

// TuneFlags are the pinbench tune flags of the lab's tuning run (lab.sh
// --tune). Its guests are emulated, so timings mean nothing and every
// instruction is slow: the run takes the six samples the report needs
// before it recommends (so that its recommendation code runs on the
// guest's classes), the poll-window sweep, and fixed small iteration
// counts and matrix figures, so that it checks every stage and file of a
// tuning run on the guest's topology in minutes.
const TuneFlags = "--count 6 --benchtime 10x --sweep --matrix-reps 3 --matrix-transfers 2000"

// StallScaleEnv is bench.StallScaleEnv, the variable init sets to the
// guest's stall scale (a test holds the two equal; the lab does not link
// the suite).
const StallScaleEnv = "PINBENCH_STALL_SCALE"

// maxStallScale bounds the stall scale so that a stalled benchmark fails
// within a quarter of its step's limit (the default timeout is 10 s).
func maxStallScale(stepLimit int) int { return max(1, stepLimit/40) }

// Markers on the results channel around the base64 of the results tar.
const (
	BeginMarker = "PINBENCH-LAB-BEGIN"
	EndMarker   = "PINBENCH-LAB-END"
)

// The guest's /init: busybox sh as PID 1. Every step runs under busybox
// timeout (SIGQUIT first, so a Go binary prints its goroutines, then
// SIGKILL); a background watchdog ends the whole run at the total limit.
// Kernel modules (the virtio console of arm64 guests) load first, and init
// waits up to 10 s for the results device.
// /out/status gets one line per step: name, exit status, seconds, and
// "timeout" when the step ran into its limit.
var initTemplate = template.Must(template.New("init").Parse(`#!/bin/busybox sh
# pinbench topology lab: the guest's init (generated by labctl initramfs).
/bin/busybox --install -s /bin
export PATH=/lab/bin:/bin HOME=/tmp TMPDIR=/tmp GOTRACEBACK=all
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say() { echo "lab: $*"; }
{{range .Modules}}insmod {{.}} || say "insmod {{.}} failed"
{{end}}{{if .Modules}}i=0
while [ ! -e {{.ResultsDev}} ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -e {{.ResultsDev}} ] || say "no {{.ResultsDev}} after loading the modules: the results cannot be sent"
{{end}}finish() {
	# Only one of init and the watchdog sends the results.
	mkdir /tmp/finishing 2>/dev/null || { sleep 1000000; }
	say "sending the results"
	{ echo {{.BeginMarker}}; tar -C /out -cf - . | gzip -c | base64; echo {{.EndMarker}}; } > {{.ResultsDev}}
	sync
	poweroff -f
}
T0=$(date +%s)
say "guest up: $(nproc) CPUs, kernel $(uname -r)"
scale=$(labctl speed -host {{.HostSpeed}} -max {{.MaxScale}} 2>/out/speed.txt) || scale={{.MaxScale}}
export {{.StallEnv}}=$scale
say "$(cat /out/speed.txt)"
(
	sleep {{.Total}}
	echo "watchdog - $(( $(date +%s) - T0 )) total-limit" >> /out/status
	say "in-guest watchdog: the run passed its {{.Total}}s limit; sending what it has"
	kill -KILL -1
	finish
) &
step() { # step NAME COMMAND...: run COMMAND under the step limit
	name=$1; shift
	t=$(date +%s)
	timeout -s QUIT -k 10 {{.Step}} "$@"
	rc=$?
	d=$(( $(date +%s) - t ))
	note=""
	[ $d -ge {{.Step}} ] && note=" timeout"
	echo "$name $rc $d$note" >> /out/status
	say "$name: exit $rc after ${d}s$note"
	return $rc
}

say "[topology]"
step topology sh -c 'pinbench topology --json > /out/topology.json 2> /out/topology.err && pinbench topology > /out/topology.txt 2>> /out/topology.err'

say "[smoke] the whole suite at -benchtime 1x"
cd {{.BenchDir}}
step smoke sh -c './bench.test -test.run "^$" -test.bench . -test.benchtime 1x -test.v -test.timeout {{.TestTimeout}}s > /out/smoke.txt 2>&1'

say "[tests]"
: > /out/tests.txt
{{range .Pkgs}}say "  {{.ImportPath}}"
cd {{.Dir}}
t=$(date +%s)
{{range .Notes}}echo '{{.}}' | tee -a /out/tests.txt
{{end}}step "test {{.ImportPath}}" sh -c './{{.Name}} -test.v -test.timeout {{$.TestTimeout}}s{{if .Skip}} -test.skip "{{.Skip}}"{{end}} >> /out/tests.txt 2>&1'
rc=$?
if [ $rc -eq 0 ]; then r=ok; else r=FAIL; fi
printf '%s\t%s\t%ss\n' "$r" "{{.ImportPath}}" "$(( $(date +%s) - t ))" >> /out/tests.txt
{{end}}
{{if .Tune}}say "[tune] pinbench tune {{.TuneFlags}}"
cd {{.BenchDir}}
step tune sh -c 'pinbench tune {{.TuneFlags}} --bench-bin ./bench.test --out /out/tune > /out/tune.txt 2> /out/tune.err'
say "[place] pinbench place on that run: its taskset lines pin real threads; --verify"
step place place.sh
{{end}}{{with .PlanCheck}}say "[plan] pinbench tune --plan, then a real {{.}} tune to hold it to"
cd {{$.BenchDir}}
step plan sh -c 'pinbench tune --plan --bench-bin ./bench.test > /out/plan.txt 2> /out/plan.err'
step {{.}} sh -c 'pinbench tune{{if eq . "full"}} --full{{end}} --bench-bin ./bench.test --out /out/{{.}} > /out/{{.}}.txt 2> /out/{{.}}.err'
{{end}}
echo "done - $(( $(date +%s) - T0 ))" >> /out/status
finish
`))
