package place

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestReadTopologyJSONRoundTrip writes each fixture's topology as JSON,
// reads it back and wants the same JSON form and the same class for every
// pair of CPUs.
func TestReadTopologyJSONRoundTrip(t *testing.T) {
	for _, name := range []string{"two-socket-smt", "numa-split-package", "cpuless-nodes", "epyc256.tar.gz"} {
		t.Run(name, func(t *testing.T) {
			orig := capture(t, name)
			path := filepath.Join(t.TempDir(), "topology.json")
			data, err := json.Marshal(orig.JSON())
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := ReadTopologyJSON(path)
			if err != nil {
				t.Fatal(err)
			}
			want, have := orig.JSON(), got.JSON()
			want.Source, have.Source, want.Warnings, have.Warnings = "", "", nil, nil
			if !reflect.DeepEqual(want, have) {
				t.Errorf("JSON differs:\nwant %+v\ngot  %+v", want, have)
			}
			for _, a := range orig.CPUs {
				for _, b := range orig.CPUs {
					if w, g := orig.Relation(a.ID, b.ID), got.Relation(a.ID, b.ID); w != g {
						t.Fatalf("relation %d,%d: %s, want %s", a.ID, b.ID, g, w)
					}
				}
			}
		})
	}
}

// TestReadTopologyJSONResults reads the topology.json files the tuning
// runs wrote.
func TestReadTopologyJSONResults(t *testing.T) {
	for dir, summary := range map[string]string{
		epycResults:  "1 package, 1 node, 1 L3, 2 cores, 2 CPUs",
		big16Results: "2 packages, 2 nodes, 4 L3, 8 cores, 16 CPUs",
	} {
		topo, err := ReadTopologyJSON(filepath.Join(dir, "topology.json"))
		if err != nil {
			t.Fatal(err)
		}
		if got := topo.Summary(); got != summary {
			t.Errorf("%s: %s, want %s", dir, got, summary)
		}
	}
}

func TestReadTopologyJSONErrors(t *testing.T) {
	for _, tc := range []struct{ content, want string }{
		{`{"cpus": []}`, "no CPUs"},
		{`{"cpus": [{"id": 0, "caches": [{"level": 1, "type": "Data", "cpus": "3-1"}]}]}`, `CPU 0: cache 0: affinity: malformed CPU list "3-1"`},
		{`{"cpus": [`, "line 1"},
		{`{"cpus": [{"id": -4}]}`, "CPU id -4"},
	} {
		path := filepath.Join(t.TempDir(), "topology.json")
		if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := ReadTopologyJSON(path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want one naming %s and %q", tc.content, err, path, tc.want)
		}
	}
	if _, err := ReadTopologyJSON("no-such-folder/topology.json"); err == nil {
		t.Error("a missing file read without error")
	}
}
