package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tune --plan on the 256-CPU capture and (where ../shared has it) the
// 128-CPU one: it lists what would run, measures nothing, and estimates
// quick mode at three minutes or less (the estimate is computed from the
// documented default costs, so it is the same number on any machine).
func TestPlanOnLargeCaptures(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the benchmark binary")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command to build the benchmark binary")
	}
	captures := []string{filepath.Join("..", "..", "testdata", "topologies", "epyc256.tar.gz")}
	shared := filepath.Join("..", "..", "..", "shared", "topologies", "hwloc", "128arm-2pa2n8cluster4co.tar.bz2")
	if _, err := os.Stat(shared); err == nil {
		captures = append(captures, shared)
	}
	est := regexp.MustCompile(`(?m)^  estimated duration: (\S+) `)
	for _, c := range captures {
		code, stdout, stderr := runCLI("tune", "--plan", "--root", c)
		if code != 0 {
			t.Fatalf("tune --plan --root %s exited %d\n%s", c, code, stderr)
		}
		m := est.FindAllStringSubmatch(stdout, -1)
		if len(m) != 2 {
			t.Fatalf("%s: %d estimates in the plan, want 2 (quick, full):\n%s", c, len(m), stdout)
		}
		quick, err := time.ParseDuration(m[0][1])
		if err != nil || quick > 3*time.Minute || quick <= 0 {
			t.Errorf("%s: quick mode estimated at %s (%v); want at most 3m", c, m[0][1], err)
		}
		for _, want := range []string{"stratified sample", "BenchmarkHandoff/via=aio/wait=poll/pin=cpu/place=remote", "BenchmarkHandoff/via=aio/wait=poll/pin=node/place=remote", "remote   "} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s: plan lacks %q", c, want)
			}
		}
		if strings.Contains(stderr, "matrix: ") {
			t.Errorf("%s: the plan measured a matrix", c)
		}
	}
}

// Full mode's matrix of the 256-CPU capture: in parallel rounds by
// default, estimated at 10 minutes at most; --parallel=false measures
// one pair at a time, and the plan says so (over 30 minutes).
func TestPlanFullMatrixInParallel(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the benchmark binary")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command to build the benchmark binary")
	}
	capture := filepath.Join("..", "..", "testdata", "topologies", "epyc256.tar.gz")
	line := regexp.MustCompile(`(?m)^  matrix: every pair, (.*): about (\S+)$`)
	for _, c := range []struct {
		flags    []string
		parallel bool
		min, max time.Duration
	}{{nil, true, 0, 10 * time.Minute}, {[]string{"--parallel=false"}, false, 30 * time.Minute, 2 * time.Hour}} {
		args := append([]string{"tune", "--plan", "--root", capture}, c.flags...)
		code, stdout, stderr := runCLI(args...)
		if code != 0 {
			t.Fatalf("%v exited %d\n%s", args, code, stderr)
		}
		m := line.FindStringSubmatch(stdout)
		if m == nil {
			t.Fatalf("%v: no full-mode matrix line:\n%s", args, stdout)
		}
		d, err := time.ParseDuration(m[2])
		if err != nil || d < c.min || d > c.max || strings.Contains(m[1], "parallel rounds") != c.parallel {
			t.Errorf("%v: full-mode matrix %q, about %s; want parallel rounds %v, between %v and %v", args, m[1], m[2], c.parallel, c.min, c.max)
		}
	}
}
