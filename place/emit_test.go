package place

import (
	"bytes"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pinbench/pinbench/internal/testcheck"
)

var update = flag.Bool("update", false, "rewrite the emitters' golden files in testdata")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testcheck.Golden(t, filepath.Join("testdata", name), got, *update, "-update")
}

// ring4 is a real plan: four threads in a ring on the big16 lab guest's
// quick run, wait=adaptive.
func ring4(t *testing.T) *Document {
	wl, _ := Pattern(PatternRing, 4)
	p, err := NewPlan(modelOf(t, big16Results, WaitAdaptive), wl, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p.Measured = []Measured{{Placement: "plan", NsPerRound: 812000, Note: "an example figure"}}
	return p.Document()
}

// pairs4 is a made-up pairs plan: two iothreads and the vCPUs they
// serve, on one node, with a poll window from a sweep.
func pairs4() *Document {
	return &Document{Schema: Schema, Machine: "example", Results: "results/example/latest", Wait: "adaptive",
		PollMaxNs: 16000, PollNote: "from the poll-window sweep", Solver: "exact", Usable: "0-7",
		Workload: DocWorkload{Pattern: PatternPairs, Threads: 4},
		Threads:  []DocThread{{"t0", "2", 0}, {"t1", "3", 0}, {"t2", "4", 0}, {"t3", "5", 0}},
		Predicted: DocPredicted{TotalNs: 800, Edges: []DocEdge{
			{From: "t0", To: "t1", Weight: 1, Undirected: true, Ns: 200, TotalNs: 400},
			{From: "t2", To: "t3", Weight: 1, Undirected: true, Ns: 200, TotalNs: 400},
		}},
	}
}

func TestEmitGolden(t *testing.T) {
	ring := ring4(t)
	for _, tc := range []struct {
		name   string
		doc    *Document
		format string
		o      EmitOptions
	}{
		{"ring4.txt", ring, FormatText, EmitOptions{}},
		{"ring4.json", ring, FormatJSON, EmitOptions{}},
		{"ring4.taskset", ring, FormatTaskset, EmitOptions{}},
		{"ring4.numactl", ring, FormatNumactl, EmitOptions{}},
		{"ring4.systemd", ring, FormatSystemd, EmitOptions{Unit: "qemu-guest"}},
		{"ring4.libvirt", ring, FormatLibvirt, EmitOptions{}},
		{"ring4.qemu", ring, FormatQEMU, EmitOptions{}},
		{"pairs4.numactl", pairs4(), FormatNumactl, EmitOptions{Command: "./server --loops 4"}},
		{"pairs4.systemd", pairs4(), FormatSystemd, EmitOptions{}},
		{"pairs4-vcpus.libvirt", pairs4(), FormatLibvirt, EmitOptions{VCPUs: 2, Domain: "guest one"}},
		{"pairs4-vcpus-9.0.libvirt", pairs4(), FormatLibvirt, EmitOptions{VCPUs: 2, LibvirtVersion: "9.0"}},
		{"pairs4-vcpus.qemu", pairs4(), FormatQEMU, EmitOptions{VCPUs: 2}},
	} {
		var b bytes.Buffer
		if err := Emit(&b, tc.doc, tc.format, tc.o); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		golden(t, tc.name+".golden", b.Bytes())
	}
}

func TestEmitErrors(t *testing.T) {
	bad := pairs4()
	bad.Threads[1].Name = "t1; rm -rf /"
	for _, tc := range []struct {
		doc    *Document
		format string
		o      EmitOptions
		want   string
	}{
		{pairs4(), "yaml", EmitOptions{}, `unknown format "yaml"`},
		{ring4(t), FormatLibvirt, EmitOptions{VCPUs: 1}, "vcpus applies to a pairs plan"},
		{pairs4(), FormatQEMU, EmitOptions{VCPUs: 3}, "vcpus 3, but the plan has 2 pairs"},
		{pairs4(), FormatLibvirt, EmitOptions{LibvirtVersion: "nine"}, `libvirt version "nine"`},
		{pairs4(), FormatSystemd, EmitOptions{Unit: "a b"}, `systemd unit name "a b"`},
		{bad, FormatTaskset, EmitOptions{}, `name "t1; rm -rf /"`},
	} {
		err := Emit(&bytes.Buffer{}, tc.doc, tc.format, tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %+v: error %v, want %q", tc.format, tc.o, err, tc.want)
		}
	}
}

func TestLibvirtHasPoll(t *testing.T) {
	for v, want := range map[string]bool{"": true, "9.4": true, "9.4.0": true, "10": true, "9.3.9": false, "9.0": false, "8.10": false} {
		if got, err := libvirtHasPoll(v); err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", v, got, err, want)
		}
	}
}

// TestDocumentRoundTrip encodes a real plan, decodes it and encodes it
// again: the bytes must match.
func TestDocumentRoundTrip(t *testing.T) {
	var first, second bytes.Buffer
	if err := ring4(t).Encode(&first); err != nil {
		t.Fatal(err)
	}
	d, err := Decode(bytes.NewReader(first.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Encode(&second); err != nil {
		t.Fatal(err)
	}
	if first.String() != second.String() {
		t.Errorf("round trip differs:\n%s\n%s", first.String(), second.String())
	}
	if !strings.Contains(first.String(), `"matrix_median_ns": null`) || !strings.Contains(first.String(), `"schema": "pinbench.place/v1"`) {
		t.Errorf("want null for an unknown figure and the schema tag:\n%s", first.String())
	}
}

func TestDecodeErrors(t *testing.T) {
	var b bytes.Buffer
	if err := pairs4().Encode(&b); err != nil {
		t.Fatal(err)
	}
	good := b.String()
	for _, tc := range []struct{ doc, want string }{
		{strings.Replace(good, "pinbench.place/v1", "pinbench.place/v2", 1), `schema "pinbench.place/v2"`},
		{strings.Replace(good, `"machine"`, `"machin"`, 1), `unknown field "machin"`},
		{good + "{}", "data after the plan object"},
		{strings.Replace(good, `"name": "t0"`, `"name": "-t0"`, 1), `name "-t0"`},
		{strings.Replace(good, `"cpus": "2"`, `"cpus": "2-1"`, 1), `cpus "2-1"`},
		{strings.Replace(good, `"wait": "adaptive"`, `"wait": "spin"`, 1), `unknown wait mode "spin"`},
		{strings.Replace(good, `"poll_max_ns": 16000`, `"poll_max_ns": -1`, 1), "poll_max_ns -1 is negative"},
		{"", "empty"},
	} {
		if _, err := Decode(strings.NewReader(tc.doc)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}
