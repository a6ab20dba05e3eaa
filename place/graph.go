package place

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// A graph file describes any workload the patterns do not: named threads
// and weighted handoffs between them. Its schema (JSON, one object):
//
//	{
//	  "threads": ["io0", "vcpu0", "io1"],   // optional
//	  "edges": [
//	    {"from": "io0", "to": "vcpu0", "weight": 2, "undirected": true},
//	    {"from": "io1", "to": "io0", "weight": 0.5}
//	  ]
//	}
//
//   - "edges" (required, at least one): each a handoff "from" one thread
//     "to" another, "weight" times per round (a positive finite number;
//     default 1; only ratios between edges matter). "undirected": true
//     makes it a ping-pong: weight handoffs each way.
//   - "threads" (optional): every thread, in plan order, each named once.
//     With it, an edge naming another thread is an error and a thread
//     without edges is still placed; without it, the threads are the
//     names the edges use, in order of first use.
//
// Thread names are 1 to 64 letters, digits, '_', '.' or '-' (not starting
// with '.' or '-'). Unknown fields, a self-edge, an edge given twice and
// trailing data after the object are errors.

// graphFile is the JSON form of a graph file.
type graphFile struct {
	Threads []string    `json:"threads"`
	Edges   []graphEdge `json:"edges"`
}

// graphEdge is one edge of a graph file.
type graphEdge struct {
	From       string   `json:"from"`
	To         string   `json:"to"`
	Weight     *float64 `json:"weight"`
	Undirected bool     `json:"undirected"`
}

// maxGraphBytes bounds a graph file: a graph of MaxThreads threads, all
// pairs connected, stays well below it.
const maxGraphBytes = 64 << 20

// ReadGraphFile reads a graph file (see ReadGraph); errors name the file.
func ReadGraphFile(path string) (*Workload, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("place: graph: %w", err)
	}
	defer f.Close()
	return ReadGraph(f, path)
}

// ReadGraph reads a graph in the schema above from r; name labels it in
// errors. The workload's Pattern is "graph".
func ReadGraph(r io.Reader, name string) (*Workload, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxGraphBytes+1))
	if err != nil {
		return nil, fmt.Errorf("place: graph %s: %w", name, err)
	}
	if len(data) > maxGraphBytes {
		return nil, fmt.Errorf("place: graph %s: larger than %d bytes", name, maxGraphBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var g graphFile
	if err := dec.Decode(&g); err != nil {
		return nil, fmt.Errorf("place: graph %s: %s", name, jsonError(data, err))
	}
	if dec.More() {
		return nil, fmt.Errorf("place: graph %s: data after the graph object", name)
	}
	w, err := g.workload()
	if err != nil {
		return nil, fmt.Errorf("place: graph %s: %w", name, err)
	}
	if err := w.validate(); err != nil {
		return nil, fmt.Errorf("place: graph %s: %w", name, err)
	}
	return w, nil
}

// workload converts the decoded file, checking what Validate cannot see
// once names became indices: declared threads named twice, edges naming
// undeclared threads, missing names and bad weights.
func (g graphFile) workload() (*Workload, error) {
	if len(g.Edges) == 0 {
		return nil, errors.New(`no edges: the graph needs at least one in "edges"`)
	}
	w := &Workload{Pattern: PatternGraph}
	index := map[string]int{}
	for i, name := range g.Threads {
		if j, dup := index[name]; dup {
			return nil, fmt.Errorf("threads: %q is named twice (entries %d and %d)", name, j, i)
		}
		index[name] = i
		w.Threads = append(w.Threads, name)
	}
	declared := g.Threads != nil
	lookup := func(i int, field, name string) (int, error) {
		if name == "" {
			return 0, fmt.Errorf("edge %d: %q is missing or empty", i, field)
		}
		if k, ok := index[name]; ok {
			return k, nil
		}
		if declared {
			return 0, fmt.Errorf("edge %d: %s thread %q is not in \"threads\"", i, field, name)
		}
		index[name] = len(w.Threads)
		w.Threads = append(w.Threads, name)
		return index[name], nil
	}
	for i, ge := range g.Edges {
		e := Edge{Weight: 1, Undirected: ge.Undirected}
		var err error
		if e.From, err = lookup(i, "from", ge.From); err != nil {
			return nil, err
		}
		if e.To, err = lookup(i, "to", ge.To); err != nil {
			return nil, err
		}
		if ge.Weight != nil {
			e.Weight = *ge.Weight
		}
		if e.Weight <= 0 || math.IsInf(e.Weight, 0) {
			return nil, fmt.Errorf("edge %d (%s): weight %v; want a positive finite number", i, w.EdgeString(e), e.Weight)
		}
		w.Edges = append(w.Edges, e)
	}
	if len(w.Threads) > MaxThreads {
		return nil, fmt.Errorf("%d threads, more than the %d a workload may have", len(w.Threads), MaxThreads)
	}
	return w, nil
}

// jsonError says where a decoding error is: the line and column of a
// syntax or type error, with the field for a type error.
func jsonError(data []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("%s: %v", position(data, syn.Offset), err)
	case errors.As(err, &typ):
		return fmt.Sprintf("%s: field %q: %s where %s is wanted", position(data, typ.Offset), typ.Field, typ.Value, typ.Type)
	case errors.Is(err, io.EOF):
		return "empty: want a JSON object with \"edges\""
	}
	return err.Error()
}

// position formats the place of an error encoding/json reports at
// offset off (the bytes read when it stopped: the culprit is the last of
// them) as "line L, column C".
func position(data []byte, off int64) string {
	off = min(off, int64(len(data)))
	before := data[:max(off-1, 0)]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}
