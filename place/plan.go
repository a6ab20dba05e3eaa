package place

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/pinbench/pinbench/affinity"
	"github.com/pinbench/pinbench/report"
)

// Plan is a placement: a CPU for each thread, what the model predicts it
// costs, what the baselines cost under the same model, and everything a
// reader needs to check it (the model's inputs, the wait mode, the
// solver's method) or apply it (poll-max-ns; see the emitters).
type Plan struct {
	// Machine is the run's machine id; Dir its results folder.
	Machine, Dir string
	// Workload is what was placed.
	Workload *Workload
	// Wait is the wait mode the model costs.
	Wait Wait
	// CPUs[i] is thread i's CPU.
	CPUs []int
	// Nodes[i] is the NUMA node of CPUs[i] (-1 when no node lists it).
	Nodes []int
	// Usable is the set the plan chose from (after the constraints).
	Usable affinity.CPUSet
	// Edges is the predicted cost of each edge, in Workload.Edges order.
	Edges []EdgeCost
	// TotalNs is the predicted cost of one round: the sum of
	// Edges[i].TotalNs.
	TotalNs float64
	// Baselines are compact, spread and unpinned under the same model.
	Baselines []Baseline
	// Inputs are the model's inputs (Model.Inputs).
	Inputs []ClassInput
	// PollMaxNs is the poll window to configure (QEMU's poll-max-ns);
	// PollNote says where it comes from.
	PollMaxNs int64
	PollNote  string
	// Solver says how the placement was found and whether it is proved
	// optimal for the model.
	Solver string
	// Measured holds the measured costs of the plan and its baselines,
	// filled by whoever ran them (a verification run); nil otherwise.
	Measured []Measured
	// Verified is what a verification run concluded, in words (Verify
	// fills it, or a caller whose verification failed says why); nil
	// when none ran.
	Verified *Verified
}

// Verified is a verification's conclusion as it is kept with the plan
// (Document's "verified"): how it ran and its verdicts, or why it could
// not run.
type Verified struct {
	// Rounds and RunTime are the options it ran with.
	Rounds  int
	RunTime time.Duration
	// Verdict says in one line whether the plan is significantly better
	// than the baselines (Verification.Verdict).
	Verdict string
	// Sentences are each baseline against the plan, then the predicted
	// and measured orders.
	Sentences []string
	// Error says why the verification could not run; the other fields
	// are then empty.
	Error string
}

// EdgeCost is the predicted cost of one edge.
type EdgeCost struct {
	Edge
	// Ns is the modelled one-way handoff between the two CPUs (the mean
	// of both directions for an undirected edge).
	Ns float64
	// TotalNs is what the edge costs per round: Weight x Ns, twice that
	// for an undirected edge (a handoff each way).
	TotalNs float64
}

// Measured is a measured cost of a placement, as a verification run
// reports it.
type Measured struct {
	// Placement is "plan" or a baseline's name.
	Placement string
	// NsPerRound is the measured median cost of one round of the
	// workload, comparable to Plan.TotalNs.
	NsPerRound float64
	// Note says anything a reader needs (samples, p-value, ...).
	Note string
}

// Options tunes NewPlan: the constraints on where threads go.
type Options struct {
	Constraints
}

// NewPlan places wl's threads on the CPUs the constraints leave, as the
// model costs them, and costs the baselines. The workload is validated;
// the errors of Constraints and of a model that cannot cost a pair name
// what is wrong.
func NewPlan(m *Model, wl *Workload, o Options) (*Plan, error) {
	if err := wl.Validate(); err != nil {
		return nil, err
	}
	s, err := o.resolve(m, len(wl.Threads))
	if err != nil {
		return nil, err
	}
	p, err := newProblem(m, wl, s)
	if err != nil {
		return nil, err
	}
	topo := m.Topology()
	p.orders = [][]int{s.positions(compactOrder(topo, s.set)), s.positions(spreadOrder(topo, s.set))}
	sol := p.solve()
	plan := &Plan{Machine: m.Results().Machine, Dir: m.Results().Dir, Workload: wl, Wait: m.Wait(),
		Usable: s.set, Inputs: m.Inputs(), Solver: sol.method}
	for _, x := range sol.pos {
		plan.CPUs = append(plan.CPUs, s.cpus[x])
	}
	plan.Nodes = nodesOf(topo, plan.CPUs)
	plan.Edges, plan.TotalNs = edgeCosts(m, wl, plan.CPUs)
	plan.Baselines = baselines(m, wl, s)
	plan.PollMaxNs, plan.PollNote = pollMax(m)
	return plan, nil
}

// nodesOf returns the NUMA node of each CPU.
func nodesOf(topo *affinity.Topology, cpus []int) []int {
	out := make([]int, len(cpus))
	for i, c := range cpus {
		info, _ := topo.CPU(c)
		out[i] = info.Node
	}
	return out
}

// edgeCosts returns the cost of each edge of wl with threads on cpus, and
// their sum.
func edgeCosts(m *Model, wl *Workload, cpus []int) ([]EdgeCost, float64) {
	out := make([]EdgeCost, len(wl.Edges))
	total := 0.0
	for i, e := range wl.Edges {
		a, b := cpus[e.From], cpus[e.To]
		ec := EdgeCost{Edge: e, Ns: m.Cost(a, b)}
		ec.TotalNs = e.Weight * ec.Ns
		if e.Undirected {
			back := m.Cost(b, a)
			ec.Ns = (ec.Ns + back) / 2
			ec.TotalNs = 2 * e.Weight * ec.Ns
		}
		out[i] = ec
		total += ec.TotalNs
	}
	return out, total
}

// Baseline returns the baseline called name, and false when there is none.
func (p *Plan) Baseline(name string) (Baseline, bool) {
	for _, b := range p.Baselines {
		if b.Name == name {
			return b, true
		}
	}
	return Baseline{}, false
}

// QEMUDefaultPollMaxNs is QEMU's default iothread poll-max-ns: the
// longest busy-wait before sleeping, in ns.
const QEMUDefaultPollMaxNs = 32768

// pollMax returns the poll window for the plan's iothreads and a note on
// where it comes from:
//
//   - wait=block: 0, polling off (QEMU sleeps at once with poll-max-ns=0),
//     which is what the model costed;
//   - a poll-window sweep in the run (a full tuning run) whose recommendation
//     names a window: that window;
//   - otherwise QEMU's default, with a note saying why.
func pollMax(m *Model) (int64, string) {
	res := m.Results()
	if m.Wait() == WaitBlock {
		return 0, "wait=block: polling off (poll-max-ns=0 makes QEMU sleep at once)"
	}
	if !hasSweep(res.Run) {
		return QEMUDefaultPollMaxNs, fmt.Sprintf("QEMU's default: %s has no poll-window sweep (a full tuning run measures one)", res.Dir)
	}
	for _, rec := range report.Recommend(res.Run, report.Thresholds{}) {
		if rec.Topic != report.TopicWindow {
			continue
		}
		if ns, ok := parseWindow(rec.Choice); ok {
			return ns, "from the poll-window sweep: " + rec.Summary
		}
		return QEMUDefaultPollMaxNs, "QEMU's default: the poll-window sweep names no window. " + rec.Summary
	}
	return QEMUDefaultPollMaxNs, "QEMU's default: the poll-window sweep gave no recommendation"
}

// hasSweep reports whether run holds poll-window sweep results
// (BenchmarkHandoff/.../pollmax=W/...).
func hasSweep(run *report.Run) bool {
	for _, r := range run.Results {
		if nameKey(r.Name, "pollmax") != "" {
			return true
		}
	}
	return false
}

// parseWindow reads a poll-window choice, "pollmax=32us", as ns.
func parseWindow(choice string) (int64, bool) {
	v, ok := strings.CutPrefix(choice, "pollmax=")
	if !ok {
		return 0, false
	}
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		ns     int64
	}{{"ns", 1}, {"us", 1000}, {"ms", 1000_000}} {
		if s, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = s, u.ns
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > 1<<40 {
		return 0, false
	}
	return n * mult, true
}
