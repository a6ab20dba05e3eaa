package place

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/pinbench/pinbench/affinity"
)

// Schema is the version tag of the JSON form of a plan. A reader that
// finds another tag refuses the document; a change that a v1 reader
// would misread gets a new tag.
const Schema = "pinbench.place/v1"

// Document is the JSON form of a plan (format "json"), schema
// "pinbench.place/v1". Every emitter works from it, so a saved plan can
// be emitted again in any format. Fields:
//
//	schema       "pinbench.place/v1"
//	machine      the run's machine id ("" when its bench.txt has none)
//	results      the results folder the model was read from
//	wait         the wait mode: "poll", "adaptive" or "block"
//	poll_max_ns  the poll window for the iothreads (QEMU's poll-max-ns)
//	poll_note    where poll_max_ns comes from
//	solver       how the placement was found, and whether it is optimal
//	usable_cpus  the CPUs the plan chose from, Linux list form
//	workload     {"pattern": "ring", "threads": 4}
//	threads      [{"name": "t0", "cpus": "3", "node": 0}, ...] in plan order;
//	             cpus is a Linux CPU list, node -1 when no node lists it
//	predicted    {"total_ns": ns per round,
//	              "edges": [{"from","to","weight","undirected","ns","total_ns"}],
//	              "baselines": [{"name","cpus","total_ns","note"}]}
//	model        [{"class","handoff_ns","samples","cost_ns","from",
//	               "matrix_median_ns","cells"}]: the model's inputs
//	measured     optional: [{"placement","ns_per_round","note"}]
//	verified     optional: {"rounds", "run_time" (a Go duration: "100ms"),
//	              "verdict", "sentences": [...]}, or {"error": why it could
//	              not run}: a verification's conclusion (Plan.Verified)
//
// Costs are in ns; a cost that is unknown is null. An edge's "ns" is one
// handoff (the mean of both directions when undirected) and its
// "total_ns" is weight x ns, twice that when undirected.
type Document struct {
	Schema    string        `json:"schema"`
	Machine   string        `json:"machine"`
	Results   string        `json:"results"`
	Wait      string        `json:"wait"`
	PollMaxNs int64         `json:"poll_max_ns"`
	PollNote  string        `json:"poll_note"`
	Solver    string        `json:"solver"`
	Usable    string        `json:"usable_cpus"`
	Workload  DocWorkload   `json:"workload"`
	Threads   []DocThread   `json:"threads"`
	Predicted DocPredicted  `json:"predicted"`
	Model     []DocClass    `json:"model"`
	Measured  []DocMeasured `json:"measured,omitempty"`
	Verified  *DocVerified  `json:"verified,omitempty"`
}

// DocVerified is a verification's conclusion (Verified).
type DocVerified struct {
	Rounds    int      `json:"rounds,omitempty"`
	RunTime   string   `json:"run_time,omitempty"`
	Verdict   string   `json:"verdict,omitempty"`
	Sentences []string `json:"sentences,omitempty"`
	Error     string   `json:"error,omitempty"`
}

// DocWorkload names the workload's shape and size.
type DocWorkload struct {
	Pattern string `json:"pattern"`
	Threads int    `json:"threads"`
}

// DocThread is one thread and where it goes.
type DocThread struct {
	Name string `json:"name"`
	CPUs string `json:"cpus"`
	Node int    `json:"node"`
}

// DocPredicted is what the model predicts.
type DocPredicted struct {
	TotalNs   Ns            `json:"total_ns"`
	Edges     []DocEdge     `json:"edges"`
	Baselines []DocBaseline `json:"baselines"`
}

// DocEdge is one edge and its predicted cost.
type DocEdge struct {
	From       string  `json:"from"`
	To         string  `json:"to"`
	Weight     float64 `json:"weight"`
	Undirected bool    `json:"undirected,omitempty"`
	Ns         Ns      `json:"ns"`
	TotalNs    Ns      `json:"total_ns"`
}

// DocBaseline is a baseline and its predicted cost; CPUs lists each
// thread's CPU list, empty for unpinned.
type DocBaseline struct {
	Name    string   `json:"name"`
	CPUs    []string `json:"cpus"`
	TotalNs Ns       `json:"total_ns"`
	Note    string   `json:"note"`
}

// DocClass is one row of the model's inputs (ClassInput).
type DocClass struct {
	Class          string `json:"class"`
	HandoffNs      Ns     `json:"handoff_ns"`
	Samples        int    `json:"samples"`
	CostNs         Ns     `json:"cost_ns"`
	From           string `json:"from,omitempty"`
	MatrixMedianNs Ns     `json:"matrix_median_ns"`
	Cells          int    `json:"cells"`
}

// DocMeasured is a measured cost (Measured).
type DocMeasured struct {
	Placement  string `json:"placement"`
	NsPerRound Ns     `json:"ns_per_round"`
	Note       string `json:"note,omitempty"`
}

// Ns is a cost in ns whose JSON form is a number, or null when unknown
// (NaN).
type Ns float64

// MarshalJSON writes the number, null for NaN or an infinity.
func (v Ns) MarshalJSON() ([]byte, error) {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// UnmarshalJSON reads a number, or null as NaN.
func (v *Ns) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*v = Ns(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*v = Ns(f)
	return nil
}

// Encode writes d as indented JSON.
func (d *Document) Encode(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}

// Decode reads a document written by Encode: unknown fields, another
// schema tag, trailing data, thread names an emitter could not write
// safely and malformed CPU lists are errors naming the problem.
func Decode(r io.Reader) (*Document, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxGraphBytes+1))
	if err != nil {
		return nil, fmt.Errorf("place: plan: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var d Document
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("place: plan: %s", jsonError(data, err))
	}
	if dec.More() {
		return nil, fmt.Errorf("place: plan: data after the plan object")
	}
	if err := d.check(); err != nil {
		return nil, fmt.Errorf("place: plan: %w", err)
	}
	return &d, nil
}

// check validates what the emitters rely on.
func (d *Document) check() error {
	if d.Schema != Schema {
		return fmt.Errorf("schema %q; this reader knows %q", d.Schema, Schema)
	}
	if len(d.Threads) == 0 {
		return fmt.Errorf("no threads")
	}
	if _, err := ParseWait(d.Wait); err != nil {
		return err
	}
	if d.PollMaxNs < 0 {
		return fmt.Errorf("poll_max_ns %d is negative", d.PollMaxNs)
	}
	if v := d.Verified; v != nil && v.RunTime != "" {
		if _, err := time.ParseDuration(v.RunTime); err != nil {
			return fmt.Errorf("verified: run_time %q is not a duration (100ms)", v.RunTime)
		}
	}
	for i, t := range d.Threads {
		if !threadName.MatchString(t.Name) {
			return fmt.Errorf("thread %d: name %q: want 1 to 64 letters, digits, '_', '.' or '-'", i, t.Name)
		}
		if set, err := affinity.ParseList(t.CPUs); err != nil || set.IsEmpty() {
			return fmt.Errorf("thread %s: cpus %q is not a non-empty CPU list", t.Name, t.CPUs)
		}
	}
	return nil
}
