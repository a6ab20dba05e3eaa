package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/place"
)

// cmdPlace is `pinbench place`; main.go lists it in commands.
var cmdPlace = &command{
	name:    "place",
	summary: "place N event-loop threads on CPUs from measured costs, verify it, emit the configuration",
	args: "[--results DIR] (--threads N --pattern pairs|ring|fanin|all | --graph FILE) [--cpus LIST] [--reserve LIST]\n" +
		"       [--wait poll|adaptive|block] [--share] [--format text|json|taskset|numactl|systemd|libvirt|qemu]\n" +
		"       [--vcpus N] [--libvirt-version V] [--verify [--rounds N] [--round-time D]]",
	about: `Places N event-loop threads on CPUs so that their handoffs cost least, as
a tuning run measured them: the via=aio handoff per placement class for the
wait mode, scaled per CPU pair by the latency matrix. The workload is a
pattern (pairs: N/2 ping-pongs; ring: i hands to i+1; fanin: N-1 producers
feed thread 0; all: every thread hands to every other) or a graph file
(JSON: {"threads": [...], "edges": [{"from", "to", "weight", "undirected"}]}).
It prints the plan, the model's inputs and the compact, spread and
unpinned baselines under the same model, or the plan as --format says.

The results folder defaults to results/<this machine's id>/latest (what
pinbench tune writes); any machine's folder may be planned anywhere. The
wait mode defaults to the report's recommendation for that run, else poll
(with a note on stderr). A results folder without via=aio handoff figures
for the wait mode is refused, naming the modes it has figures for: no
class defaults are made up.

--verify runs the workload on this machine: one pinned aio iothread per
thread, handoffs through CoSchedule, at the plan and at each baseline, in
interleaved rounds; it prints benchstat's comparison with the p-values,
whether the measured order matches the predicted one, and says plainly when
the plan is not significantly better than a baseline (with --format other
than text, that goes to stderr and the measured costs into the output).
Progress goes to stderr. Its CPUs must be ones this process may run on.

Exit status 2 for a mistake in the flags (an unknown pattern, format or
wait mode, a malformed CPU list, CPUs outside the run's allowed set, more
threads than the usable CPUs take); 1 when a file cannot be used (no
results folder, no figures for the wait mode, a malformed graph) or a
verification fails.`,
	run: runPlace,
}

// placeFlags are the command's flags.
type placeFlags struct {
	results, pattern, graph, cpus, reserve, wait, format string
	threads, vcpus, rounds                               int
	share, verify                                        bool
	roundTime                                            time.Duration
	emit                                                 place.EmitOptions
	set                                                  map[string]bool
}

func runPlace(args []string, stdout, stderr io.Writer) error {
	f, err := parsePlaceFlags(args, stdout)
	if err != nil {
		return err
	}
	c, err := f.constraints()
	if err != nil {
		return err
	}
	res, err := f.readResults()
	if err != nil {
		return err
	}
	wl, err := f.workload()
	if err != nil {
		return err
	}
	wait, err := f.chooseWait(res, stderr)
	if err != nil {
		return err
	}
	plan, err := f.plan(res, wait, wl, c, stderr)
	if err != nil {
		return err
	}
	if err := place.Emit(io.Discard, plan.Document(), f.format, f.emit); err != nil {
		return usageError{err.Error()}
	}
	var v *place.Verification
	if f.verify {
		if v, err = verifyPlan(plan, f, stderr); err != nil {
			return err
		}
	}
	return f.write(stdout, stderr, plan, v)
}

// parsePlaceFlags parses the command line and checks what needs no file.
func parsePlaceFlags(args []string, stdout io.Writer) (*placeFlags, error) {
	f := &placeFlags{set: map[string]bool{}}
	fs := newFlagSet("place", stdout)
	fs.StringVar(&f.results, "results", "", "the results folder `DIR` to plan from (default results/<this machine's id>/latest)")
	fs.IntVar(&f.threads, "threads", 0, "place `N` threads of --pattern")
	fs.StringVar(&f.pattern, "pattern", "", "the workload's `shape`: pairs, ring, fanin or all")
	fs.StringVar(&f.graph, "graph", "", "the workload as a graph `FILE` (JSON), instead of --threads and --pattern")
	fs.StringVar(&f.cpus, "cpus", "", "place on these CPUs only (a Linux `LIST`; default the run's allowed CPUs, with --verify those this process may also use)")
	fs.StringVar(&f.reserve, "reserve", "", "keep these CPUs (a Linux `LIST`) for the system")
	fs.StringVar(&f.wait, "wait", "", "how the threads wait (`mode`): poll, adaptive or block (default the run's recommendation, else poll)")
	fs.BoolVar(&f.share, "share", false, "let threads share a CPU where the run measured samecpu cheaper (in practice wait=block)")
	fs.StringVar(&f.format, "format", place.FormatText, "output `format`: "+strings.Join(place.Formats(), ", "))
	fs.IntVar(&f.vcpus, "vcpus", 0, "libvirt and qemu formats, pairs only: the second thread of each of the first `N` pairs is a vCPU")
	fs.StringVar(&f.emit.LibvirtVersion, "libvirt-version", "", "the libvirt `version` the XML is for (default the newest; before 9.4 the poll window goes through virsh iothreadset)")
	fs.StringVar(&f.emit.Domain, "domain", "", "the libvirt domain `NAME` the virsh lines name (default DOMAIN)")
	fs.StringVar(&f.emit.Unit, "unit", "", "the systemd `unit` the drop-in is for (default SERVICE.service)")
	fs.StringVar(&f.emit.Command, "command", "", "the `command` the taskset and numactl lines start (default COMMAND)")
	fs.BoolVar(&f.verify, "verify", false, "run the workload here at the plan and the baselines and compare them (benchstat)")
	fs.IntVar(&f.rounds, "rounds", place.DefaultVerifyRounds, "with --verify: `N` interleaved rounds, each running every placement once")
	fs.DurationVar(&f.roundTime, "round-time", place.DefaultVerifyRunTime, "with --verify: how long each placement runs in each round")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	f.emit.VCPUs = f.vcpus
	return f, f.check()
}

// check refuses flag combinations and values that cannot work.
func (f *placeFlags) check() error {
	switch {
	case f.graph != "" && (f.set["threads"] || f.pattern != ""):
		return usageError{"--graph excludes --threads and --pattern"}
	case f.graph == "" && (f.pattern == "" || !f.set["threads"]):
		return usageError{"name the workload: --threads N --pattern P, or --graph FILE"}
	case f.graph == "" && !slices.Contains(place.Patterns(), f.pattern):
		return usageError{fmt.Sprintf("unknown pattern %q (want one of %s, or --graph FILE)", f.pattern, strings.Join(place.Patterns(), ", "))}
	case !slices.Contains(place.Formats(), f.format):
		return usageError{fmt.Sprintf("unknown format %q (want one of %s)", f.format, strings.Join(place.Formats(), ", "))}
	case f.vcpus < 0:
		return usageError{fmt.Sprintf("--vcpus %d: want a count, 0 or more", f.vcpus)}
	case !f.verify && (f.set["rounds"] || f.set["round-time"]):
		return usageError{"--rounds and --round-time need --verify"}
	case f.verify && f.rounds < 2:
		return usageError{fmt.Sprintf("--rounds %d: a comparison needs 2 at least (%d to show a difference at p<0.05)", f.rounds, place.DefaultVerifyRounds)}
	case f.verify && (f.roundTime < time.Millisecond || f.roundTime > time.Minute):
		return usageError{fmt.Sprintf("--round-time %v: want 1ms to 1m", f.roundTime)}
	case f.set["results"] && f.results == "":
		return usageError{"--results is empty: name a results folder, or leave it out for this machine's latest"}
	}
	if f.wait != "" {
		if _, err := place.ParseWait(f.wait); err != nil {
			return usageError{err.Error()}
		}
	}
	return nil
}

// constraints parses --cpus, --reserve and --share.
func (f *placeFlags) constraints() (place.Constraints, error) {
	c := place.Constraints{Share: f.share}
	for _, l := range []struct {
		name, val string
		set       *affinity.CPUSet
	}{{"cpus", f.cpus, &c.CPUs}, {"reserve", f.reserve, &c.Reserve}} {
		if l.val == "" {
			if f.set[l.name] {
				return c, usageError{fmt.Sprintf("--%s is empty: name CPUs (0-3,8) or leave it out", l.name)}
			}
			continue
		}
		set, err := affinity.ParseList(l.val)
		if err != nil {
			return c, usageError{fmt.Sprintf("--%s %q: %v", l.name, l.val, err)}
		}
		*l.set = set
	}
	return c, nil
}

// workload builds the pattern or reads the graph.
func (f *placeFlags) workload() (*place.Workload, error) {
	if f.graph != "" {
		return place.ReadGraphFile(f.graph)
	}
	wl, err := place.Pattern(f.pattern, f.threads)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	return wl, nil
}

// plan builds the model and the plan. With --verify and no --cpus, it
// places on the run's allowed CPUs that this process may use too.
func (f *placeFlags) plan(res *place.Results, wait place.Wait, wl *place.Workload, c place.Constraints, stderr io.Writer) (*place.Plan, error) {
	m, err := place.NewModel(res, wait)
	if err != nil {
		return nil, err
	}
	if f.verify && c.CPUs.IsEmpty() {
		if c.CPUs, err = verifiableCPUs(res, stderr); err != nil {
			return nil, err
		}
	}
	plan, err := place.NewPlan(m, wl, place.Options{Constraints: c})
	var ce *place.ConstraintError
	if errors.As(err, &ce) {
		return nil, usageError{err.Error()}
	}
	return plan, err
}

// write prints the plan in the chosen format, and the verification:
// after the plan for text, on stderr otherwise.
func (f *placeFlags) write(stdout, stderr io.Writer, plan *place.Plan, v *place.Verification) error {
	if err := place.Emit(stdout, plan.Document(), f.format, f.emit); err != nil {
		return err
	}
	if v == nil {
		return nil
	}
	w := stderr
	if f.format == place.FormatText {
		w = stdout
		fmt.Fprintln(w)
	}
	return v.WriteText(w)
}
