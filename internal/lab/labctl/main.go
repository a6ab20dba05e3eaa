// Command labctl is scripts/lab.sh's helper: it prints a preset's QEMU
// arguments, builds the guest's initramfs, and checks a lab run's outputs.
//
// Usage:
//
//	labctl args PRESET
//	labctl describe [-- QEMU-ARGS...]
//	labctl initramfs -out FILE -busybox FILE -pinbench FILE -repo DIR [-shared DIR] -tests FILE [-tune] [-plan-check] [-step SECONDS] [-total SECONDS]
//	labctl check -dir OUTDIR [-tune] [-plan-check] -- QEMU-ARGS...
//
// The -tests file has one line per package: import path, folder relative
// to the repository, test binary, separated by tabs.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pinbench/pinbench/internal/lab"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		var u usage
		var na unavailable
		switch {
		case errors.As(err, &u):
			fmt.Fprintf(os.Stderr, "labctl: %s\n", err)
			os.Exit(2)
		case errors.As(err, &na):
			fmt.Fprintf(os.Stderr, "lab: unavailable: %s\n", err)
			os.Exit(3)
		}
		fmt.Fprintf(os.Stderr, "labctl: %s\n", err)
		os.Exit(1)
	}
}

// usage is a mistake in the command line (exit status 2).
type usage string

func (u usage) Error() string { return string(u) }

// unavailable is something this machine's QEMU cannot do (exit status 3,
// which scripts/lab.sh passes on as "the lab cannot run here").
type unavailable string

func (u unavailable) Error() string { return string(u) }

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usage("usage: labctl args|describe|initramfs|check ...")
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
		if p.Unsupported != "" {
			return unavailable(fmt.Sprintf("preset %s (%s) cannot be built here: %s", p.Name, p.What, p.Unsupported))
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
	case "initramfs":
		return runInitramfs(args[1:], stderr)
	case "check":
		return runCheck(args[1:], stdout, stderr)
	}
	return usage(fmt.Sprintf("unknown command %q (want args, describe, initramfs or check)", args[0]))
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

func runInitramfs(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("initramfs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "the initramfs to write (cpio, newc)")
	var s lab.Spec
	fs.StringVar(&s.Busybox, "busybox", "", "static busybox binary")
	fs.StringVar(&s.Pinbench, "pinbench", "", "static pinbench binary")
	fs.StringVar(&s.Repo, "repo", "", "repository root")
	fs.StringVar(&s.Shared, "shared", "", "shared topology captures folder (optional)")
	tests := fs.String("tests", "", "file listing the test binaries (import path, folder, binary; tab-separated)")
	fs.BoolVar(&s.Tune, "tune", false, "add a pinbench tune --lab run")
	fs.BoolVar(&s.PlanCheck, "plan-check", false, "add pinbench tune --plan and a real quick tune to hold it to")
	fs.IntVar(&s.StepLimit, "step", 900, "time limit of each step in seconds")
	fs.IntVar(&s.TotalLimit, "total", 1800, "in-guest watchdog limit in seconds")
	if err := fs.Parse(args); err != nil {
		return usage(err.Error())
	}
	for name, v := range map[string]string{"-out": *out, "-busybox": s.Busybox, "-pinbench": s.Pinbench, "-repo": s.Repo, "-tests": *tests} {
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
	planCheck := fs.Bool("plan-check", false, "the run included tune --plan and a quick tune (check OUTDIR/quick against OUTDIR/plan.txt)")
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
	res := lab.Check(*dir, d, lab.CheckOptions{Tune: *tune, PlanCheck: *planCheck})
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
