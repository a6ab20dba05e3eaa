// Command labctl is scripts/lab.sh's helper: it prints a preset's QEMU
// arguments and what booting its guest takes, builds the guest's
// initramfs, and checks a lab run's outputs.
//
// Usage:
//
//	labctl args PRESET
//	labctl describe [-- QEMU-ARGS...]
//	labctl guest [-arch ARCH] [-- QEMU-ARGS...]
//	labctl initramfs -out FILE -busybox FILE -pinbench FILE -labctl FILE -host-speed NS -repo DIR [-shared DIR] -tests FILE [-arch ARCH] [-modules DIR] [-tune] [-plan-check quick|full] [-step SECONDS] [-total SECONDS]
//	labctl check -dir OUTDIR [-tune] [-place] [-plan-check quick|full] -- QEMU-ARGS...
//	labctl speed [-host NS -max SCALE]
//
// guest prints, one key=value a line, the guest's architecture (arch, from
// -arch or the QEMU arguments' -M), QEMU binary (qemu) and its Debian
// package (qemu_package), the -M and -cpu it needs unless told otherwise
// (machine, cpu), the kernel's Debian meta-package (kernel_package),
// command line (append) and the kernel modules its init loads (modules,
// paths under the kernel's lib/modules/VERSION/kernel/, space-separated).
// The -tests file has one line per package: import path, folder relative
// to the repository, test binary, separated by tabs. -modules names a
// folder holding the guest's modules by base name.
//
// speed runs the lab's speed probe and prints its time in nanoseconds; with
// -host (the host's probe time) it prints instead the factor by which the
// suite's stall timeouts grow on this (emulated) machine, at most -max.
// The guest's init runs it so (see lab.StallScale).
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pinbench/pinbench/lab"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "labctl: %s\n", err)
		var u usage
		if errors.As(err, &u) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usage is a mistake in the command line (exit status 2).
type usage string

func (u usage) Error() string { return string(u) }

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usage("usage: labctl args|describe|guest|initramfs|check|speed ...")
	}
	switch args[0] {
	case "args":
		if len(args) != 2 {
			return usage("usage: labctl args PRESET")
		}
		p, err := lab.LookupPreset(args[1])
		if err != nil {
			return err
		}
		for _, a := range p.Args() {
			fmt.Fprintln(stdout, a)
		}
		return nil
	case "describe":
		d, err := lab.ParseDecl(qemuArgs(args[1:]))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s; classes %s\n", d, classList(d))
		return nil
	case "guest":
		return runGuest(args[1:], stdout, stderr)
	case "initramfs":
		return runInitramfs(args[1:], stderr)
	case "check":
		return runCheck(args[1:], stdout, stderr)
	case "speed":
		return runSpeed(args[1:], stdout, stderr)
	}
	return usage(fmt.Sprintf("unknown command %q (want args, describe, guest, initramfs, check or speed)", args[0]))
}

func runSpeed(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("speed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	host := fs.Int64("host", 0, "the host's probe time in ns: print the stall scale instead of the time")
	maxScale := fs.Float64("max", 100, "the largest stall scale to print")
	if err := fs.Parse(args); err != nil {
		return usage(err.Error())
	}
	if fs.NArg() > 0 {
		return usage("usage: labctl speed [-host NS -max SCALE]")
	}
	ns := lab.SpeedProbe()
	if *host == 0 {
		fmt.Fprintln(stdout, ns)
		return nil
	}
	scale, err := lab.StallScale(ns, *host, *maxScale)
	if err != nil {
		return usage(err.Error())
	}
	fmt.Fprintf(stdout, "%g\n", scale)
	fmt.Fprintf(stderr, "speed probe: %d ns here, %d ns on the host: stall timeouts x%g\n", ns, *host, scale)
	return nil
}

// qemuArgs drops a leading "--".
func qemuArgs(args []string) []string {
	if len(args) > 0 && args[0] == "--" {
		return args[1:]
	}
	return args
}

func classList(d lab.Decl) string {
	var cs []string
	for _, c := range d.Classes() {
		cs = append(cs, string(c))
	}
	return strings.Join(cs, " ")
}

func runGuest(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("guest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	want := fs.String("arch", "", "the architecture asked for (amd64 or arm64); the QEMU arguments' machine must agree")
	if err := fs.Parse(args); err != nil {
		return usage(err.Error())
	}
	arch, err := lab.ArgsArch(fs.Args())
	if err != nil {
		return usage(err.Error())
	}
	if *want != "" {
		if _, err := lab.GuestFor(*want); err != nil {
			return usage(err.Error())
		}
		if slices.ContainsFunc(fs.Args(), isMachineFlag) && arch != *want {
			return usage(fmt.Sprintf("guest: -arch %s, but the QEMU arguments' machine makes an %s guest", *want, arch))
		}
		arch = *want
	}
	g, err := lab.GuestFor(arch)
	if err != nil {
		return usage(err.Error())
	}
	fmt.Fprintf(stdout, "arch=%s\nqemu=%s\nqemu_package=%s\nmachine=%s\ncpu=%s\nkernel_package=%s\nappend=%s\nmodules=%s\n",
		g.Arch, g.QEMU, g.QEMUPackage, g.Machine, g.CPU, g.KernelPackage, g.Append, strings.Join(g.Modules, " "))
	return nil
}

// isMachineFlag reports whether a is QEMU's -M option.
func isMachineFlag(a string) bool { return a == "-M" || a == "-machine" || a == "--machine" }

func runInitramfs(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("initramfs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "the initramfs to write (cpio, newc)")
	var s lab.Spec
	fs.StringVar(&s.Busybox, "busybox", "", "static busybox binary")
	fs.StringVar(&s.Pinbench, "pinbench", "", "static pinbench binary")
	fs.StringVar(&s.Labctl, "labctl", "", "labctl built for the guest (its speed probe)")
	fs.Int64Var(&s.HostSpeedNs, "host-speed", 0, "the host's speed probe time in ns (labctl speed)")
	fs.StringVar(&s.Repo, "repo", "", "repository root")
	fs.StringVar(&s.Shared, "shared", "", "shared topology captures folder (optional)")
	tests := fs.String("tests", "", "file listing the test binaries (import path, folder, binary; tab-separated)")
	fs.BoolVar(&s.Tune, "tune", false, "add a pinbench tune run with the lab's flags (lab.TuneFlags)")
	fs.StringVar(&s.PlanCheck, "plan-check", "", "`MODE` quick or full: add pinbench tune --plan and a real tune in that mode to hold it to")
	fs.IntVar(&s.StepLimit, "step", 900, "time limit of each step in seconds")
	fs.IntVar(&s.TotalLimit, "total", 1800, "in-guest watchdog limit in seconds")
	arch := fs.String("arch", "amd64", "the guest's architecture (amd64 or arm64)")
	mods := fs.String("modules", "", "folder holding the kernel modules the guest loads (by base name)")
	if err := fs.Parse(args); err != nil {
		return usage(err.Error())
	}
	g, err := lab.GuestFor(*arch)
	if err != nil {
		return usage(err.Error())
	}
	s.ResultsDev = g.ResultsDev
	if len(g.Modules) > 0 && *mods == "" {
		return usage("initramfs: -modules is required for an " + g.Arch + " guest (it loads " + strings.Join(g.Modules, ", ") + ")")
	}
	for _, m := range g.Modules {
		s.Modules = append(s.Modules, filepath.Join(*mods, path.Base(m)))
	}
	for name, v := range map[string]string{"-out": *out, "-busybox": s.Busybox, "-pinbench": s.Pinbench, "-labctl": s.Labctl, "-repo": s.Repo, "-tests": *tests} {
		if v == "" {
			return usage("initramfs: " + name + " is required")
		}
	}
	f, err := os.Open(*tests)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		parts := strings.Split(sc.Text(), "\t")
		if len(parts) != 3 {
			f.Close()
			return fmt.Errorf("%s: line %q: want import path, folder and binary separated by tabs", *tests, sc.Text())
		}
		s.Tests = append(s.Tests, lab.TestBinary{ImportPath: parts[0], Dir: parts[1], Binary: parts[2]})
	}
	f.Close()
	if err := sc.Err(); err != nil {
		return err
	}
	a, err := s.Build()
	if err != nil {
		return err
	}
	w, err := os.Create(*out)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	n, err := a.WriteTo(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", *out, err)
	}
	fmt.Fprintf(stderr, "lab: initramfs %s: %d entries, %.1f MiB\n", *out, a.Len(), float64(n)/(1<<20))
	return nil
}

func runCheck(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "the lab run's output folder")
	tune := fs.Bool("tune", false, "the run included tune (check OUTDIR/tune)")
	planCheck := fs.String("plan-check", "", "`MODE` quick or full: the run included tune --plan and a tune in that mode (check OUTDIR/MODE against OUTDIR/plan.txt)")
	place := fs.Bool("place", false, "the run included the place step after its tune (check the pinned threads and the verify run)")
	if err := fs.Parse(args); err != nil {
		return usage(err.Error())
	}
	if *dir == "" {
		return usage("check: -dir is required")
	}
	d, err := lab.ParseDecl(qemuArgs(fs.Args()))
	if err != nil {
		return err
	}
	if err := lab.ValidatePlanMode(*planCheck); err != nil {
		return usage("check: " + err.Error())
	}
	res := lab.Check(*dir, d, lab.CheckOptions{Tune: *tune, PlanCheck: *planCheck, Place: *place})
	for _, l := range res.Notes {
		fmt.Fprintf(stdout, "lab check: %s\n", l)
	}
	if len(res.Problems) > 0 {
		for _, p := range res.Problems {
			fmt.Fprintf(stdout, "lab check: FAIL: %s\n", p)
		}
		return fmt.Errorf("%d problems in %s", len(res.Problems), *dir)
	}
	return nil
}
