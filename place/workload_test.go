package place

import (
	"strings"
	"testing"
)

func TestPattern(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		n       int
		edges   string
	}{
		{PatternPairs, 4, "t0 <-> t1, t2 <-> t3"},
		{PatternRing, 3, "t0 -> t1, t1 -> t2, t2 -> t0"},
		{PatternFanIn, 3, "t1 -> t0, t2 -> t0"},
		{PatternAll, 3, "t0 <-> t1, t0 <-> t2, t1 <-> t2"},
	} {
		w, err := Pattern(tc.pattern, tc.n)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range w.Edges {
			got = append(got, w.EdgeString(e))
		}
		if s := strings.Join(got, ", "); s != tc.edges || w.Validate() != nil {
			t.Errorf("%s %d: %s (valid: %v), want %s", tc.pattern, tc.n, s, w.Validate(), tc.edges)
		}
	}
}

func TestPatternErrors(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		n       int
		want    string
	}{
		{PatternPairs, 3, "even number of threads, not 3"},
		{PatternRing, 1, "needs 2 to 1024 threads, not 1"},
		{PatternAll, MaxThreads + 1, "not 1025"},
		{"star", 4, `unknown pattern "star"`},
	} {
		if _, err := Pattern(tc.pattern, tc.n); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %d: error %v, want %q", tc.pattern, tc.n, err, tc.want)
		}
	}
}

func TestWeights(t *testing.T) {
	w := &Workload{Threads: []string{"a", "b", "c"}, Edges: []Edge{
		{From: 0, To: 1, Weight: 2, Undirected: true}, {From: 2, To: 0, Weight: 0.5}, {From: 0, To: 2, Weight: 1},
	}}
	got := w.weights()
	want := [][]float64{{0, 2, 1}, {2, 0, 0}, {0.5, 0, 0}}
	for a := range want {
		for b := range want[a] {
			if got[a][b] != want[a][b] {
				t.Errorf("w[%d][%d] = %v, want %v", a, b, got[a][b], want[a][b])
			}
		}
	}
}

func TestReadGraph(t *testing.T) {
	w, err := ReadGraph(strings.NewReader(`{"edges": [
		{"from": "io0", "to": "vcpu0", "weight": 2, "undirected": true},
		{"from": "io1", "to": "io0", "weight": 0.5},
		{"from": "io1", "to": "vcpu0"}
	]}`), "g.json")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(w.Threads, " "); got != "io0 vcpu0 io1" || w.Pattern != PatternGraph {
		t.Errorf("threads %q pattern %q, want io0 vcpu0 io1 in order of first use, graph", got, w.Pattern)
	}
	if e := w.Edges[2]; e.Weight != 1 || e.Undirected {
		t.Errorf("edge 2 %+v: want weight 1 by default, directed", e)
	}
	w, err = ReadGraph(strings.NewReader(`{"threads": ["a", "b", "idle"], "edges": [{"from": "b", "to": "a"}]}`), "g.json")
	if err != nil || len(w.Threads) != 3 || w.Edges[0].From != 1 {
		t.Errorf("declared threads: %+v, %v; want three threads, edge from index 1", w, err)
	}
}

func TestReadGraphErrors(t *testing.T) {
	for _, tc := range []struct{ graph, want string }{
		{`{"threads": ["a", "b", "a"], "edges": [{"from": "a", "to": "b"}]}`, `"a" is named twice (entries 0 and 2)`},
		{`{"edges": [{"from": "a", "to": "b", "weight": -1}]}`, "weight -1; want a positive finite number"},
		{`{"edges": [{"from": "a", "to": "b", "weight": 0}]}`, "weight 0"},
		{`{"edges": [{"from": "a", "to": "b", "weight": 1e400}]}`, "line 1"},
		{`{"edges": [{"from": "a", "to": "a"}]}`, "a -> a is a self-edge"},
		{`{"edges": []}`, "no edges"},
		{``, "empty"},
		{`{"edges": [{"from": "a", "to": "b", "wieght": 2}]}`, `unknown field "wieght"`},
		{`{"edges": [{"from": "a", "to": "b"}], "extra": 1}`, `unknown field "extra"`},
		{`{"threads": ["a"], "edges": [{"from": "a", "to": "b"}]}`, `to thread "b" is not in "threads"`},
		{`{"edges": [{"from": "a"}]}`, `"to" is missing or empty`},
		{`{"edges": [{"from": "a b", "to": "c"}]}`, `thread name "a b"`},
		{`{"edges": [{"from": "a", "to": "b"}, {"from": "a", "to": "b", "weight": 3}]}`, "edge 1 (a -> b) repeats edge 0"},
		{`{"edges": [{"from": "a", "to": "b", "undirected": true}, {"from": "b", "to": "a", "undirected": true}]}`, "edge 1 (b <-> a) repeats edge 0"},
		{`{"edges": [{"from": "a", "to": 3}]}`, `line 1, column 32: field "edges.to": number where string is wanted`},
		{`{"edges": [{"from": "a", "to": "b"}]} {}`, "data after the graph object"},
		{"{\"edges\": [\n{\"from\": \"a\",, }]}", "line 2, column 14"},
	} {
		_, err := ReadGraph(strings.NewReader(tc.graph), "g.json")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "place: graph g.json: ") {
			t.Errorf("%s:\nerror %v\nwant one starting \"place: graph g.json: \" and containing %q", tc.graph, err, tc.want)
		}
	}
}

func TestReadGraphFile(t *testing.T) {
	if _, err := ReadGraphFile("testdata/no-such-graph.json"); err == nil || !strings.Contains(err.Error(), "no-such-graph.json") {
		t.Errorf("missing file: %v", err)
	}
}
