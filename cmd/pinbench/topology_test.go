package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/affinity"
)

const fixtures = "../../testdata/topologies"

func runCmd(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestTopologyJSON(t *testing.T) {
	code, out, errOut := runCmd("topology", "--root", filepath.Join(fixtures, "two-socket-smt"), "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var j affinity.TopologyJSON
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out)
	}
	if j.PUs != 15 || j.Cores != 8 || j.Packages != 2 || j.L3Groups != 2 || j.NUMANodes != 2 {
		t.Errorf("counts %+v", j)
	}
	if len(j.CPUs) != 15 || j.CPUs[9].ID != 9 || j.CPUs[9].Node != 0 || j.CPUs[9].Package != 0 || len(j.CPUs[9].Caches) != 4 || j.CPUs[9].Caches[3].CPUs != "0-3,8-11" {
		t.Errorf("cpus[9] = %+v", j.CPUs[9])
	}
	want := map[affinity.Class][2]int{"samecpu": {1, 1}, "smt": {1, 9}, "llc": {1, 2}, "remote": {1, 4}}
	if len(j.Placements) != len(want) {
		t.Errorf("placements %v, want %v", j.Placements, want)
	}
	for c, p := range want {
		if j.Placements[c] != p {
			t.Errorf("placements %v, want %v", j.Placements, want)
		}
	}
	// The raw object has the agreed keys.
	var raw map[string]any
	json.Unmarshal([]byte(out), &raw)
	for _, k := range []string{"pus", "cores", "packages", "l3_groups", "numa_nodes", "cpus", "placements", "allowed"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
}

func TestTopologyTree(t *testing.T) {
	code, out, errOut := runCmd("topology", "--root", filepath.Join(fixtures, "cpuless-nodes"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"Machine: 2 packages, 3 nodes, no L3, 4 cores, 8 CPUs",
		"Package 0 (CPUs 0-3)\n  NUMA node 0 (CPUs 0-7)\n    L2 0-3 (4 MiB, line 64 B)\n      Core 0 (core_id 0): PU 0, PU 1\n",
		"NUMA node 1: no CPUs (memory only)",
		"Allowed CPUs: 0-7",
		"  smt      2,3\n",
		"  llc      -",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("tree lacks %q:\n%s", want, out)
		}
	}
}

func TestTopologyLive(t *testing.T) {
	code, out, errOut := runCmd("topology")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "Allowed CPUs:") || !strings.Contains(out, "samecpu") {
		t.Errorf("live tree:\n%s", out)
	}
	code, out, errOut = runCmd("topology", "--json")
	var j affinity.TopologyJSON
	if code != 0 || json.Unmarshal([]byte(out), &j) != nil || j.PUs < 1 || j.Source != "live" {
		t.Errorf("live --json: exit %d, %s %s", code, out, errOut)
	}
}

func TestTopologyErrors(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"topology", "--root", "/nonexistent/root"}, 1, "/nonexistent/root"},
		{[]string{"topology", "--root", filepath.Join(fixtures, "malformed")}, 1, "thread_siblings_list"},
		{[]string{"topology", "--root", fixtures}, 1, "no CPU folders"},
		{[]string{"topology", "--bogus"}, 2, "bogus"},
		{[]string{"topology", "extra"}, 2, "extra"},
		{[]string{"nosuchcommand"}, 2, "unknown command"},
		{nil, 2, "usage"},
	}
	for _, c := range cases {
		code, out, errOut := runCmd(c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", c.args, code, errOut, c.code, c.want)
		}
		if c.code == 1 && (strings.Count(errOut, "\n") != 1 || out != "" || strings.HasPrefix(errOut, "pinbench topology: affinity: ")) {
			t.Errorf("%v: error is not one line with one prefix on stderr: %q (stdout %q)", c.args, errOut, out)
		}
	}
	if code, out, _ := runCmd("help"); code != 0 || !strings.Contains(out, "topology") {
		t.Errorf("help: exit %d, %q", code, out)
	}
}
